"""Adstock and saturation as small registered components: formula, default priors and labels in one class.

Adding a curve is one class registered with `ADSTOCKS.register` or `SATURATIONS.register`
(and its test): the config accepts its name, the model samples its priors, the report
labels its parameters and the optimiser differentiates its formula.
"""

from mmm.transforms.adstock import ADSTOCKS, Adstock, carry, lagged
from mmm.transforms.base import Param, Prior
from mmm.transforms.media import MediaTransform
from mmm.transforms.saturation import SATURATIONS, Saturation
from mmm.transforms.seasonal import MediaSeasonality

__all__ = ["ADSTOCKS", "SATURATIONS", "Adstock", "MediaSeasonality", "MediaTransform", "Param", "Prior", "Saturation", "carry", "lagged"]
