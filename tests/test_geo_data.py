"""Data by region (long format, `data.geo_column`): loading, the split of nationally bought channels, every
per-geo validation error (exit status 2 via `mmm validate`), lift tests by geo and the geo simulation. No MCMC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import assert_clean_exit_2, invoke

from mmm.config import load_config
from mmm.core.errors import DataError, MMMError
from mmm.data.dataset import ModelData
from mmm.data.lifts import read_lifts, write_lifts
from mmm.data.loading import load_data
from mmm.data.refresh import refresh_data
from mmm.simulation.geo_scenarios import geo_shape, simulate_geo

GEOS = [f"region_{i:02d}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def sim() -> tuple[pd.DataFrame, dict, dict]:
    """The default geo scenario: 6 regions x 104 weeks x 4 channels, tv bought nationally."""
    return simulate_geo("geo")


def write(folder: Path, df: pd.DataFrame, config: dict, data_name: str = "data.csv", **data_keys: object) -> Path:
    """df (CSV or Parquet by suffix) and the config next to it, with data.path and `data_keys` set; the config's path."""
    folder.mkdir(parents=True, exist_ok=True)
    if data_name.endswith(".parquet"):
        df.to_parquet(folder / data_name, index=False)
    else:
        df.to_csv(folder / data_name, index=False)
    spec = json.loads(json.dumps(config))
    spec["data"].update({"path": data_name, **data_keys})
    for key, value in data_keys.items():
        if value is None:
            spec["data"].pop(key)
    path = folder / "mmm.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def load(folder: Path, df: pd.DataFrame, config: dict, **kw: object) -> ModelData:
    return load_data(load_config(write(folder, df, config, **kw)))


def validate_fails(folder: Path, df: pd.DataFrame, config: dict, *expected: str, **kw: object) -> str:
    """`mmm validate` on df must exit 2 with a message naming the file and every `expected` piece."""
    path = write(folder, df, config, **kw)
    text = assert_clean_exit_2(invoke("validate", path))
    flat = " ".join(text.split())
    assert str(folder / "data.csv") in flat, text
    for piece in expected:
        assert piece in flat, f"{piece!r} not in: {text}"
    return flat


# --- loading ----------------------------------------------------------------------------------


def test_long_csv_loads_sorted_by_date_then_geo_with_population(tmp_path, sim):
    df, truth, config = sim
    data = load(tmp_path, df, config)
    assert data.geos == GEOS
    assert data.channels == ["search", "social", "tv", "video"]
    assert data.target.shape == (104, 6) and data.spend.shape == (104, 6, 4) and data.controls.shape == (104, 6, 1)
    assert data.dates.is_monotonic_increasing and data.n_periods == 104
    for geo in GEOS:
        rows = df[df["geo"] == geo]
        np.testing.assert_allclose(data.target.sel(geo=geo), rows["revenue"])
        np.testing.assert_allclose(data.spend.sel(geo=geo, channel="search"), rows["search_spend"])
        np.testing.assert_allclose(data.controls.sel(geo=geo, control="price_index"), rows["price_index"])
        assert float(data.population.sel(geo=geo)) == truth["geos"][geo]["population"]
        for ch in data.channels:  # the loader's split is the simulation's truth, nationally bought tv included
            assert float(data.spend.sel(geo=geo, channel=ch).sum()) == pytest.approx(truth["geos"][geo]["channels"][ch]["spend"])
    assert data.population.dims == ("geo",)
    assert data.warnings == ()


def test_national_channel_is_split_by_population_and_adds_up_to_the_national_total(tmp_path, sim):
    df, _, config = sim
    data = load(tmp_path, df, config)
    national = df.groupby("date")["tv_spend"].first().to_numpy()
    np.testing.assert_allclose(data.spend.sel(channel="tv").sum("geo"), national, rtol=1e-12)
    share = data.population / data.population.sum()
    np.testing.assert_allclose(data.spend.sel(channel="tv"), national[:, None] * share.values[None, :])
    assert any("tv was bought nationally; split to the 6 geos by population" in n for n in data.notes)


