"""The noise model: how the observed outcome scatters around the model's expected outcome.

Revenue (and any amount of money) uses a Normal or Student-t around the additive mean. Counts
(a conversions KPI) use a negative binomial, because

- conversions are whole numbers 0 or more, and in a small business often a handful per period:
  a Normal puts mass on negative and fractional counts and gets the spread of small counts wrong
  (for counts the spread grows with the mean);
- the negative binomial's variance mu + mu^2 / alpha covers both Poisson-like small counts (large
  alpha) and the extra week-to-week scatter of real data (small alpha), learnt from the data through
  `overdispersion` = 1 / sqrt(alpha) (0: Poisson; 0.1: about 10% extra scatter at large counts), with
  a HalfNormal(0.5) prior, the scale of weekly marketing data;
- its mean is the same additive mean (baseline + trend + seasonality + controls + each channel's
  media), so a channel's incremental conversions are still exactly its media component and the
  decomposition adds up. A log link would make channel effects multiply and the decomposition
  depend on the order of removal.

The additive mean must be positive for a count model, so it passes through a smooth floor,
COUNT_FLOOR x softplus(mean / COUNT_FLOOR) on the target's scale (1 = the average period): equal to
the mean itself (to within 1e-40 relative) wherever the mean is above a tenth of the average period,
and a small positive number instead of a negative one elsewhere, with a gradient the sampler can
follow back. Periods whose mean would be negative are ones the data rule out anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

COUNT_FLOOR = 0.001  # smooth floor of the expected count, as a share of the average period's count
OVERDISPERSION_PRIOR_SD = 0.5


def positive(mean: Any, xp: Any) -> Any:
    """The smooth floor of an expected count on the target's scale: `mean` where it is well above COUNT_FLOOR."""
    scaled = mean / COUNT_FLOOR
    if xp is np:
        return COUNT_FLOOR * np.logaddexp(0.0, scaled)
    return COUNT_FLOOR * xp.softplus(scaled)


def observe(
    likelihood: str, mu: Any, y: Any, counts: Any, target_scale: Any, dims: str | tuple[str, ...] = "date", noise_dims: str | None = None
) -> None:
    """Declare the observed outcome inside a PyMC model: `mu` and `y` on the target's scale, `counts` the raw counts.

    A geo model observes (date, geo) with `target_scale` per geo (geo,) and a noise scale per geo (`noise_dims="geo"`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    if likelihood == "negative_binomial":
        overdispersion = pm.HalfNormal("overdispersion", sigma=OVERDISPERSION_PRIOR_SD)
        scale = pm.Data("target_scale", np.asarray(target_scale, dtype=float))  # an input: the compiled model fits other data
        pm.NegativeBinomial("obs", mu=scale * positive(mu, pt), alpha=1.0 / overdispersion**2, observed=counts, dims=dims)
        return
    sigma = pm.HalfNormal("sigma", sigma=0.25, dims=noise_dims)
    if likelihood == "student_t":
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
        pm.StudentT("obs", nu=nu, mu=mu, sigma=sigma, observed=y, dims=dims)
    else:
        pm.Normal("obs", mu=mu, sigma=sigma, observed=y, dims=dims)


def observe_lifts(predicted: Any, measured: np.ndarray, se: np.ndarray) -> None:
    """Declare lift tests inside a PyMC model: each measured lift, with its standard error, observes the
    model's predicted lift; all three in the same units (currency over a scale the caller picks). The
    measurements are the model's data, so its compiled code serves other results of as many tests."""
    import pymc as pm

    pm.Normal("lift_obs", mu=predicted, sigma=pm.Data("lift_se", se), observed=pm.Data("lift_measured", measured))


def per_draw(values: np.ndarray, ndim: int) -> np.ndarray:
    """A parameter's draws (sample,) or (sample, geo) shaped to broadcast against (sample, ..., [geo]) of `ndim` axes."""
    return values.reshape(values.shape[0], *(1,) * (ndim - values.ndim), *values.shape[1:])


def _nb(params: dict[str, np.ndarray], mean_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, p) of numpy's and scipy's negative binomial with mean `mean_counts` and the draws' overdispersion."""
    alpha = 1.0 / np.maximum(per_draw(params["overdispersion"], mean_counts.ndim), 1e-8) ** 2
    return alpha, alpha / (alpha + mean_counts)


def log_density(params: dict[str, np.ndarray], y: np.ndarray, mean: np.ndarray, target_scale: Any) -> np.ndarray:
    """Log density (sample, date[, geo]) of the outcome y (date[, geo]) around each draw's mean (sample, date[, geo]),
    both on the target's scale (a geo model's: each geo's own, `target_scale` (geo,))."""
    if "overdispersion" in params:
        counts = np.round(y * target_scale)
        n, p = _nb(params, target_scale * positive(mean, np))
        return stats.nbinom.logpmf(counts[None, ...], n, p)
    sigma = per_draw(params["sigma"], mean.ndim)
    if "nu" in params:
        return stats.t.logpdf(y[None, ...], per_draw(params["nu"], mean.ndim), loc=mean, scale=sigma)
    return stats.norm.logpdf(y[None, ...], loc=mean, scale=sigma)


def simulate(params: dict[str, np.ndarray], mean: np.ndarray, rng: np.random.Generator, target_scale: Any) -> np.ndarray:
    """Draws of the outcome (sample, ...) around each draw's mean `mean` (sample, ...), in the outcome's unit.

    In a geo model the last axis of `mean` is geo, and `target_scale` and the noise scale are per geo."""
    if "overdispersion" in params:
        n, p = _nb(params, target_scale * positive(mean / target_scale, np))
        return rng.negative_binomial(n, p).astype(float)
    sigma = per_draw(params["sigma"], mean.ndim) * target_scale
    if "nu" in params:
        noise = rng.standard_t(per_draw(params["nu"], mean.ndim), size=mean.shape)
    else:
        noise = rng.standard_normal(mean.shape)
    return mean + sigma * noise
