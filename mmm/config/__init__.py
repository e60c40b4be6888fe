"""The typed, immutable model spec, read from YAML with errors that name the key and its line."""

from mmm.config.loading import load_config, parse_config, parse_fitted_config, with_overrides
from mmm.config.spec import Config, parse_policy

__all__ = ["Config", "load_config", "parse_config", "parse_fitted_config", "parse_policy", "with_overrides"]
