"""The typed model spec, read from YAML and validated with pydantic.

Every error names the offending key and its line in the YAML file, so an analyst can fix
the config without reading a traceback.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mmm.errors import ConfigError

Tier = Literal["proven", "test", "experimental"]
TIERS: tuple[str, ...] = ("proven", "test", "experimental")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSpec(_Strict):
    path: str = Field(description="CSV or Parquet file, relative to the config file.")
    date_column: str = "date"
    target_column: str = "revenue"
    frequency: Literal["auto", "weekly", "daily"] = "auto"


class RoasPrior(_Strict):
    """A belief about a channel's ROAS (incremental revenue per unit of spend), as mean and sd.

    It becomes a LogNormal with that mean and standard deviation, so ROAS stays positive.
    """

    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    def lognormal_params(self) -> tuple[float, float]:
        """(mu, sigma) of the LogNormal with this mean and standard deviation."""
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)


class ChannelSpec(_Strict):
    name: str
    spend_column: str
    tier: Tier = "proven"
    roas_prior: RoasPrior | None = Field(
        default=None, description="Override the default ROAS prior, e.g. from a platform report or a past test."
    )
    fee_rate: float = Field(default=0.0, ge=0, description="Cost on top of spend as a fraction of it (agency fees).")
    extra_cost: float = Field(default=0.0, ge=0, description="Fixed cost over the data period (content production), currency.")
    min_weekly_spend: float | None = Field(default=None, ge=0, description="Optimiser floor, currency per period.")
    max_weekly_spend: float | None = Field(default=None, ge=0, description="Optimiser cap, currency per period.")

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        if not v or not all(ch.isalnum() or ch in "_-" for ch in v):
            raise ValueError("channel names may hold only letters, digits, '_' and '-'")
        return v


class ModelSpec(_Strict):
    adstock: Literal["geometric", "weibull"] = "geometric"
    l_max: int = Field(default=8, ge=1, le=52, description="Longest carry-over considered, in periods.")
    saturation: Literal["hill", "logistic"] = "hill"
    hill_slope: Literal["fixed", "free"] = Field(
        default="fixed", description="'fixed' keeps the Hill curve concave (slope 1); 'free' estimates the slope."
    )
    trend: bool = True
    seasonality_order: int = Field(default=2, ge=0, le=10, description="Yearly Fourier order; 0 switches it off.")
    likelihood: Literal["normal", "student_t"] = "normal"
    marketing_share_prior: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Prior guess of the share of the target that all channels drive together; sets the default ROAS prior.",
    )
    roas_prior_sigma: float = Field(default=1.0, gt=0, le=3, description="Log-scale spread of the default ROAS prior.")


def parse_policy(text: str) -> dict[str, float]:
    """'70/20/10' (or '0.7/0.2/0.1') -> {'proven': 0.7, 'test': 0.2, 'experimental': 0.1}."""
    parts = text.replace(" ", "").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"policy '{text}' must be three numbers like 70/20/10") from None
    if len(values) != 3 or any(v < 0 for v in values):
        raise ValueError(f"policy '{text}' must be three non-negative numbers like 70/20/10 (proven/test/experimental)")
    total = sum(values)
    if not (abs(total - 100) < 1e-6 or abs(total - 1) < 1e-9):
        raise ValueError(f"policy '{text}' must add up to 100 (or 1), not {total:g}")
    return {tier: v / total for tier, v in zip(TIERS, values)}


class OptimizerSpec(_Strict):
    policy: str = Field(default="70/20/10", description="Budget shares of the proven/test/experimental tiers.")

    @field_validator("policy")
    @classmethod
    def _valid_policy(cls, v: str) -> str:
        parse_policy(v)
        return v


class SamplerSpec(_Strict):
    draws: int = Field(default=1000, ge=10)
    tune: int = Field(default=1000, ge=10)
    chains: int = Field(default=4, ge=1, le=16)
    seed: int = 1
    backend: Literal["nutpie", "pymc"] = "nutpie"
    target_accept: float = Field(default=0.9, gt=0.5, lt=1)
    progress: bool | None = Field(default=None, description="Progress bar; default: only on a terminal.")


class Config(_Strict):
    data: DataSpec
    channels: list[ChannelSpec] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)
    currency: str = "USD"
    model: ModelSpec = Field(default_factory=ModelSpec)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    calibration: str | None = Field(default=None, description="Lift-test results (CSV or YAML), relative to the config file.")
    source: Path | None = Field(default=None, exclude=True, description="Where the config was read from.")

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    def data_path(self) -> Path:
        """The data file, resolved against the config file's folder."""
        return self.relative_path(self.data.path)

    def relative_path(self, value: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(value)
        if not p.is_absolute() and self.source is not None:
            p = self.source.parent / p
        return p

    def to_yaml(self) -> str:
        """The config as YAML, with every default spelled out (what the run really used)."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)


def _key_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map each key path in a composed YAML tree to its 1-based line number."""
    lines: dict[tuple, int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            sub = path + (k.value,)
            lines[sub] = k.start_mark.line + 1
            lines.update({p: n for p, n in _key_lines(v, sub).items() if p != sub})
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            lines.update(_key_lines(v, path + (i,)))
    return lines


def _describe(loc: tuple, raw: Any) -> str:
    """'channels[0].tier' style name for a pydantic error location, with channel names where known."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            name = node[part].get("name") if isinstance(node, list) and isinstance(node[part], dict) else None
            out += f"[{part}]" + (f" ({name})" if name else "")
        else:
            out += ("." if out else "") + str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "(top level)"


def parse_config(text: str, source: Path | None = None) -> Config:
    """Validate YAML text as a Config; errors name each bad key and its line."""
    label = str(source) if source else "<config>"
    try:
        raw = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: the config must be a mapping with at least 'data' and 'channels' keys")
    lines = _key_lines(root) if root is not None else {}
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # pydantic puts union/literal branch names in loc; keep the keys that exist in the file
            while loc and loc not in lines and len(loc) > 1 and loc[:-1] in lines and err["type"] != "missing":
                loc = loc[:-1]
            line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)
            where = f"line {line}" if line else "?"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; the README lists every key)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(f"  {_describe(loc, raw)} ({where}): {msg}")
        raise ConfigError(f"{label}: invalid config\n" + "\n".join(problems)) from None
    cfg.source = source
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    return parse_config(p.read_text(), source=p.resolve())
