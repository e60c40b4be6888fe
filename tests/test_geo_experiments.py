"""Lift tests on data by region: geo lift tests calibrate the geo model, and geo test designs are balanced and state
the standard error their measurement will have. Without sampling: a synthetic geo posterior and simulated placebo tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import assert_clean_exit_2, invoke
from test_geo_model import synthetic_geo_model

from mmm.config import load_config
from mmm.core.constants import CHANNEL, DATE, GEO, SAMPLE
from mmm.core.did import did_lift, placebo_factor
from mmm.core.errors import MMMError
from mmm.data.lifts import LiftTest, read_lifts
from mmm.data.loading import load_data
from mmm.planning.geo_design import MAX_TREATED_SHARE, MIN_CONTROL_GEOS, _se, _search


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_geo_model()


def _forecast_lift(m, test: LiftTest, weights: dict[str, float]) -> np.ndarray:
    """(sample,) the change in the channel's contribution in the treated geos that the test's spend brought:
    the data hold the test, so without it the geos spent the recorded spend less the test's."""
    data = m.train
    idx = np.flatnonzero((data.dates >= pd.Timestamp(test.start)) & (data.dates <= pd.Timestamp(test.end)))
    without = data.spend.copy()
    for geo, w in weights.items():
        without.loc[{GEO: geo, CHANNEL: test.channel, DATE: data.dates[idx]}] -= test.spend_change * w / len(idx)
    media = {
        k: m.predict_components(s, data.controls)["media"].sel({CHANNEL: test.channel})
        for k, s in (("base", without), ("test", data.spend))
    }
    return (media["test"] - media["base"]).sel({GEO: list(weights)}).sum((DATE, GEO)).transpose(SAMPLE).values


def test_a_geo_lift_is_predicted_in_the_geos_it_treated(synthetic):
    m = synthetic
    spend = m.train.spend.sel({CHANNEL: "search", DATE: m.train.dates[20:26]}).sum(DATE)  # an added test's split: its weeks'
    both = LiftTest("search", str(m.train.dates[20].date()), str(m.train.dates[25].date()), 3000.0, 0.0, 1.0, geo="north|south")
    share = {g: float(spend.sel({GEO: g}) / spend.sel({GEO: ["north", "south"]}).sum()) for g in ("north", "south")}
    one = LiftTest("search", both.start, both.end, 300.0, 0.0, 1.0, geo="east")  # east spends 85 to 181 a week there
    predicted = m.predict_lifts([both, one])
    np.testing.assert_allclose(predicted[:, 0], _forecast_lift(m, both, share), rtol=1e-9)
    np.testing.assert_allclose(predicted[:, 1], _forecast_lift(m, one, {"east": 1.0}), rtol=1e-9)
    assert (predicted > 0).all()


def test_the_graph_observes_geo_lifts_as_the_analysis_predicts_them(synthetic):
    m = synthetic
    m.lifts = [LiftTest("tv", str(m.train.dates[30].date()), str(m.train.dates[33].date()), -2000.0, -1500.0, 400.0, geo="south")]
    try:
        model = m._build(m.train, m._train_features(m.train))
    finally:
        m.lifts = []
    draw = {k: v[0] for k, v in m.posterior_params().items()}
    mu = model["lift_obs"].owner.inputs[-2]
    graph = mu.eval({model[rv.name]: draw[rv.name] for rv in model.free_RVs if rv.name != "sigma"}, on_unused_input="ignore")
    scale = float(np.sum(m.scales.geo_target))
    expected = m.predict_lifts([LiftTest("tv", *[str(m.train.dates[i].date()) for i in (30, 33)], -2000.0, 0, 1, geo="south")])
    np.testing.assert_allclose(graph * scale, expected[0], rtol=1e-8)


