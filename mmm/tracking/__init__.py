"""MLflow: every fit, optimisation and scenario as a run; models reloaded by run id."""

import os

# MLflow reports usage to its makers from a thread it starts on import, unless told not to: an analyst's
# models are not theirs to count (set MLFLOW_DISABLE_TELEMETRY=false to allow it)
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
