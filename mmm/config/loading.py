"""Read a config from YAML, and change it, always through the same validation.

Every error names the offending key and its line in the YAML file (or the override that set
it), so an analyst can fix the config without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mmm.config.spec import Config
from mmm.core.errors import ConfigError

Loc = tuple[Any, ...]


def _key_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map each key path in a composed YAML tree to its 1-based line number."""
    lines: dict[tuple, int] = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            sub = (*path, k.value)
            lines[sub] = k.start_mark.line + 1
            lines.update({p: n for p, n in _key_lines(v, sub).items() if p != sub})
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            lines.update(_key_lines(v, (*path, i)))
    return lines


def _repeated_keys(node: yaml.Node, path: tuple = ()) -> list[str]:
    """'model (lines 28, 36)' for each key that a mapping of the composed YAML tree holds more than once."""
    found = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, list[int]] = {}
        for k, v in node.value:
            seen.setdefault(str(k.value), []).append(k.start_mark.line + 1)
            found += _repeated_keys(v, (*path, k.value))
        found += [f"{'.'.join(map(str, (*path, k)))} (lines {', '.join(map(str, at))})" for k, at in seen.items() if len(at) > 1]
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            found += _repeated_keys(v, (*path, i))
    return found


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


def _validate(raw: dict[str, Any], label: str, where: Callable[[Loc], str], known: Callable[[Loc], bool], source: Path | None) -> Config:
    """Config from a raw mapping; every problem is listed with its key and `where(key)` (a line or a flag)."""
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("<")))  # <tag>: a union's branch
            # pydantic puts union/literal branch names in loc; keep the keys that exist in the input
            while loc and not known(loc) and len(loc) > 1 and known(loc[:-1]) and err["type"] != "missing":
                loc = loc[:-1]
            msg = str(err["msg"]).removeprefix("Value error, ")
            first, _, rest = msg.partition(" ")
            named = tuple(first.rstrip(":").split("."))  # a check across keys names its key first ('channels: ...')
            if err["type"] == "value_error" and named[: len(loc)] == loc and known(named):
                loc, msg = named, rest if first.endswith(":") else msg
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; the README lists every key)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(f"  {_describe(loc, raw)} ({where(loc)}): {msg}")
        raise ConfigError(f"{label}: invalid config\n" + "\n".join(problems)) from None
    return cfg.model_copy(update={"source": source})


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
    repeated = _repeated_keys(root) if root is not None else []
    if repeated:
        raise ConfigError(
            f"{label}: a key is given twice, and YAML would keep only the last one: {'; '.join(repeated)}. Merge the two into one entry."
        )
    lines = _key_lines(root) if root is not None else {}

    def line_of(loc: Loc) -> str:
        line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), None)
        return f"line {line}" if line else "?"

    return _validate(raw, label, line_of, lambda loc: loc in lines, source)


def parse_fitted_config(text: str) -> Config:
    """The config a model was fitted with, as saved with it; a key added since keeps the behaviour it was fitted with."""
    config = parse_config(text)
    if "weekday" not in config.model.model_fields_set:  # fitted before daily data had weekday terms
        config = config.model_copy(update={"model": config.model.model_copy(update={"weekday": False})})
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    return parse_config(p.read_text(), source=p.resolve())


def with_overrides(cfg: Config, overrides: Mapping[str, Any], names: Mapping[str, str] | None = None) -> Config:
    """A new Config with dotted keys replaced (`{"sampler.draws": 5}`), validated like the file.

    None values are skipped. `names` says how the caller set each key (the CLI passes its flags,
    e.g. `{"sampler.draws": "--draws"}`); errors name the key and that origin.
    """
    changes = {k: v for k, v in overrides.items() if v is not None}
    if not changes:
        return cfg
    raw = cfg.model_dump(mode="json", exclude_none=True)
    for key, value in changes.items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    origin = {tuple(k.split(".")): (names or {}).get(k, "override") for k in changes}

    def set_by(loc: Loc) -> str:
        return f"set by {origin[loc]}" if loc in origin else "from the config"

    label = str(cfg.source) if cfg.source else "<config>"
    return _validate(raw, label, set_by, lambda loc: loc in origin, cfg.source)
