"""What a refit changed, in words and as a table: one source for the terminal and the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmm.report.formatting import ratio, table

if TYPE_CHECKING:
    from mmm.analysis.drift import FitChanges, RoasChange


def change_sentence(name: str, c: RoasChange, unit: str) -> str:
    """'search: ROAS rose from 2.10 to 3.40, outside what the previous fit allowed (1.60-2.70): ...' for a channel that left its interval."""
    p = c.previous
    return (
        f"{name}: ROAS {c.direction} from {ratio(p.mean)} to {ratio(c.current.mean)}, outside what the previous fit allowed "
        f"({ratio(p.low)}-{ratio(p.high)}): the new {unit}s say more than the previous fit's uncertainty explains. Find out what "
        f"changed for {name} (prices, creative, targeting, tracking) before moving budget on it."
    )


def change_sentences(changes: FitChanges, unit: str) -> list[str]:
    """One sentence per channel whose ROAS left the previous 90% interval (largest move first), or one saying none did."""
    moved = changes.moved_outside()
    if not moved:
        return ["Every channel's ROAS stayed inside what the previous fit allowed: the new data confirm it."]
    return [change_sentence(name, changes.channels[name], unit) for name in moved]


def added_text(changes: FitChanges, unit: str) -> str:
    """'20 new weeks (2024-08-12 to 2024-12-23) after the previous fit (run abc, 2023-01-02 to 2024-08-05)'."""
    run = f"run {changes.previous_run_id}, " if changes.previous_run_id else ""
    plural = "" if changes.added_periods == 1 else "s"
    return (
        f"{changes.added_periods} new {unit}{plural} ({changes.first_added} to {changes.last_added}) after the previous fit "
        f"({run}{changes.previous_first_date} to {changes.previous_last_date})"
    )


def format_changes(changes: FitChanges, unit: str) -> str:
    """The terminal table of how each channel's ROAS moved, with a sentence per channel that left its interval."""
    header = ["channel", "previous ROAS", "new ROAS", "change", "inside previous interval"]
    rows = [
        [
            name,
            f"{ratio(c.previous.mean)} ({ratio(c.previous.low)} to {ratio(c.previous.high)})",
            f"{ratio(c.current.mean)} ({ratio(c.current.low)} to {ratio(c.current.high)})",
            f"{c.change:+.2f}" + ("" if c.relative_change is None else f" ({c.relative_change:+.0%})"),
            "yes" if c.inside_previous_interval else "NO",
        ]
        for name, c in changes.channels.items()
    ]
    lines = [f"What changed: {added_text(changes, unit)}; ROAS as mean (90% interval).", ""]
    return "\n".join([*lines, *table(header, rows), "", *change_sentences(changes, unit)])
