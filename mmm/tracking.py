"""MLflow tracking: every fit is a run; later commands reload a model by its run id.

The default store is embedded: `mlruns.db` (SQLite) and `mlartifacts/` in the working
directory. `--tracking-uri` or MLFLOW_TRACKING_URI point elsewhere (a team's server).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from mmm.errors import RunNotFoundError

DEFAULT_EXPERIMENT = "mmm"
MODEL_ARTIFACT = "model/model.nc"
SUMMARY_ARTIFACT = "summary.json"
CONFIG_ARTIFACT = "config.yaml"
KIND_TAG = "mmm.kind"


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The store to use: an explicit URI, else MLFLOW_TRACKING_URI, else the embedded SQLite file."""
    if uri:
        return uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{Path.cwd() / 'mlruns.db'}"


def _is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri


def connect(tracking_uri: str | None, experiment: str | None) -> tuple[str, str]:
    """Point MLflow at the store and experiment (created if missing); returns (uri, experiment id)."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no table-creation chatter
    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(name)
    if exp is None:
        location = None
        if uri.startswith("sqlite:"):
            # artifacts beside the database file, not in a folder MLflow picks
            db = Path(uri.removeprefix("sqlite:///"))
            location = (db.parent / "mlartifacts").resolve().as_uri()
        try:
            exp_id = client.create_experiment(name, artifact_location=location)
        except Exception:  # noqa: BLE001 - another process created it first
            exp_id = client.get_experiment_by_name(name).experiment_id
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return uri, exp_id


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit() -> str | None:
    """The commit of the mmm source checkout, when it is one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def flatten(obj: Any, prefix: str = "") -> dict[str, str]:
    """{'channels.search.tier': 'proven', 'sampler.draws': '1000', ...}; lists of named items keyed by name."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) and "name" in v for v in obj):
        for v in obj:
            out.update(flatten({k: x for k, x in v.items() if k != "name"}, f"{prefix}{v['name']}."))
    else:
        out[prefix.rstrip(".")] = json.dumps(obj) if isinstance(obj, list) else str(obj)
    return out


@contextmanager
def fit_run(tracking_uri: str | None, experiment: str | None, run_name: str) -> Iterator[Any]:
    """An MLflow run for one fit; it ends FAILED if anything inside raises (or the fit is interrupted)."""
    import mlflow

    connect(tracking_uri, experiment)
    with mlflow.start_run(run_name=run_name, tags={KIND_TAG: "fit"}) as run:
        yield run


def fit_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Metric name -> value for a fit summary: diagnostics, fit quality, `<metric>.<channel>`."""
    d = summary["diagnostics"]
    m = {
        "max_rhat": d["max_rhat"], "min_ess_bulk": d["min_ess_bulk"], "min_ess_tail": d["min_ess_tail"],
        "divergences": d["divergences"], "converged": float(d["converged"]), "fit_seconds": summary["fit_seconds"],
        **{k: v for k, v in summary["fit"].items()},
        "marketing_share_mean": summary["marketing_share"]["mean"],
    }
    for k, v in summary.get("holdout", {}).items():
        m[f"holdout_{k}"] = v
    for name, c in summary["channels"].items():
        for metric in ("roas", "roi", "contribution", "contribution_share", "mroas"):
            for stat in ("mean", "low", "high"):
                m[f"{metric}_{stat}.{name}"] = c[metric][stat]
    return {k: float(v) for k, v in m.items() if v is not None}


def log_fit(model: Any, summary: dict[str, Any], data_path: str | None) -> None:
    """Log config, tags, metrics, the summary JSON and the model file to the active run."""
    import mlflow

    from mmm import __version__

    cfg = model.config
    d = summary["data"]
    mlflow.log_params(flatten(cfg.model_dump(mode="json", exclude_none=True)))
    tags = {
        "mmm.version": __version__, "sampler": cfg.sampler.backend, "adstock": cfg.model.adstock,
        "saturation": cfg.model.saturation, "data.first_date": d["first_date"], "data.last_date": d["last_date"],
        "data.periods": str(d["periods"]), "data.frequency": d["frequency"],
    }
    if data_path and Path(data_path).is_file():
        tags["data.sha256"] = file_sha256(data_path)
    commit = git_commit()
    if commit:
        tags["git.commit"] = commit
    mlflow.set_tags(tags)
    mlflow.log_metrics(fit_metrics(summary))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / CONFIG_ARTIFACT).write_text(cfg.to_yaml())
        (tmp / SUMMARY_ARTIFACT).write_text(json.dumps(summary, indent=2))
        mlflow.log_artifact(str(tmp / CONFIG_ARTIFACT))
        mlflow.log_artifact(str(tmp / SUMMARY_ARTIFACT))
        model.save(tmp / "model.nc")
        mlflow.log_artifact(str(tmp / "model.nc"), artifact_path="model")


def load_fit(run_id: str, tracking_uri: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The fitted model and its summary from a fit run; RunNotFoundError says why it cannot be used."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from mmm.estimator import MarketingMixModel
    from mmm.errors import MMMError

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise RunNotFoundError(f"run '{run_id}' not found in the tracking store {uri} (list fitted models with `mmm runs`)") from None
    if run.data.tags.get(KIND_TAG) != "fit":
        raise RunNotFoundError(f"run '{run_id}' is not an mmm model fit; pass the run id of `mmm fit` (see `mmm runs`)")
    if run.info.status != "FINISHED":
        raise RunNotFoundError(f"run '{run_id}' is {run.info.status}, not a finished fit; fit the model again")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=MODEL_ARTIFACT, dst_path=tmp)
            summary_path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=SUMMARY_ARTIFACT, dst_path=tmp)
            summary = json.loads(Path(summary_path).read_text())
            model = MarketingMixModel.load(path)
        except (MlflowException, OSError, ValueError, MMMError) as exc:
            raise RunNotFoundError(f"run '{run_id}': its model artifacts are missing or corrupt ({exc}); fit the model again") from None
    return model, summary


def plan_metrics(outcome: dict[str, Any]) -> dict[str, float]:
    """The metrics every optimise and scenario run logs under the same names (for MLflow's compare view)."""
    m = {f"expected_revenue_{k}": outcome["expected_revenue"][k] for k in ("mean", "low", "high")}
    m.update({f"incremental_revenue_{k}": outcome["incremental_revenue"][k] for k in ("mean", "low", "high")})
    roas = outcome.get("roas_plan") or outcome.get("roas")  # optimise keeps "roas" for both plans
    m["roas_mean"] = roas["mean"] if roas and "mean" in roas else None
    m["prob_better_than_current"] = outcome.get("prob_better_than_current")
    m["budget"] = outcome["spend"]
    m.update({f"spend_{ch}": v for ch, v in outcome["spend_by_channel"].items()})
    return {k: float(v) for k, v in m.items() if v is not None}


def log_plan_run(
    parent_run_id: str, kind: str, name: str, outcome: dict[str, Any], params: dict[str, Any],
    payload: dict[str, Any], tracking_uri: str | None = None,
) -> str:
    """Record an optimise or scenario as a run nested under the model's fit run; returns its id."""
    import mlflow

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    parent = mlflow.MlflowClient().get_run(parent_run_id)
    tags = {KIND_TAG: kind, "mlflow.parentRunId": parent_run_id, "mmm.model_run": parent_run_id}
    with mlflow.start_run(experiment_id=parent.info.experiment_id, run_name=name, tags=tags) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(plan_metrics(outcome))
        payload = {**payload, "tracking_run_id": run.info.run_id}
        mlflow.log_dict(payload, f"{kind}.json")
    return run.info.run_id
