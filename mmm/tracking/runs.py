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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmm.analysis.results import FitSummary
from mmm.core.constants import INTERVAL_STATS
from mmm.core.errors import MMMError, RunNotFoundError
from mmm.core.outcome import outcome_for
from mmm.planning.results import PlanForecast, RegionPlan
from mmm.tracking.access import redact, refusals, unreachable
from mmm.tracking.metrics import fit_metrics, plan_metrics
from mmm.tracking.store import check_store_uri, missing_database, store_lock

if TYPE_CHECKING:
    from mmm.model.estimator import MarketingMixModel  # imported where a model is loaded: it brings PyMC

DEFAULT_EXPERIMENT = "mmm"
MODEL_ARTIFACT = "model/model.nc"
SUMMARY_ARTIFACT = "summary.json"
CONFIG_ARTIFACT = "config.yaml"
KIND_TAG = "mmm.kind"
FORECASTER = "forecaster"  # name of the logged pyfunc model: runs:/<run_id>/forecaster


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The store to use: an explicit URI, else MLFLOW_TRACKING_URI, else the embedded SQLite file."""
    if uri:
        return check_store_uri(uri)
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return check_store_uri(os.environ["MLFLOW_TRACKING_URI"])
    return check_store_uri(f"sqlite:///{Path.cwd() / 'mlruns.db'}")


def _is_embedded(uri: str) -> bool:
    return uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri


def connect(tracking_uri: str | None, experiment: str | None) -> tuple[str, str]:
    """Point MLflow at the store and experiment (created if missing); returns (uri, experiment id)."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no table-creation chatter
    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    with store_lock(uri), refusals(f"experiment '{name}'", uri):  # MLflow's table creation is not safe to race
        return uri, _ensure_experiment(mlflow.MlflowClient(), uri, name)