def test_national_channel_given_on_one_row_per_date_reads_the_same(tmp_path, sim):
    df, _, config = sim
    once = df.copy()
    once.loc[once["geo"] != "region_03", "tv_spend"] = np.nan  # blank except in one region
    a = load(tmp_path / "a", df, config)
    b = load(tmp_path / "b", once, config)
    np.testing.assert_array_equal(a.spend.values, b.spend.values)


def test_without_population_a_national_channel_is_split_equally_and_says_so(tmp_path, sim):
    df, _, config = sim
    data = load(tmp_path, df.drop(columns="population"), config, population_column=None)
    assert data.population is None and "population" not in data.inputs
    national = df.groupby("date")["tv_spend"].first().to_numpy()
    np.testing.assert_allclose(data.spend.sel(channel="tv"), np.repeat(national[:, None] / 6, 6, axis=1))
    assert any("split to the 6 geos equally (no data.population_column" in n for n in data.notes)


def test_parquet_and_shuffled_rows_give_the_same_data(tmp_path, sim):
    df, _, config = sim
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    csv = load(tmp_path / "csv", df, config)
    pq = load(tmp_path / "pq", shuffled, config, data_name="data.parquet")
    xr_equal = csv.inputs.equals(pq.inputs)
    assert xr_equal
    assert csv.frequency == pq.frequency == "weekly"


def test_national_file_loads_exactly_as_before(tmp_path):
    """No geo column: one geo, 'national', the file's numbers unchanged, no population."""
    df, _, config = simulate_geo("geo")
    national = df[df["geo"] == "region_01"].drop(columns=["geo", "population"]).reset_index(drop=True)
    config = {**config, "channels": [{k: v for k, v in c.items() if k != "national"} for c in config["channels"]]}
    data = load(tmp_path, national, config, geo_column=None, population_column=None)
    assert data.geos == ["national"] and data.population is None
    assert list(data.inputs.data_vars) == ["target", "spend", "controls"]
    np.testing.assert_array_equal(data.target_series(), national["revenue"].to_numpy())
    np.testing.assert_array_equal(data.spend_matrix(), national[[f"{c}_spend" for c in data.channels]].to_numpy())
    expected = ModelData.from_arrays(
        data.dates, "weekly", national["revenue"], national[[f"{c}_spend" for c in data.channels]].to_numpy(), data.channels,
        national[["price_index"]].to_numpy(), ["price_index"],
    )  # fmt: skip
    assert data.inputs.equals(expected.inputs)


# --- config --------------------------------------------------------------------------------


def test_population_or_national_without_a_geo_column_is_a_config_error(tmp_path, sim):
    df, _, config = sim
    path = write(tmp_path / "pop", df, config, geo_column=None)
    assert "data.population_column applies to data by region" in assert_clean_exit_2(invoke("validate", path))
    path = write(tmp_path / "nat", df, config, geo_column=None, population_column=None)
    assert "tv are marked national: true" in " ".join(assert_clean_exit_2(invoke("validate", path)).split())


# --- validation per geo: exit status 2 naming file, column, geo and rows -------------------


def test_duplicate_date_and_geo(tmp_path, sim):
    df, _, config = sim
    bad = pd.concat([df, df.iloc[[5]]], ignore_index=True)  # region_01's 6th week twice: rows 6 and 625
    validate_fails(tmp_path, bad, config, "column 'date'", "geo 'region_01'", "2023-02-06", "rows 6, 625", "appear once")


def test_gap_inside_a_geo(tmp_path, sim):
    df, _, config = sim
    bad = df.drop(index=df.index[(df["geo"] == "region_04") & (df["date"] == "2023-05-01")]).reset_index(drop=True)
    validate_fails(tmp_path, bad, config, "column 'date'", "geo 'region_04'", "a gap of 14 days", "(2023-04-24)", "(2023-05-08)")


