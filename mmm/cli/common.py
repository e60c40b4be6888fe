"""What every command shares: error rendering, flags for library arguments, tracking options, JSON output."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mmm.config import Config
from mmm.core.errors import ArgumentError, MMMError

# Library argument or config key -> the flag a user types; errors are rendered with the flag.
FLAGS = {
    "holdout": "--holdout",
    "budget": "--budget",
    "weeks": "--weeks",
    "risk": "--risk",
    "policy": "--policy",
    "strict": "--strict-tiers",
    "bounds": "--bounds",
    "folds": "--folds",
    "horizon": "--horizon",
    "sampler.draws": "--draws",
    "sampler.tune": "--tune",
    "sampler.chains": "--chains",
    "sampler.seed": "--seed",
}


def quiet_libraries() -> None:
    """Keep library chatter (deprecations, BLAS hints) out of an analyst's terminal."""
    warnings.filterwarnings("ignore")
    import logging

    for name in ("pymc", "pytensor", "mlflow", "alembic", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Group(click.Group):
    """Turns MMMError into a clear message and exit status 2 instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MMMError as exc:
            message = exc.render(FLAGS.get(exc.argument, exc.argument)) if isinstance(exc, ArgumentError) else str(exc)
            click.echo(f"Error: {message}", err=True)
            ctx.exit(exc.exit_code)


def terminate_as_interrupt() -> None:
    """Let `kill` (SIGTERM) unwind like Ctrl-C, so an open MLflow run is closed as FAILED."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def sampler_overrides(config: str, **values: int | None) -> Config:
    """The config file with --draws/--tune/--chains/--seed applied, validated like the file itself."""
    from mmm.config import load_config, with_overrides

    return with_overrides(load_config(config), {f"sampler.{k}": v for k, v in values.items()}, FLAGS)


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    from mmm.core.results import json_safe

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_safe(payload), indent=2))
    tmp.replace(path)


tracking_options = [
    click.option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        default=None,
        help="MLflow store; default: MLFLOW_TRACKING_URI or ./mlruns.db (embedded).",
    ),
    click.option("--experiment", default=None, help="MLflow experiment name (default: mmm)."),
]


def with_tracking(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add --tracking-uri and --experiment to a command."""
    for opt in reversed(tracking_options):
        f = opt(f)
    return f


def finish_child(result: dict[str, Any], run_id: str, output_json: str | None) -> None:
    """Say where a nested run went and write the JSON, for commands that work on a fitted model."""
    click.echo(f"\nLogged as run {result['tracking_run_id']} under model run {run_id} in {where()}")
    save_json(output_json, result)


def save_json(output_json: str | None, payload: dict[str, Any]) -> None:
    """Write --output-json when asked, and say where."""
    if output_json:
        write_json(output_json, payload)
        click.echo(f"Results written to {output_json}")


def where() -> str:
    import mlflow

    return mlflow.get_tracking_uri()
