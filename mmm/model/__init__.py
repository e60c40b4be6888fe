"""The Bayesian model: scaled features, the PyMC graph, sampling and the fitted estimator."""
