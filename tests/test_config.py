"""The YAML config contract: defaults, and errors that name the key and its line."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from mmm.config import Config, load_config, parse_config, with_overrides
from mmm.config.spec import RoasPrior
from mmm.core.errors import ConfigError, DataError, MMMError
from mmm.data.loading import count_parameters
from mmm.model.features import media_transform
from mmm.transforms import ADSTOCKS, SATURATIONS, Param, Prior, Saturation

MINIMAL = """\
data:
  path: data.csv
  date_column: date
  target_column: revenue
channels:
  - name: google_search
    spend_column: google_search_spend
    tier: proven
controls: [price_index]
sampler: {draws: 1000, tune: 1000, chains: 4, seed: 1}
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of `text` that contains `needle`."""
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the YAML text")


def config_error(text: str, source: Path | None = None) -> str:
    """Parse text that must fail; return the ConfigError message."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, source)
    assert info.value.exit_code == 2
    return str(info.value)


def problem_line(message: str, key: str) -> str:
    """The line of a multi-problem message that reports `key`."""
    hits = [ln for ln in message.splitlines() if ln.strip().startswith(key)]
    assert hits, f"no problem reported for {key!r} in:\n{message}"
    return hits[0]


# --- error classes ---------------------------------------------------------------------------


def test_error_classes_exit_with_status_2():
    assert ConfigError.exit_code == 2
    assert DataError.exit_code == 2
    assert issubclass(ConfigError, MMMError) and issubclass(DataError, MMMError)
    assert ConfigError("x").exit_code == 2
    assert DataError("x").exit_code == 2


# --- the minimal config and its defaults ------------------------------------------------------


def test_minimal_config_validates():
    cfg = parse_config(MINIMAL)
    assert isinstance(cfg, Config)
    assert cfg.data.path == "data.csv"
    assert cfg.data.date_column == "date"
    assert cfg.data.target_column == "revenue"
    assert cfg.channel_names == ["google_search"]
    ch = cfg.channels[0]
    assert ch.spend_column == "google_search_spend"
    assert ch.tier == "proven"
    assert cfg.controls == ["price_index"]
    assert (cfg.sampler.draws, cfg.sampler.tune, cfg.sampler.chains, cfg.sampler.seed) == (1000, 1000, 4, 1)


def test_minimal_config_fills_defaults():
    cfg = parse_config(MINIMAL)
    assert cfg.data.frequency == "auto"
    assert cfg.currency == "USD"
    ch = cfg.channels[0]
    assert ch.roas_prior is None
    assert ch.fee_rate == 0.0 and ch.extra_cost == 0.0
    m = cfg.model
    assert m.adstock == "geometric"
    assert m.l_max == 8
    assert m.saturation == "auto" and m.candidates() == [("geometric", "hill"), ("geometric", "logistic")]
    assert m.hill_slope == "fixed"
    assert m.trend == "linear"
    assert m.seasonality_order == 2
    assert m.likelihood == "normal"
    assert m.marketing_share_prior == pytest.approx(0.2)
    assert m.roas_prior_sigma == pytest.approx(1.0)
    s = cfg.sampler
    assert s.backend == "nutpie"
    assert s.target_accept == pytest.approx(0.9)
    assert s.progress is None
    assert cfg.source is None


def test_only_required_keys_fill_every_other_default():
    cfg = parse_config("data: {path: d.csv}\nchannels: [{name: tv, spend_column: tv_spend}]\n")
    assert cfg.data.date_column == "date"
    assert cfg.data.target_column == "revenue"
    assert cfg.channels[0].tier == "proven"
    assert cfg.controls == []
    assert cfg.sampler.draws == "auto" and cfg.sampler.max_draws == 4000 and cfg.sampler.chains == 4


@pytest.mark.parametrize("tier", ["proven", "test", "experimental"])
def test_every_tier_is_accepted(tier):
    cfg = parse_config(MINIMAL.replace("tier: proven", f"tier: {tier}"))
    assert cfg.channels[0].tier == tier


