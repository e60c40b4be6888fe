"""MLflow: every fit, optimisation and scenario as a run; models reloaded by run id."""
