"""What every command shares: error rendering, flags for library arguments, tracking options, JSON output."""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mmm.core.errors import ArgumentError, MMMError
from mmm.tracking.access import denial, has_password, redact, refusal_status, unreachable

if TYPE_CHECKING:  # the config (pydantic, numpy) loads only when a command needs it
    from mmm.config import Config

SERVER_RETRIES = 2  # MLflow's HTTP retries before a tracking server counts as down (its default, 7, takes minutes)

# Library argument or config key -> the flag a user types; errors are rendered with the flag.
FLAGS = {
    "holdout": "--holdout",
    "budget": "--budget",
    "weeks": "--weeks",
    "risk": "--risk",
    "test_weeks": "--test-weeks",
    "channels": "--channels",
    "top": "--top",
    "min_power": "--min-power",
    "information_weeks": "--information-weeks",
    "by_week": "--by-week",
    "margin": "--margin",
    "target_mroas": "--target-mroas",
    "target_cpa": "--target-cpa",
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
    for name in ("pymc", "pytensor", "mlflow", "alembic", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)
    say = logging.getLogger("mmm")  # what the engine says about a long step while it runs, as a stage's detail
    if not say.handlers:
        say.addHandler(_StageDetail())
        say.setLevel(logging.INFO)
        say.propagate = False
    # MLflow prints each run's URL, credentials included when the address carries them; mmm names the run itself
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    # a tracking server that is down is said in seconds, not after minutes of MLflow's default retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(SERVER_RETRIES))


class _StageDetail(logging.Handler):
    """An engine message on the command's stderr (the one it has now: a warm server's command swaps it), indented under its stage."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"  {record.getMessage()}", err=True)


class Group(click.Group):
    """Turns MMMError into a clear message and exit status 2 instead of a traceback; any other error is a
    traceback with every password masked, and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors and exits, which click prints itself
        except Exception as exc:
            ctx.exit(say_error(exc))


def say_error(exc: Exception) -> int:
    """Say `exc` on stderr as every command does and return the exit status: a message and 2 (or the
    error's own status) for what the user can act on, else the traceback with passwords masked and 1."""
    message = error_message(exc)
    if message is None:
        click.echo(redact("".join(traceback.format_exception(exc))), err=True)
        return 1
    click.echo(f"Error: {message}", err=True)
    return exc.exit_code if isinstance(exc, MMMError) else 2


def error_message(exc: BaseException) -> str | None:
    """The one-paragraph message for an error the user can act on (bad input, a refusal), passwords masked; else None."""
    if isinstance(exc, MMMError):
        return redact(exc.render(FLAGS.get(exc.argument, exc.argument)) if isinstance(exc, ArgumentError) else str(exc))
    if isinstance(exc, OSError) and exc.filename and not isinstance(exc, ConnectionError):
        return f"cannot write or read {exc.filename}: {exc.strerror}; check the path, and that the folder exists and takes files"
    status = refusal_status(exc)
    why = unreachable(exc)
    if status is None and not why:
        return None
    # a refusal (or a server that is down) that no library call named: say so cleanly all the same
    from mmm.tracking.runs import resolve_tracking_uri

    uri = resolve_tracking_uri(None)
    if why:
        return (
            f"cannot reach the tracking server {redact(uri)} ({why}): start it, check the address "
            "(--tracking-uri or MLFLOW_TRACKING_URI) and the network, then run the command again"
        )
    assert status is not None
    return str(denial(status, "the tracking store", uri))


_stopped_by: list[int] = []  # the signal that asked this process to stop, once one has


def terminate_as_interrupt() -> None:
    """Let `kill` (SIGTERM) unwind like Ctrl-C, so an open MLflow run is closed as FAILED.

    The signal is also remembered: an interrupt raised while Python runs a finaliser (garbage
    collection during compiling) is swallowed there, so every `stage` raises it again when it ends.
    """
    import signal

    def handler(signum: int, frame: Any) -> None:
        _stopped_by.append(signum)
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def sampler_overrides(config: str, **values: int | None) -> Config:
    """The config file with --draws/--tune/--chains/--seed applied, validated like the file itself."""
    from mmm.config import load_config, with_overrides

    return with_overrides(load_config(config), {f"sampler.{k}": v for k, v in values.items()}, FLAGS)


class OutputFile(click.Path):
    """A file a command writes, checked before any work: not a folder, and its folder (or the nearest one that
    exists; missing ones are made when it is written) takes a file. A usage error (exit 2) otherwise."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import tempfile

        converted = super().convert(value, param, ctx)
        folder = Path(os.fsdecode(converted)).parent
        while not folder.exists():
            folder = folder.parent
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".mmm-probe-"):
                pass
        except OSError as exc:
            self.fail(f"cannot write {value}: the folder {folder} does not take files ({exc.strerror})", param, ctx)
        return converted


OUTPUT_FILE = OutputFile()


def out_file(dest: str, default: str, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The `--out FILE` option of a command that writes one file (a plot, a report), checked before any work."""
    return click.option("--out", dest, type=OUTPUT_FILE, default=default, show_default=True, help=help)


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    from mmm.core.results import json_safe

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_safe(payload), indent=2))
    tmp.replace(path)


def _no_password_on_the_command_line(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A password typed into --tracking-uri lands in shell history: refuse it (the environment may carry one)."""
    if value and has_password(value) and ctx.get_parameter_source(param.name or "") == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError(
            f"--tracking-uri {redact(value)} carries a password, which would stay in your shell history; "
            "give the address without it and set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD instead"
        )
    return value


tracking_options = [
    click.option(
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        default=None,
        help="MLflow store; default: MLFLOW_TRACKING_URI or ./mlruns.db (embedded). Credentials go in the environment.",
        callback=_no_password_on_the_command_line,
    ),
    click.option("--experiment", default=None, help="MLflow experiment name (default: mmm)."),
]


def draws_text(cfg: Config) -> str:
    """'1000 draws', or 'draws until converged (at most 4000)' under draws: auto."""
    s = cfg.sampler
    return f"draws until converged (at most {s.max_draws})" if s.draws == "auto" else f"{s.draws} draws"


@contextmanager
def stage(label: str) -> Iterator[None]:
    """Say on stderr what the command is doing and how long it took."""
    click.echo(f"{label}...", err=True)
    start = time.perf_counter()
    yield
    if _stopped_by:
        raise KeyboardInterrupt(f"stopped by signal {_stopped_by[0]}")
    click.echo(f"  done in {time.perf_counter() - start:.1f} s", err=True)


fit_options = [
    click.option("--holdout", type=int, default=0, show_default=True, help="Keep the last N periods out of fitting and score them."),
    click.option("--draws", type=int, help="Override sampler.draws."),
    click.option("--tune", type=int, help="Override sampler.tune."),
    click.option("--chains", type=int, help="Override sampler.chains."),
    click.option("--seed", type=int, help="Override sampler.seed."),
]


def with_fit_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add --holdout and --draws/--tune/--chains/--seed (the config's sampler settings, overridden) to a command that fits."""
    for opt in reversed(fit_options):
        f = opt(f)
    return f


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
    """The store in use, any password in its address replaced by ***."""
    import mlflow

    return redact(mlflow.get_tracking_uri())