def test_to_yaml_spells_out_defaults_and_round_trips():
    cfg = parse_config(MINIMAL)
    text = cfg.to_yaml()
    dumped = yaml.safe_load(text)
    assert dumped["model"]["adstock"] == "geometric"
    assert dumped["sampler"]["backend"] == "nutpie"
    assert "source" not in dumped
    again = parse_config(text)
    assert again.model_dump() == cfg.model_dump()


# --- unknown keys -----------------------------------------------------------------------------


def test_unknown_key_in_flow_mapping_names_dotted_key_and_line():
    text = MINIMAL.replace("sampler: {draws: 1000, tune: 1000, chains: 4, seed: 1}", "sampler: {draws: 10, drws: 5}")
    msg = config_error(text)
    line = line_of(text, "drws")
    assert line == 10
    reported = problem_line(msg, "sampler.drws")
    assert f"line {line}" in reported
    assert "unknown key" in reported
    # the valid sibling is not reported
    assert "sampler.draws" not in msg


def test_unknown_key_in_block_mapping_names_its_own_line():
    text = MINIMAL + "model:\n  adstock: geometric\n  seasonalty_order: 3\n"
    msg = config_error(text)
    reported = problem_line(msg, "model.seasonalty_order")
    assert f"line {line_of(text, 'seasonalty_order')}" in reported
    assert "unknown key" in reported


def test_unknown_key_inside_a_channel_names_channel_index_and_name():
    text = MINIMAL.replace("    tier: proven\n", "    tier: proven\n    spend_colum: x\n")
    msg = config_error(text)
    assert "channels[0]" in msg
    assert "google_search" in msg
    assert "spend_colum" in msg
    assert f"line {line_of(text, 'spend_colum:')}" in msg


def test_unknown_top_level_key():
    text = MINIMAL + "samplr: {draws: 10}\n"
    msg = config_error(text)
    reported = problem_line(msg, "samplr")
    assert f"line {line_of(text, 'samplr')}" in reported
    assert "unknown key" in reported


# --- wrong types and out-of-range values ----------------------------------------------------


def test_wrong_type_names_key_and_line():
    text = MINIMAL.replace("sampler: {draws: 1000, tune: 1000, chains: 4, seed: 1}", "sampler:\n  tune: 500\n  draws: many\n")
    msg = config_error(text)
    reported = problem_line(msg, "sampler.draws")
    assert f"line {line_of(text, 'draws: many')}" in reported
    assert "integer" in reported


def test_wrong_type_in_flow_mapping():
    text = MINIMAL.replace("draws: 1000", "draws: many")
    msg = config_error(text)
    assert f"line {line_of(text, 'draws: many')}" in problem_line(msg, "sampler.draws")


def test_channels_must_be_a_list():
    text = MINIMAL.replace(
        "channels:\n  - name: google_search\n    spend_column: google_search_spend\n    tier: proven\n",
        "channels: google_search\n",
    )
    msg = config_error(text)
    reported = problem_line(msg, "channels")
    assert f"line {line_of(text, 'channels:')}" in reported
    assert "list" in reported


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("draws: 1000", "draws: 5", "sampler.draws"),
        ("chains: 4", "chains: 0", "sampler.chains"),
        ("chains: 4", "chains: 17", "sampler.chains"),
    ],
)
def test_out_of_range_sampler_values(old, new, key):
    text = MINIMAL.replace(old, new)
    msg = config_error(text)
    assert f"line {line_of(text, new)}" in problem_line(msg, key)


@pytest.mark.parametrize(
    "setting, key",
    [
        ("seasonality_order: 11", "model.seasonality_order"),
        ("l_max: 0", "model.l_max"),
        ("marketing_share_prior: 1.5", "model.marketing_share_prior"),
        ("adstock: exponential", "model.adstock"),
        ("likelihood: poisson", "model.likelihood"),
    ],
)
def test_invalid_model_values(setting, key):
    text = MINIMAL + f"model:\n  {setting}\n"
    msg = config_error(text)
    assert f"line {line_of(text, setting)}" in problem_line(msg, key)