def _ensure_experiment(client: Any, uri: str, name: str) -> str:
    """The experiment's id, creating it (artifacts beside an embedded database) when missing."""
    import mlflow

    exp = client.get_experiment_by_name(name)
    if exp is None:
        location = None
        if uri.startswith("sqlite:"):
            # artifacts beside the database file, not in a folder MLflow picks
            db = Path(uri.removeprefix("sqlite:///"))
            location = (db.parent / "mlartifacts").resolve().as_uri()
        # tagged as model development so the MLflow UI opens on the runs table, not a GenAI overview
        exp_id = client.create_experiment(name, artifact_location=location, tags={"mlflow.experimentKind": "custom_model_development"})
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit() -> str | None:
    """The commit of the mmm source checkout, when it is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
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
def fit_run(tracking_uri: str | None, experiment: str | None, run_name: str, tags: dict[str, str] | None = None) -> Iterator[Any]:
    """An MLflow run for one fit (with any extra `tags`); it ends FAILED if anything inside raises (or the fit is interrupted)."""
    import mlflow

    uri, experiment_id = connect(tracking_uri, experiment)
    with refusals(f"experiment '{experiment_id}' (to record a fit)", uri):
        active = mlflow.start_run(run_name=run_name, tags={**(tags or {}), KIND_TAG: "fit"})
    with active as run:
        yield run


def log_fit(model: Any, summary: FitSummary, data_path: str | None, register: str | None = None) -> None:
    """Log config, tags, metrics, the summary JSON, the model file and the pyfunc forecaster.

    `register` also registers the forecaster in the model registry under that name.
    """
    import mlflow

    from mmm import __version__

    cfg = model.config
    d = summary.data
    mlflow.log_params(flatten(cfg.model_dump(mode="json", exclude_none=True)))
    tags = {
        "mmm.version": __version__,
        "sampler": cfg.sampler.backend,
        "adstock": cfg.model.adstock,
        "saturation": cfg.model.saturation,
        "data.first_date": d.first_date,
        "data.last_date": d.last_date,
        "data.periods": str(d.periods),
        "data.frequency": d.frequency,
    }
    if summary.review is not None:
        tags["review.status"] = summary.review.status
        tags.update({f"review.{c.name}": c.status for c in summary.review.checks})
    if summary.model_choice is not None:
        tags["model_choice"] = summary.model_choice.reason
        mlflow.log_dict(summary.model_choice.to_dict(), "model_choice.json")
    if data_path and Path(data_path).is_file():
        tags["data.sha256"] = file_sha256(data_path)
    commit = git_commit()
    if commit:
        tags["git.commit"] = commit
    mlflow.set_tags(tags)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / CONFIG_ARTIFACT).write_text(cfg.to_yaml())
        (folder / SUMMARY_ARTIFACT).write_text(json.dumps(summary.to_json(), indent=2))
        mlflow.log_artifact(str(folder / CONFIG_ARTIFACT))
        mlflow.log_artifact(str(folder / SUMMARY_ARTIFACT))
        model.save(folder / "model.nc")
        mlflow.log_artifact(str(folder / "model.nc"), artifact_path="model")
        log_forecaster(folder / "model.nc", model.channels, cfg.data.kpi, register)
    # metrics after the forecaster: MLflow re-reads each metric already logged, one request apiece, to attach it
    # to a model logged later (some 70 round trips to a team server)
    mlflow.log_metrics(fit_metrics(summary))


def forecaster_signature(channels: list[str], kpi: str) -> Any:
    """Input (week + one spend column per channel) and output columns of the forecaster."""
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature

    example_in = pd.DataFrame({"week": [1], **{ch: [0.0] for ch in channels}})
    incremental = outcome_for(kpi).incremental
    columns = [f"target_{s}" for s in INTERVAL_STATS] + [f"{incremental}_{s}" for s in INTERVAL_STATS]
    example_out = pd.DataFrame({"week": [1], "date": ["2025-01-06"], **{c: [np.nan] for c in columns}})
    return infer_signature(example_in, example_out)


def log_forecaster(model_file: Path, channels: list[str], kpi: str, register: str | None = None) -> None:
    """Log the pyfunc forecaster (as code, with the netCDF model as its artifact) to the active run."""
    import mlflow

    from mmm import __version__
    from mmm.tracking.pyfunc_model import POSTERIOR_ARTIFACT

    with _requirements_running():
        mlflow.pyfunc.log_model(
            name=FORECASTER,
            signature=forecaster_signature(channels, kpi),
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts={POSTERIOR_ARTIFACT: str(model_file)},
            pip_requirements=[f"mmm=={__version__}"],
            registered_model_name=register,
        )


@contextmanager
def _requirements_running() -> Iterator[None]:
    """Skip MLflow's check of the forecaster's requirements against the installed packages: they are this very
    mmm and MLflow, so it always passes, and it costs about a second mapping every installed file to its package."""
    import mlflow.utils.environment as environment

    check = environment.warn_dependency_requirement_mismatches
    environment.warn_dependency_requirement_mismatches = lambda requirements: None
    try:
        yield
    finally:
        environment.warn_dependency_requirement_mismatches = check


def _finished_fit(run_id: str, uri: str) -> None:
    """Raise RunNotFoundError unless `run_id` is a finished mmm fit the caller may read."""
    import mlflow
    from mlflow.exceptions import MlflowException

    missing = missing_database(uri)
    if missing is not None:
        raise RunNotFoundError(
            f"run '{run_id}': there is no tracking store at {missing}; point --tracking-uri "
            "(or MLFLOW_TRACKING_URI) at the store the model was fitted into"
        )
    mlflow.set_tracking_uri(uri)
    try:
        with refusals(f"run '{run_id}'", uri):
            run = mlflow.MlflowClient().get_run(run_id)
    except MlflowException as exc:
        if unreachable(exc):
            raise  # the server is down: said as such, not as a missing run
        raise RunNotFoundError(
            f"run '{run_id}' not found in the tracking store {redact(uri)} (list fitted models with `mmm runs`)"
        ) from None
    if run.data.tags.get(KIND_TAG) != "fit":
        raise RunNotFoundError(f"run '{run_id}' is not an mmm model fit; pass the run id of `mmm fit` (see `mmm runs`)")
    if run.info.status != "FINISHED":
        raise RunNotFoundError(f"run '{run_id}' is {run.info.status}, not a finished fit; fit the model again")


@contextmanager
def _artifacts(run_id: str, uri: str) -> Iterator[Callable[[str], Path]]:
    """Download a finished fit's artifacts by path into a temporary folder; missing or corrupt ones are RunNotFoundError."""
    import mlflow
    from mlflow.exceptions import MlflowException

    _finished_fit(run_id, uri)
    with tempfile.TemporaryDirectory() as tmp, refusals(f"the files of run '{run_id}'", uri):
        try:
            yield lambda artifact: Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=tmp))
        except (MlflowException, OSError, ValueError, MMMError) as exc:  # pydantic's ValidationError is a ValueError
            raise RunNotFoundError(f"run '{run_id}': its model artifacts are missing or corrupt ({exc}); fit the model again") from None


def end_download_threads(wait: float = 2.0) -> None:
    """End the idle threads MLflow's artifact downloads leave behind (its repository's thread pool lives until
    collected, a few tenths of a second), so long planning after `load_fit` may fork workers (`core.processes.can_fork`)
    and use every core."""
    import gc
    import threading

    gc.collect()
    for thread in threading.enumerate():
        if "ArtifactRepository" in thread.name:  # e.g. MlflowLocalArtifactRepository_0
            thread.join(wait)


