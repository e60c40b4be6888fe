"""The component contract: a transform is one class with its formula, its parameters' default
priors and their labels, registered under the name a config uses.

Formulas take the array module as `xp` (numpy, or pytensor.tensor inside the PyMC model), so
the model, the posterior analysis, the simulator and the optimiser all run the same code.
Parameters have shape (..., channel); a leading draw axis is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np


@dataclass(frozen=True)
class Prior:
    """A default prior, by PyMC distribution name and its keyword arguments (one per channel)."""

    dist: str
    kwargs: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """One per-channel parameter of a transform: its name in the posterior, a plain label, its prior."""

    name: str
    label: str
    prior: Prior


class Component:
    """Base of every transform: a registered name and the parameters its formula reads."""

    name: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    def configure(cls, options: Mapping[str, Any]) -> Component:
        """The component for the model options (the config's `model:` block); most take none."""
        return cls()

    @property
    def params(self) -> tuple[Param, ...]:
        """The parameters sampled for this component, in order."""
        raise NotImplementedError

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise KeyError naming the first parameter missing from `values`."""
        for p in self.params:
            if p.name not in values:
                raise KeyError(f"{self.name} needs parameter '{p.name}'")


C = TypeVar("C", bound=type[Component])


class Registry(dict[str, type[Component]]):
    """Components by config name; `register` is the decorator a new component class uses."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, cls: C) -> C:
        if cls.name in self:
            raise ValueError(f"{self.kind} '{cls.name}' is registered twice")
        self[cls.name] = cls
        return cls

    def build(self, name: str, options: Mapping[str, Any] | None = None) -> Component:
        """The configured component registered as `name`; KeyError lists the known names."""
        if name not in self:
            raise KeyError(f"unknown {self.kind} '{name}'; known: {', '.join(sorted(self))}")
        return self[name].configure(options or {})


def is_positive(x: Any) -> Any:
    """x > 0 elementwise; for a complex-step input (numpy complex) the real part is compared."""
    if isinstance(x, np.ndarray) and np.iscomplexobj(x):
        return x.real > 0
    return x > 0