def test_negative_fee_rate_is_rejected():
    text = MINIMAL.replace("    tier: proven\n", "    tier: proven\n    fee_rate: -0.1\n")
    msg = config_error(text)
    assert "fee_rate" in msg
    assert f"line {line_of(text, 'fee_rate')}" in msg


def test_invalid_frequency():
    text = MINIMAL.replace("  target_column: revenue\n", "  target_column: revenue\n  frequency: monthly\n")
    msg = config_error(text)
    assert f"line {line_of(text, 'frequency')}" in problem_line(msg, "data.frequency")


# --- missing required keys --------------------------------------------------------------------


def test_missing_data_path_is_named():
    text = MINIMAL.replace("  path: data.csv\n", "")
    msg = config_error(text)
    reported = problem_line(msg, "data.path")
    assert "required key is missing" in reported
    # reported at the line of the enclosing 'data:' key
    assert f"line {line_of(text, 'data:')}" in reported


def test_missing_channels_is_named():
    text = MINIMAL.replace("channels:\n  - name: google_search\n    spend_column: google_search_spend\n    tier: proven\n", "")
    msg = config_error(text)
    reported = problem_line(msg, "channels")
    assert "required key is missing" in reported


def test_missing_data_section_is_named():
    text = "channels: [{name: tv, spend_column: tv_spend}]\n"
    msg = config_error(text)
    assert "required key is missing" in problem_line(msg, "data")


def test_empty_channel_list_is_rejected():
    text = "data: {path: d.csv}\nchannels: []\n"
    msg = config_error(text)
    assert "channels" in msg
    assert "line 2" in msg


def test_missing_channel_spend_column_is_named():
    text = MINIMAL.replace("    spend_column: google_search_spend\n", "")
    msg = config_error(text)
    reported = problem_line(msg, "channels[0]")
    assert "spend_column" in reported
    assert "google_search" in reported
    assert "required key is missing" in reported


def test_all_problems_are_reported_at_once():
    text = MINIMAL.replace("tier: proven", "tier: gold").replace("draws: 1000", "draws: many")
    text += "extra_key: 1\n"
    msg = config_error(text)
    assert "channels[0]" in msg and "tier" in msg
    assert "sampler.draws" in msg
    assert "extra_key" in msg
    assert len([ln for ln in msg.splitlines() if re.search(r"\(line \d+\)", ln)]) == 3


# --- tiers and channel names ------------------------------------------------------------------


def test_invalid_tier_names_channel_line_and_allowed_values():
    text = MINIMAL.replace("tier: proven", "tier: gold")
    msg = config_error(text)
    reported = problem_line(msg, "channels[0]")
    assert "google_search" in reported
    assert ".tier" in reported
    assert f"line {line_of(text, 'tier: gold')}" in reported
    for allowed in ("proven", "test", "experimental"):
        assert allowed in reported


def test_invalid_tier_in_second_channel_names_that_channel():
    text = MINIMAL.replace(
        "    tier: proven\n",
        "    tier: proven\n  - name: meta\n    spend_column: meta_spend\n    tier: maybe\n",
    )
    msg = config_error(text)
    reported = problem_line(msg, "channels[1]")
    assert "meta" in reported
    assert f"line {line_of(text, 'tier: maybe')}" in reported
    assert "channels[0]" not in msg


def test_duplicate_channel_names_are_rejected():
    text = MINIMAL.replace(
        "    tier: proven\n",
        "    tier: proven\n  - name: google_search\n    spend_column: other_spend\n",
    )
    msg = config_error(text)
    assert "unique" in msg
    assert "google_search" in msg
    assert f"channels (line {line_of(text, 'channels:')})" in msg  # a check across keys points at its key