def test_geo_lift_tests_in_any_regions_and_of_any_number_share_the_compiled_model(synthetic):
    """The tests' geo x channel cells are rows of the model's data, so tests in other regions, or more of them, keep its
    fingerprint: a calibrated geo fit loads the compiled model instead of compiling it again."""
    from pymc.model.transform.optimization import freeze_dims_and_data

    from mmm.model.compiled import OPEN_DIMS
    from mmm.model.graph_key import model_key

    m = synthetic
    week = [str(m.train.dates[i].date()) for i in (30, 33, 40, 45)]
    keys = []
    for lifts in (
        [LiftTest("tv", week[0], week[1], -2000.0, -1500.0, 400.0, geo="south")],
        [
            LiftTest("search", week[2], week[3], 3000.0, 900.0, 300.0, geo="north|east"),
            LiftTest("tv", week[0], week[1], -900.0, -700.0, 200.0),
        ],
    ):
        m.lifts = lifts
        try:
            model = m._build(m.train, m._train_features(m.train))
        finally:
            m.lifts = []
        keys.append(model_key(freeze_dims_and_data(model, dims=[d for d in model.coords if d not in OPEN_DIMS], data=[]), "ctx"))
    assert keys[0] is not None and keys[1] == keys[0]


def test_a_lift_file_names_several_geos_or_says_which_is_unknown(synthetic, tmp_path):
    path = tmp_path / "lifts.csv"
    row = "channel,start,end,spend_change,lift,lift_se,geo\nsearch,2023-03-06,2023-04-03,-5000,-4000,900,{}\n"
    path.write_text(row.format("north|east"))
    (test,) = read_lifts(path, synthetic.observed)
    assert test.geos == ["north", "east"]
    path.write_text(row.format("north|atlantis"))
    with pytest.raises(MMMError, match=r"column 'geo'.*'atlantis'.*row 1"):
        read_lifts(path, synthetic.observed)


