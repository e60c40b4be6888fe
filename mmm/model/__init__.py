"""The Bayesian model: scaled features, the PyMC graph, sampling and the fitted estimator."""

from mmm.model import arviz_cache

arviz_cache.install()  # every import of ArviZ in mmm is in this package's modules, after this line