def test_a_check_across_keys_names_the_key_and_its_line():
    text = MINIMAL.replace("  target_column: revenue\n", "  target_column: revenue\n  population_column: people\n")
    assert f"data.population_column (line {line_of(text, 'population_column')})" in config_error(text)
    text = MINIMAL.replace("  target_column: revenue\n", "  target_column: revenue\n  value_per_conversion: 3\n")
    assert f"data.value_per_conversion (line {line_of(text, 'value_per_conversion')})" in config_error(text)
    text = MINIMAL + "seed: 1\nseed: 2\n"
    last = line_of(text, "seed: 2")
    assert f"seed (lines {last - 1}, {last})" in config_error(text)


def test_distinct_channel_names_are_fine():
    text = MINIMAL.replace(
        "    tier: proven\n",
        "    tier: proven\n  - name: meta\n    spend_column: meta_spend\n    tier: test\n",
    )
    cfg = parse_config(text)
    assert cfg.channel_names == ["google_search", "meta"]
    assert [c.tier for c in cfg.channels] == ["proven", "test"]


@pytest.mark.parametrize("bad", ["'google search'", "'tv/radio'", "''"])
def test_channel_names_must_be_identifiers(bad):
    text = MINIMAL.replace("name: google_search", f"name: {bad}")
    msg = config_error(text)
    assert "channels[0]" in msg
    assert "name" in msg
    assert f"line {line_of(text, 'name: ')}" in msg


# --- files and YAML syntax --------------------------------------------------------------------