def _regions(rng: np.random.Generator, periods: int, sizes: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """(period, geo) outcomes: a shared seasonal pattern times each region's size, plus each region's own noise."""
    t = np.arange(periods)
    common = 100.0 * (1 + 0.2 * np.sin(2 * np.pi * t / 52))
    return common[:, None] * sizes[None, :] + rng.normal(0, 1, (periods, len(sizes))) * noise[None, :]


def test_a_geo_split_is_balanced_and_its_standard_error_matches_placebo_tests():
    """With no effect at all, the spread of difference-in-differences lifts over many simulated tests is the stated error."""
    rng = np.random.default_rng(5)
    sizes = np.array([9.0, 7.0, 5.0, 4.0, 3.0, 2.0, 2.0, 1.0])
    noise = np.array([30.0, 8.0, 8.0, 20.0, 3.0, 3.0, 10.0, 1.0])
    pre, measured = 104, 9
    history = _regions(rng, pre, sizes, noise)
    spend = np.tile(sizes, (pre, 1)) * 10.0
    mask = _search(history, spend, measured)
    assert mask is not None
    assert history[:, mask].sum() <= MAX_TREATED_SHARE * history.sum() and (~mask).sum() >= MIN_CONTROL_GEOS
    stated = _se(history, mask, measured)
    # the search beats splitting the regions at random
    random_splits = [m for m in (rng.random((200, len(sizes))) < 0.4) if m.any() and (~m).sum() >= MIN_CONTROL_GEOS]
    ratio = [_se(history, m, measured) / spend[:, m].sum() for m in random_splits if history[:, m].sum() <= 0.5 * history.sum()]
    assert stated / spend[:, mask].sum() <= min(ratio) * 1.05
    lifts, errors = [], []
    for _ in range(600):
        y = _regions(rng, pre + measured, sizes, noise)
        window = np.arange(pre + measured) >= pre
        lift, se, _ = did_lift(y[:, mask].sum(axis=1), y[:, ~mask].sum(axis=1), ~window, window)
        lifts.append(lift)
        errors.append(se)
    # each measurement states its error truly (a little above it: placebos never shrink the regression's error) ...
    assert np.std(lifts) == pytest.approx(np.mean(errors), rel=0.15)
    assert np.std(lifts) == pytest.approx(stated, rel=0.2)  # ... and the design foresaw it from one history
    assert abs(np.mean(lifts)) < 0.35 * stated  # nearly unbiased (noisy controls attenuate the regression a little)


def test_regions_that_drift_apart_get_a_larger_error_from_placebo_tests():
    """Regions whose outcome wanders (a random walk each, as local prices do) fool the regression's own error;
    the placebo tests in the pre-period see most of it (a walk's error keeps growing past what any past
    window shows, so some is left)."""
    rng = np.random.default_rng(11)
    sizes, noise = np.array([6.0, 5.0, 4.0, 3.0, 2.0]), np.full(5, 3.0)
    pre, measured = 104, 13
    mask = np.array([True, False, False, True, False])
    lifts, stated, regression = [], [], []
    for _ in range(300):
        y = _regions(rng, pre + measured, sizes, noise) + np.cumsum(rng.normal(0, 0.8, (pre + measured, 5)), axis=0)
        window = np.arange(pre + measured) >= pre
        treated, control = y[:, mask].sum(axis=1), y[:, ~mask].sum(axis=1)
        lift, se, _ = did_lift(treated, control, ~window, window)
        lifts.append(lift)
        stated.append(se)
        regression.append(se / placebo_factor(treated[~window], control[~window], measured))
    spread = np.std(lifts)
    assert np.mean(regression) < 0.5 * spread  # the regression alone states far too small an error
    assert 0.65 * spread < np.mean(stated) < 1.2 * spread


def test_too_few_regions_give_no_geo_split():
    history = _regions(np.random.default_rng(1), 60, np.array([3.0, 1.0]), np.array([1.0, 1.0]))
    assert _search(history, np.ones_like(history), 6) is None
    assert _search(np.hstack([history, history[:, :1]]), np.zeros((60, 3)), 6) is None  # no spend on the channel


def _geo_design(**change) -> dict:
    design = {
        "channel": "search",
        "kind": "geo",
        "start": "2024-12-30",
        "end": "2025-02-03",
        "spend_change": -140000.0,  # about what the two regions spend on search in 6 weeks
        "geo_share": 0.3,
        "treated_geos": ["region_02", "region_05"],
    }
    return design | change


def test_simulate_runs_a_geo_design_and_measures_it_against_the_control_regions(tmp_path):
    design = tmp_path / "design.json"
    national = _geo_design(kind="holdout", channel="social", treated_geos=None, geo_share=1.0)  # ranked first, not for regions
    design.write_text(json.dumps({"designs": [national, _geo_design()]}))
    result = invoke("simulate", "--scenario", "geo", "--out", tmp_path / "sim", "--test-design", design)
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "sim" / "config.yaml")
    data = load_data(cfg)  # the extended file passes every per-region check
    assert data.n_periods == 104 + 6 + 7  # the test's weeks and its carry-over
    window = pd.date_range("2024-12-30", "2025-02-03", freq="7D")
    search = data.spend.sel({CHANNEL: "search"}).sel({DATE: window})
    assert (search.sel({GEO: ["region_02", "region_05"]}) == 0).all() and (search.sel({GEO: "region_01"}) > 0).all()
    (row,) = read_lifts(tmp_path / "sim" / "lifts.csv", data)
    # as the test ran: the regions withheld what they usually spend (what the difference-in-differences compares with)
    usual = data.spend.sel({CHANNEL: "search", GEO: ["region_02", "region_05"]}).isel({DATE: slice(104 - 13, 104)})
    assert row.geos == ["region_02", "region_05"] and row.spend_change == pytest.approx(-6 * float(usual.sum()) / 13, abs=1.0)
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())["test"]["result"]
    assert abs(row.lift - truth["true_lift"]) < 3 * row.lift_se and truth["true_lift"] < 0


@pytest.mark.parametrize(
    ("change", "scenario", "needle"),
    [
        ({"treated_geos": ["region_02", "atlantis"]}, "geo", "no region named atlantis"),
        ({"channel": "tv"}, "geo", "bought nationally"),
        ({}, "small_business", "run it on a geo scenario"),
        ({"kind": "holdout"}, "geo", "run a geo design on it"),
    ],
)
def test_simulate_refuses_a_geo_design_it_cannot_run(tmp_path, change, scenario, needle):
    """One design object is run as it is; from a plan-test JSON the best design the scenario can run is taken."""
    design = tmp_path / "design.json"
    design.write_text(json.dumps(_geo_design(**change)))
    assert needle in assert_clean_exit_2(invoke("simulate", "--scenario", scenario, "--out", tmp_path / "sim", "--test-design", design))
    design.write_text(json.dumps({"designs": [_geo_design(**change)]}))
    if scenario != "geo":
        assert "holds no holdout or scale_up design" in assert_clean_exit_2(
            invoke("simulate", "--scenario", scenario, "--out", tmp_path / "sim", "--test-design", design)
        )