def load_summary(run_id: str, tracking_uri: str | None = None) -> FitSummary:
    """A fit's summary alone (no model file): what `mmm review` and reports read."""
    with _artifacts(run_id, resolve_tracking_uri(tracking_uri)) as fetch:
        return FitSummary.model_validate(json.loads(fetch(SUMMARY_ARTIFACT).read_text()))


def load_fit(run_id: str, tracking_uri: str | None = None) -> tuple[MarketingMixModel, FitSummary]:
    """The fitted model and its summary from a fit run; RunNotFoundError says why it cannot be used."""
    from mmm.model.estimator import MarketingMixModel

    with _artifacts(run_id, resolve_tracking_uri(tracking_uri)) as fetch:
        summary = FitSummary.model_validate(json.loads(fetch(SUMMARY_ARTIFACT).read_text()))
        return MarketingMixModel.load(fetch(MODEL_ARTIFACT)), summary


def log_plan_run(
    parent_run_id: str,
    kind: str,
    name: str,
    forecast: PlanForecast,
    params: dict[str, Any],
    payload: dict[str, Any],
    tracking_uri: str | None = None,
    artifacts: list[str] | None = None,
    geos: dict[str, RegionPlan] | None = None,
) -> str:
    """Record an optimise or scenario as a run nested under the model's fit run (with the plan's files); returns its id.

    geos: a geo plan's spend per region and channel, logged as `spend.<geo>.<channel>`."""
    metrics = plan_metrics(forecast) | {f"spend.{g}.{ch}": a.total for g, plan in (geos or {}).items() for ch, a in plan.channels.items()}
    return log_child_run(parent_run_id, kind, name, params, metrics, payload, tracking_uri, artifacts)


def log_child_run(
    parent_run_id: str,
    kind: str,
    name: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    payload: dict[str, Any],
    tracking_uri: str | None = None,
    artifacts: list[str] | None = None,
) -> str:
    """A run nested under the model's fit run (same experiment), with `payload` as `<kind>.json` and any local files in `artifacts`."""
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    tags = {KIND_TAG: kind, "mlflow.parentRunId": parent_run_id, "mmm.model_run": parent_run_id}
    with refusals(f"run '{parent_run_id}' (to record a {kind} under it)", uri):
        parent = mlflow.MlflowClient().get_run(parent_run_id)
        active = mlflow.start_run(experiment_id=parent.info.experiment_id, run_name=name, tags=tags)
    with active as run, refusals(f"run '{parent_run_id}' (to record a {kind} under it)", uri):
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(metrics)
        mlflow.log_dict({**payload, "tracking_run_id": run.info.run_id}, f"{kind}.json")
        for path in artifacts or []:
            mlflow.log_artifact(path)
    return run.info.run_id


def list_runs(tracking_uri: str | None, experiment: str | None) -> list[dict[str, Any]]:
    """Fitted models (newest first) with their data period, fit quality, convergence and scenario count."""
    import mlflow

    if missing_database(resolve_tracking_uri(tracking_uri)) is not None:
        return []  # nothing fitted there yet; listing must not create the store
    uri, exp_id = connect(tracking_uri, experiment)
    client = mlflow.MlflowClient()
    with refusals(f"the runs of experiment '{exp_id}'", uri):
        runs = client.search_runs(
            [exp_id], filter_string=f"tags.`{KIND_TAG}` = 'fit'", order_by=["attributes.start_time DESC"], max_results=1000
        )
        children = client.search_runs([exp_id], filter_string=f"tags.`{KIND_TAG}` != 'fit'", max_results=10000)
    out = []
    for r in runs:
        kids = [c for c in children if c.data.tags.get("mlflow.parentRunId") == r.info.run_id]
        m, t = r.data.metrics, r.data.tags
        out.append(
            {
                "run_id": r.info.run_id,
                "name": r.info.run_name,
                "status": r.info.status,
                "started": pd_timestamp(r.info.start_time),
                "data_period": f"{t.get('data.first_date', '?')} to {t.get('data.last_date', '?')}",
                "periods": int(t["data.periods"]) if "data.periods" in t else None,
                "r2": m.get("r2"),
                "converged": bool(m["converged"]) if "converged" in m else None,
                "review": t.get("review.status"),
                "scenarios": sum(c.data.tags.get(KIND_TAG) == "scenario" for c in kids),
                "optimizations": sum(c.data.tags.get(KIND_TAG) == "optimize" for c in kids),
                "children": [
                    {
                        "run_id": c.info.run_id,
                        "kind": c.data.tags.get(KIND_TAG),
                        "name": c.info.run_name,
                        "expected_revenue_mean": c.data.metrics.get("expected_revenue_mean"),
                    }
                    for c in kids
                ],
            }
        )
    return out


def pd_timestamp(ms: int | None) -> str | None:
    """MLflow's millisecond timestamps as 'YYYY-MM-DD HH:MM' (UTC)."""
    from datetime import datetime

    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
