"""Full cost per channel: media spend plus every cost line, each labelled, so net ROI counts what the business pays.

A channel's own lines (`fee_rate`, `extra_cost`, `costs`) are its alone; the config's overall
`costs` (tools, staff, overhead of marketing as a whole) are shared by the channels in proportion
to their spend and labelled 'shared <name>'.
"""

from __future__ import annotations

from collections.abc import Mapping

from mmm.config import Config

MEDIA_SPEND = "media spend"


def cost_lines(cfg: Config, spend: Mapping[str, float], periods: int) -> dict[str, dict[str, float]]:
    """Per channel: label -> currency over `periods` periods, starting with its media spend; the values sum to its full cost."""
    total = sum(spend.values())
    out: dict[str, dict[str, float]] = {}
    for channel in cfg.channels:
        own = spend[channel.name]
        lines = {MEDIA_SPEND: own}
        for line in channel.cost_lines():
            lines[line.name] = lines.get(line.name, 0.0) + line.over(own, periods)
        share = own / total if total > 0 else 1.0 / len(cfg.channels)
        for line in cfg.costs:
            label = f"shared {line.name}"
            lines[label] = lines.get(label, 0.0) + share * line.over(total, periods)
        out[channel.name] = lines
    return out