def test_config_file_not_found(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.exit_code == 2
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_config_path_that_is_a_folder_is_not_found(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(MINIMAL.replace("seed: 1}", "seed: 1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "broken.yaml" in msg
    assert "not valid YAML" in msg
    assert re.search(r"line \d+", msg)


def test_yaml_bad_indentation_is_a_config_error():
    msg = config_error("data:\n  path: d.csv\n   date_column: date\nchannels: []\n")
    assert "not valid YAML" in msg


@pytest.mark.parametrize("text", ["", "- data\n- channels\n", "just a string\n", "42\n"])
def test_config_must_be_a_mapping(text):
    msg = config_error(text)
    assert "mapping" in msg


def test_load_config_reads_file_and_records_source(tmp_path):
    path = tmp_path / "mmm.yaml"
    path.write_text(MINIMAL)
    cfg = load_config(path)
    assert cfg.source == path.resolve()
    assert cfg.data_path() == path.resolve().parent / "data.csv"
    assert cfg.channel_names == ["google_search"]


def test_load_config_accepts_str_path(tmp_path):
    path = tmp_path / "mmm.yaml"
    path.write_text(MINIMAL)
    assert load_config(str(path)).data.path == "data.csv"


def test_errors_from_a_file_name_that_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL.replace("draws: 1000", "draws: many"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert msg.startswith(str(path.resolve()))
    assert "sampler.draws (line 10)" in msg


def test_parse_config_labels_errors_with_source():
    msg = config_error(MINIMAL.replace("tier: proven", "tier: gold"), Path("configs/shop.yaml"))
    assert msg.startswith(str(Path("configs/shop.yaml")))


def test_absolute_data_path_is_kept(tmp_path):
    data = tmp_path / "elsewhere" / "d.csv"
    path = tmp_path / "mmm.yaml"
    path.write_text(MINIMAL.replace("path: data.csv", f"path: {data}"))
    assert load_config(path).data_path() == data


# --- ROAS priors ------------------------------------------------------------------------------


def test_roas_prior_is_parsed_from_yaml():
    text = MINIMAL.replace("    tier: proven\n", "    tier: proven\n    roas_prior: {mean: 2.5, sd: 1.0}\n")
    prior = parse_config(text).channels[0].roas_prior
    assert isinstance(prior, RoasPrior)
    assert (prior.mean, prior.sd) == (2.5, 1.0)


@pytest.mark.parametrize("mean, sd", [(2.5, 1.0), (0.3, 0.05), (1.0, 2.0), (4.0, 4.0)])
def test_roas_prior_lognormal_matches_mean_and_sd_by_formula(mean, sd):
    mu, sigma = RoasPrior(mean=mean, sd=sd).lognormal_params()
    assert sigma > 0
    ln_mean = math.exp(mu + sigma**2 / 2)
    ln_sd = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    assert ln_mean == pytest.approx(mean, rel=1e-12)
    assert ln_sd == pytest.approx(sd, rel=1e-12)


def test_roas_prior_lognormal_matches_mean_and_sd_by_sampling():
    mean, sd = 2.0, 0.8
    mu, sigma = RoasPrior(mean=mean, sd=sd).lognormal_params()
    draws = np.random.default_rng(7).lognormal(mu, sigma, size=1_000_000)
    assert draws.min() > 0
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    assert draws.std() == pytest.approx(sd, rel=0.02)


@pytest.mark.parametrize("prior, key", [("{mean: -1, sd: 1}", "mean"), ("{mean: 2, sd: 0}", "sd")])
def test_roas_prior_must_be_positive(prior, key):
    text = MINIMAL.replace("    tier: proven\n", f"    tier: proven\n    roas_prior: {prior}\n")
    msg = config_error(text)
    reported = problem_line(msg, "channels[0]")
    assert f"roas_prior.{key}" in reported
    assert f"line {line_of(text, 'roas_prior')}" in reported


def test_roas_prior_unknown_key():
    text = MINIMAL.replace("    tier: proven\n", "    tier: proven\n    roas_prior:\n      mean: 2\n      sd: 1\n      median: 2\n")
    msg = config_error(text)
    reported = problem_line(msg, "channels[0]")
    assert "roas_prior.median" in reported
    assert f"line {line_of(text, 'median')}" in reported
    assert "unknown key" in reported


# --- registered transform components ----------------------------------------------------------


@pytest.mark.parametrize(
    "key, name", [("adstock", "geometric"), ("adstock", "weibull"), ("saturation", "hill"), ("saturation", "logistic")]
)
def test_every_registered_component_name_is_accepted(key, name):
    registry = ADSTOCKS if key == "adstock" else SATURATIONS
    assert name in registry
    cfg = parse_config(MINIMAL + f"model:\n  {key}: {name}\n")
    assert getattr(cfg.model, key) == name
    # the accepted name builds that very component
    media = media_transform(cfg.model)
    assert type(getattr(media, key)) is registry[name]


@pytest.mark.parametrize("key, known", [("adstock", "geometric, weibull"), ("saturation", "hill, logistic")])
def test_unknown_component_names_the_key_line_and_choices(key, known):
    text = MINIMAL + f"model:\n  trend: true\n  {key}: wiggly\n"
    msg = config_error(text)
    reported = problem_line(msg, f"model.{key}")
    assert f"line {line_of(text, 'wiggly')}" in reported
    assert f"unknown {key} 'wiggly'" in reported
    assert known in reported


class _TanhSaturation(Saturation):
    """A curve registered by a test: tanh(x / scale)."""

    name = "tanh"
    description = "tanh curve"
    params = (Param("tanh_scale", "saturation scale", Prior("LogNormal", {"mu": 0.0, "sigma": 0.5})),)

    def saturate(self, x, params, xp):
        return xp.tanh(x / params["tanh_scale"][..., None, :])


def test_a_newly_registered_component_round_trips_through_the_config(monkeypatch):
    text = MINIMAL + "model:\n  saturation: tanh\n"
    assert "unknown saturation 'tanh'" in config_error(text)  # not known before it is registered
    monkeypatch.setitem(SATURATIONS, "tanh", _TanhSaturation)
    cfg = parse_config(text)
    assert cfg.model.saturation == "tanh"
    again = parse_config(cfg.to_yaml())  # the written config reads back to the same spec
    assert again.model == cfg.model
    media = media_transform(again.model)
    assert isinstance(media.saturation, _TanhSaturation)
    assert [p.name for p in media.params] == ["adstock_alpha", "tanh_scale"]
    # data validation counts its one parameter, like the logistic curve's
    assert count_parameters(cfg, 0) == count_parameters(parse_config(MINIMAL + "model:\n  saturation: logistic\n"), 0)
    # the slope the optimiser uses comes from the new formula, with no hand-written derivative
    x = np.linspace(0.1, 3.0, 7)[:, None]
    params = {"tanh_scale": np.array([1.5])}
    np.testing.assert_allclose(media.saturation.slope(x, params), (1 - np.tanh(x / 1.5) ** 2) / 1.5, rtol=1e-12)


# --- overrides and immutability ---------------------------------------------------------------


def test_with_overrides_gives_a_new_validated_config(tmp_path):
    path = tmp_path / "mmm.yaml"
    path.write_text(MINIMAL)
    cfg = load_config(path)
    changed = with_overrides(cfg, {"sampler.draws": 200, "sampler.chains": 2, "model.saturation": "logistic", "currency": None})
    assert (changed.sampler.draws, changed.sampler.chains, changed.model.saturation) == (200, 2, "logistic")
    assert changed.sampler.tune == cfg.sampler.tune and changed.currency == cfg.currency  # None leaves a key alone
    assert changed.source == cfg.source and changed.data_path() == cfg.data_path()
    assert (cfg.sampler.draws, cfg.sampler.chains, cfg.model.saturation) == (1000, 4, "auto")  # the original is unchanged
    assert with_overrides(cfg, {}) is cfg


def test_with_overrides_rejects_a_bad_value_like_the_file_and_names_the_override():
    file_msg = config_error(MINIMAL.replace("draws: 1000", "draws: 5"))
    file_problem = problem_line(file_msg, "sampler.draws")
    cfg = parse_config(MINIMAL)
    with pytest.raises(ConfigError) as info:
        with_overrides(cfg, {"sampler.draws": 5})
    assert info.value.exit_code == 2
    override_problem = problem_line(str(info.value), "sampler.draws")
    # the same complaint, with the override where the file has its line
    assert file_problem.split("): ", 1)[1] == override_problem.split("): ", 1)[1]
    assert "must be 'auto' or an integer number of draws, 10 or more, not 5" in override_problem
    assert "(set by override)" in override_problem
    assert "line" not in override_problem
    with pytest.raises(ConfigError, match=r"sampler\.draws \(set by --draws\): must be 'auto' or an integer number of draws, 10 or more"):
        with_overrides(cfg, {"sampler.draws": 5}, {"sampler.draws": "--draws"})


def test_with_overrides_rejects_unknown_component_names():
    with pytest.raises(ConfigError, match=r"model\.adstock \(set by override\): unknown adstock 'wiggly'"):
        with_overrides(parse_config(MINIMAL), {"model.adstock": "wiggly"})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: setattr(c, "currency", "EUR"),
        lambda c: setattr(c.sampler, "draws", 5),
        lambda c: setattr(c.model, "saturation", "logistic"),
        lambda c: setattr(c.channels[0], "tier", "test"),
        lambda c: setattr(c.channels[0].roas_prior, "mean", 9.0),
    ],
    ids=["top-level", "sampler", "model", "channel", "roas_prior"],
)
def test_a_config_cannot_be_mutated(mutate):
    cfg = parse_config(MINIMAL.replace("    tier: proven\n", "    tier: proven\n    roas_prior: {mean: 2.5, sd: 1.0}\n"))
    before = cfg.model_dump()
    with pytest.raises(ValidationError, match="frozen"):
        mutate(cfg)
    assert cfg.model_dump() == before


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ("controls", "a control is column 'revenue', which is the data.target_column"),
        ("spend_column: search_spend", "channel search's spend_column is column 'revenue', which is the data.target_column"),
        ("min_max", "min_weekly_spend 5,000.00 is above max_weekly_spend 100.00"),
    ],
)
def test_a_column_plays_one_part_and_limits_are_ordered(tmp_path, edit, needle):
    text = Path("configs/demo.yaml").read_text()
    if edit == "min_max":
        text = text.replace("tier: proven", "tier: proven\n    min_weekly_spend: 5000\n    max_weekly_spend: 100", 1)
    elif edit == "controls":
        text = text.replace("controls: [price_index]", "controls: [revenue, price_index]", 1)
    else:
        text = text.replace(edit, "spend_column: revenue", 1)
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value)
