"""`mmm refit`: refresh a fitted model with new periods and say how each channel's ROAS moved."""

from __future__ import annotations

import click

from mmm.cli.common import FLAGS, OUTPUT_FILE, draws_text, save_json, stage, terminate_as_interrupt, where, with_tracking
from mmm.cli.publish import publish_fit
from mmm.cli.unrecorded import Recording, run_tags


@click.command()
@click.option("--run-id", required=True, help="The fit to refresh (see `mmm runs`).")
@click.option(
    "--data",
    "data_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The updated data: the full export (earlier and new periods) or only the new periods, with the same columns.",
)
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the results (with `changes`) as JSON here.")
@click.option("--draws", type=int, help="Override sampler.draws.")
@click.option("--tune", type=int, help="Override sampler.tune.")
@click.option("--chains", type=int, help="Override sampler.chains.")
@click.option("--seed", type=int, help="Override sampler.seed.")
@with_tracking
def refit(
    run_id: str,
    data_file: str,
    output_json: str | None,
    draws: int | None,
    tune: int | None,
    chains: int | None,
    seed: int | None,
    tracking_uri: str | None,
    experiment: str | None,
) -> None:
    """Refit a model on its data plus new periods (same config and scaling, warm-started) and compare each channel's ROAS.

    The refit is a new run in the same experiment (unless --experiment says otherwise), tagged
    mmm.refit_of = RUN_ID; a channel whose ROAS left the previous 90% interval is named.
    """
    from mmm.analysis.drift import compare_fits
    from mmm.analysis.summary import fit_summary
    from mmm.config import with_overrides
    from mmm.data.refresh import refresh_data
    from mmm.model.refit import refit as refit_model
    from mmm.tracking.refits import REFIT_TAG, previous_fit, refit_name
    from mmm.tracking.runs import fit_run, load_fit

    previous, before = load_fit(run_id, tracking_uri)
    overrides = {"data.path": data_file, "sampler.draws": draws, "sampler.tune": tune, "sampler.chains": chains, "sampler.seed": seed}
    cfg = with_overrides(previous.config, overrides, FLAGS)
    refresh = refresh_data(cfg, previous.observed)  # bad data stops here, before any run is recorded
    for w in refresh.data.warnings:
        click.echo(f"Warning: {w}", err=True)
    experiment_name, previous_name = previous_fit(run_id, tracking_uri)
    terminate_as_interrupt()
    with fit_run(tracking_uri, experiment or experiment_name, refit_name(previous_name), tags={REFIT_TAG: run_id}) as run:
        data = refresh.data
        with stage(
            f"Refitting {len(cfg.channels)} channels on {data.n_periods} {data.frequency} periods ({refresh.added} new; "
            f"{cfg.sampler.chains} chains x {draws_text(cfg)}), starting from run {run_id}'s posterior"
        ):
            model = refit_model(previous, data, cfg)
        with stage("Summarising"):
            summary = fit_summary(model, run_id=run.info.run_id)
            summary = summary.model_copy(update={"changes": compare_fits(before, summary, refresh)})
        recording = Recording(run.info.run_name, experiment or experiment_name, run_tags(run), data_path=str(cfg.data_path()))
        publish_fit(run.info.run_id, model, summary, tracking_uri, recording)
    click.echo(f"\nRun {run.info.run_id} (a refit of {run_id}) logged to {where()}")
    save_json(output_json, summary.to_json())