def test_geo_missing_dates_the_others_have(tmp_path, sim):
    df, _, config = sim
    late = (df["geo"] == "region_02") & (df["date"] < "2023-01-23")  # starts three weeks after the others
    validate_fails(
        tmp_path, df[~late].reset_index(drop=True), config, "geo 'region_02'", "no rows for 3 weekly period(s)", "2023-01-02", "same dates"
    )


def test_geo_with_zero_target_throughout(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    bad.loc[bad["geo"] == "region_05", "revenue"] = 0.0
    validate_fails(tmp_path, bad, config, "column 'revenue'", "geo 'region_05'", "0 in every period", "rows 417, 418")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "not above 0"), (-5, "not above 0"), (np.nan, "population missing"), ("many", "not a number")],
)
def test_bad_population(tmp_path, sim, value, expected):
    df, _, config = sim
    bad = df.copy().astype({"population": object})
    bad.loc[bad.index[(bad["geo"] == "region_03")][:2], "population"] = value
    validate_fails(tmp_path, bad, config, "column 'population'", "geo 'region_03'", expected, "rows 209, 210")


def test_population_that_changes_within_a_geo(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    row = bad.index[bad["geo"] == "region_06"][-1]
    bad.loc[row, "population"] += 1000
    usual, odd = (f"{v:,.0f}" for v in (df.loc[row, "population"], bad.loc[row, "population"]))
    validate_fails(
        tmp_path,
        bad,
        config,
        "column 'population'",
        "geo 'region_06'",
        f"differs between its rows: {usual} on most, but {odd} on row {row + 1};",
    )


def test_national_channel_rows_that_disagree(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    row = bad.index[(bad["geo"] == "region_02") & (bad["tv_spend"] > 0)][0]
    bad.loc[row, "tv_spend"] += 100
    date = bad.loc[row, "date"]
    validate_fails(
        tmp_path, bad, config, "column 'tv_spend'", "bought nationally", f"rows of {date} disagree", f"{row + 1},", "same national figure"
    )


def test_national_channel_without_a_figure_for_a_date(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    bad.loc[bad["date"] == "2023-03-06", "tv_spend"] = np.nan
    validate_fails(tmp_path, bad, config, "column 'tv_spend'", "no row gives its spend for 2023-03-06")


def test_negative_spend_names_the_geo(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    bad.loc[bad.index[bad["geo"] == "region_02"][3], "search_spend"] = -10
    validate_fails(tmp_path, bad, config, "column 'search_spend'", "geo 'region_02'", "row 108", "negative spend")


def test_every_problem_of_a_geo_file_is_named_at_once(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    bad.loc[bad.index[bad["geo"] == "region_02"][3], "search_spend"] = -10
    bad["revenue"] = bad["revenue"].astype(object)
    bad.loc[5, "revenue"] = "n/a"
    bad.loc[bad["date"] == "2023-03-06", "tv_spend"] = np.nan
    validate_fails(tmp_path, bad, config, "3 problems to fix", "column 'revenue'", "row 6", "negative spend", "column 'tv_spend'")


def test_missing_geo_cell(tmp_path, sim):
    df, _, config = sim
    bad = df.copy()
    bad.loc[7, "geo"] = None
    validate_fails(tmp_path, bad, config, "column 'geo'", "row 8", "missing values")


def test_geo_with_few_periods_of_sales_is_a_warning_not_an_error(tmp_path, sim):
    df, _, config = sim
    thin = df.copy()
    quiet = thin.index[thin["geo"] == "region_06"][:80]
    thin.loc[quiet, "revenue"] = 0.0
    path = write(tmp_path, thin, config)
    result = invoke("validate", path, "--output-json", tmp_path / "v.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "v.json").read_text())
    assert any("geo 'region_06'" in w and "only 24 of 104 periods" in w for w in report["warnings"])
    checks = {c["name"]: c for c in report["review"]["checks"]}
    assert checks["geo_sales"]["status"] == "REVIEW" and "'region_06' (23%)" in checks["geo_sales"]["message"]


def test_validate_reports_geos_and_per_geo_checks(tmp_path, sim):
    df, truth, config = sim
    path = write(tmp_path, df, config)
    result = invoke("validate", path, "--output-json", tmp_path / "v.json")
    assert result.exit_code == 0, result.output
    assert "Geos (6)" in result.output
    report = json.loads((tmp_path / "v.json").read_text())
    assert list(report["geos"]) == GEOS
    first = report["geos"]["region_01"]
    assert first["population"] == truth["geos"]["region_01"]["population"]
    assert first["target_total"] == pytest.approx(truth["geos"]["region_01"]["revenue"])
    assert sum(g["target_share"] for g in report["geos"].values()) == pytest.approx(1.0)
    names = [c["name"] for c in report["review"]["checks"]]
    assert {"geo_sales", "geo_active_periods", "geo_spend_correlation", "geo_split_variation"} <= set(names)
    split = next(c for c in report["review"]["checks"] if c["name"] == "geo_split_variation")
    assert "'tv'" in split["message"] and "'search'" not in split["message"]


def test_national_validate_json_has_no_geo_keys(tmp_path, sim):
    df, _, config = sim
    national = df[df["geo"] == "region_01"].drop(columns=["geo", "population"])
    config = {**config, "channels": [{k: v for k, v in c.items() if k != "national"} for c in config["channels"]]}
    path = write(tmp_path, national, config, geo_column=None, population_column=None)
    assert invoke("validate", path, "--output-json", tmp_path / "v.json").exit_code == 0
    report = json.loads((tmp_path / "v.json").read_text())
    assert "geos" not in report and not any(c["name"].startswith("geo_") for c in report["review"]["checks"])


def test_refitting_geo_data_is_refused_clearly(tmp_path, sim):
    df, _, config = sim
    cfg = load_config(write(tmp_path, df, config))
    with pytest.raises(DataError, match="does not handle data by geo"):
        refresh_data(cfg, load_data(cfg))


# --- lift tests by geo ---------------------------------------------------------------------


def _lift_file(folder: Path, geo: str | None) -> Path:
    row = {"channel": "search", "start": "2023-06-05", "end": "2023-07-10", "spend_change": 6000.0, "lift": 9000.0, "lift_se": 2000.0}
    path = folder / "lifts.csv"
    pd.DataFrame([{**row, **({"geo": geo} if geo is not None else {})}]).to_csv(path, index=False)
    return path


def test_lift_test_in_a_geo_reads_and_round_trips(tmp_path, sim):
    df, _, config = sim
    data = load(tmp_path, df, config)
    (test,) = read_lifts(_lift_file(tmp_path, "region_04"), data)
    assert test.geo == "region_04"
    (whole,) = read_lifts(_lift_file(tmp_path, None), data)
    assert whole.geo is None
    again = read_lifts(write_lifts(tmp_path / "again.csv", [test, whole]), data)
    assert [t.geo for t in again] == ["region_04", None]


def test_lift_test_adding_more_than_its_geo_recorded_is_an_error(tmp_path, sim):
    """The data hold the test, so a geo must record at least the spend a test added there."""
    df, _, config = sim
    data = load(tmp_path, df, config)
    recorded = float(data.spend.sel(geo="region_06", channel="search").sel(date=slice("2023-06-05", "2023-07-10")).sum())
    row = {"channel": "search", "start": "2023-06-05", "end": "2023-07-10", "lift": 500.0, "lift_se": 200.0, "geo": "region_06"}
    path = tmp_path / "lifts.csv"
    pd.DataFrame([{**row, "spend_change": recorded * 1.5}]).to_csv(path, index=False)
    with pytest.raises(MMMError, match=r"row 1 adds .* the data record only .* in its geo"):
        read_lifts(path, data)
    pd.DataFrame([{**row, "spend_change": recorded * 0.9}]).to_csv(path, index=False)
    assert read_lifts(path, data)[0].spend_change == pytest.approx(recorded * 0.9)


def test_a_simulated_regional_test_of_a_channel_bought_nationally_is_refused(tmp_path):
    text = assert_clean_exit_2(invoke("simulate", "--scenario", "geo_4x60x3", "--out", tmp_path / "sim", "--lifts", "tv"))
    assert "tv is bought nationally" in text and not (tmp_path / "sim").exists()


def test_unknown_geo_in_a_lift_file(tmp_path, sim):
    df, _, config = sim
    data = load(tmp_path, df, config)
    with pytest.raises(MMMError) as info:
        read_lifts(_lift_file(tmp_path, "atlantis"), data)
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "lifts.csv, column 'geo': unknown geo 'atlantis' in row 1" in msg and "region_01" in msg


def test_geo_in_a_lift_file_for_national_data(tmp_path, sim):
    df, _, config = sim
    national = df[df["geo"] == "region_01"].drop(columns=["geo", "population"])
    config = {**config, "channels": [{k: v for k, v in c.items() if k != "national"} for c in config["channels"]]}
    data = load(tmp_path, national, config, geo_column=None, population_column=None)
    with pytest.raises(MMMError, match="the data are national"):
        read_lifts(_lift_file(tmp_path, "region_01"), data)


# --- the geo simulation ----------------------------------------------------------------------


def test_geo_scenario_writes_long_data_truth_and_a_config_that_loads(tmp_path):
    out = tmp_path / "sim"
    result = invoke("simulate", "--scenario", "geo_4x60x3", "--out", out, "--lifts", "search")
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out / "data.csv")
    assert len(df) == 4 * 60 and set(df.columns) >= {"date", "geo", "population", "revenue", "tv_spend", "price_index"}
    truth = json.loads((out / "truth.json").read_text())
    assert truth["shape"] == {"geos": 4, "weeks": 60, "channels": 3}
    assert list(truth["geos"]) == [f"region_{i:02d}" for i in range(1, 5)]
    for ch, national in truth["channels"].items():
        geos = [g["channels"][ch] for g in truth["geos"].values()]
        # national ROAS: the regions' contributions over their spend
        assert national["roas"] == pytest.approx(sum(g["contribution"] for g in geos) / sum(g["spend"] for g in geos))
        assert len({round(g["roas"], 6) for g in geos}) == 4  # each region its own ROAS
    assert truth["channels"]["tv"]["national"] is True
    populations = [g["population"] for g in truth["geos"].values()]
    baselines = [g["baseline"] for g in truth["geos"].values()]
    assert np.corrcoef(populations, baselines)[0, 1] > 0.99  # baselines in proportion to population
    cfg = load_config(out / "config.yaml")
    assert cfg.data.geo_column == "geo" and cfg.data.population_column == "population"
    data = load_data(cfg)
    assert data.target.shape == (60, 4)
    (lift,) = read_lifts(out / "lifts.csv", data)
    assert lift.geo == truth["lift_tests"][0]["geo"]


def test_geo_scenario_is_deterministic_and_seeded():
    a, ta, _ = simulate_geo("geo_20x104x5")
    b, tb, _ = simulate_geo("geo_20x104x5")
    c, _, _ = simulate_geo("geo_20x104x5", seed=99)
    pd.testing.assert_frame_equal(a, b)
    assert json.dumps(ta) == json.dumps(tb)
    assert not a["revenue"].equals(c["revenue"])
    assert a.shape[0] == 20 * 104 and a["geo"].nunique() == 20
    assert geo_shape("geo_40x156x5").geos == 40 and geo_shape("geo").name == "geo"


@pytest.mark.parametrize("name", ["geo_0x104x5", "geo_5x10x3", "geo_5x104x99"])
def test_out_of_range_geo_scenario_is_refused(tmp_path, name):
    text = assert_clean_exit_2(invoke("simulate", "--scenario", name, "--out", tmp_path / "x"))
    assert "out of range" in text
    assert not (tmp_path / "x").exists()
