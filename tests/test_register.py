"""The registers are the only place thresholds and method parameters live."""

import re
from pathlib import Path

import pytest

from spse.core import register

SPSE = Path(__file__).resolve().parents[1] / "spse"


def test_every_threshold_cites_its_source_and_status():
    frame = register.thresholds()
    assert (frame["reference"].str.len() > 10).all()
    assert set(frame["status"]) <= {"C", "C2", "U"}
    assert set(frame["comparison"]) == {">"}


def test_french_procedure_values_match_methods_reference():
    # methods.md §1.1 table (R221-1)
    frame = register.thresholds().query("set_id == 'FR_R221-1'")
    got = {(r.pollutant, r.level): (r.value, r.averaging, r.consecutive_periods) for r in frame.itertuples()}
    assert got[("PM10", "information")] == (50.0, "day_mean", 1)
    assert got[("PM10", "alerte")] == (80.0, "day_mean", 1)
    assert got[("NO2", "information")] == (200.0, "1h", 1)
    assert got[("NO2", "alerte")] == (400.0, "1h", 3)
    assert got[("O3", "information")] == (180.0, "1h", 1)
    assert got[("SO2", "alerte")] == (500.0, "1h", 3)


def test_who_2021_guidelines_and_noise_levels():
    frame = register.thresholds()
    who = frame.query("set_id == 'WHO_2021' and level == 'guideline'")
    daily = {r.pollutant: r.value for r in who.itertuples() if r.averaging == "day_mean"}
    assert daily == {"PM2.5": 15.0, "PM10": 45.0, "NO2": 25.0, "SO2": 40.0, "CO": 4.0}
    road = frame.query("noise_source == 'road'")
    assert {(r.set_id, r.pollutant): r.value for r in road.itertuples()} == {
        ("WHO_2018", "Lden"): 53.0, ("WHO_2018", "Ln"): 45.0,
        ("FR_NOISE_2006", "Lden"): 68.0, ("FR_NOISE_2006", "Ln"): 62.0}


def test_unconfirmed_parameters_are_flagged():
    frame = register.parameters_frame()
    flagged = set(frame.loc[frame["status"] == "U", "name"])
    assert {"day_time_base", "round_before_compare", "station_footprint_traffic_m"} <= flagged
    assert register.parameter_int("min_valid_hours_day") == 18


def test_register_can_be_overridden(tmp_path, monkeypatch):
    text = (SPSE / "registers" / "parameters.csv").read_text().replace(
        "min_valid_hours_day,18", "min_valid_hours_day,20")
    custom = tmp_path / "p.csv"
    custom.write_text(text)
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(custom))
    assert register.parameter_int("min_valid_hours_day") == 20


def test_no_threshold_literal_outside_the_register():
    """Regulatory values are read from the register, never written in the code."""
    pattern = re.compile(r"(?<![\w.])(?:180|240|400|80)\.?0?\s*(?:#|$|,|\))")
    offenders = []
    for path in SPSE.rglob("*.py"):
        if "demo" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ("threshold" in line.lower() or "seuil" in line.lower()) and pattern.search(line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_parameters_read_typed_values_from_the_register_file():
    params = register.parameters()
    # registers/parameters.csv: min_valid_hours_day,18 / episode_population_share,0.10 / idw_background_only,true
    assert params.int("min_valid_hours_day") == 18
    assert params.float("episode_population_share") == 0.1
    assert params.bool("idw_background_only") is True
    assert params.bool("round_before_compare") is False
    assert params.text("day_time_base") == "Europe/Paris"
    assert params.words("no_data_sentinels") == ["9999", "-9999", "999", "-999", "99999", "-99999"]
    assert register.parameters() is params  # read once per file


def test_parameters_from_a_mapping_pin_values_and_name_bad_ones():
    params = register.Parameters({**register.parameters(), "round_before_compare": "Yes", "idw_power": 3})
    assert params.bool("round_before_compare") is True
    assert params.float("idw_power") == 3.0
    assert params.int("min_valid_hours_day") == 18
    with pytest.raises(KeyError, match="'no_such_parameter' is not in the register"):
        params.text("no_such_parameter")
    with pytest.raises(ValueError, match="'day_time_base' is 'Europe/Paris', not a number"):
        params.float("day_time_base")
    with pytest.raises(ValueError, match=r"'episode_population_share' is '0\.10', not an integer"):
        params.int("episode_population_share")
    with pytest.raises(ValueError, match="'flag' is 'ture'"):
        register.Parameters({"flag": "ture"}).bool("flag")
    with pytest.raises(TypeError):
        params["idw_power"] = "1"  # type: ignore[index]


def test_an_edited_register_file_is_read_again(tmp_path, monkeypatch):
    import os

    original = (SPSE / "registers" / "parameters.csv").read_text(encoding="utf-8")
    custom = tmp_path / "parameters.csv"
    custom.write_text(original, encoding="utf-8")
    monkeypatch.setenv("SPSE_PARAMETERS_FILE", str(custom))
    assert register.parameters().float("idw_power") == 2.0
    custom.write_text(original.replace("\nidw_power,2,", "\nidw_power,3,"), encoding="utf-8")
    stat = custom.stat()
    os.utime(custom, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later edit, whatever the clock tick
    assert register.parameters().float("idw_power") == 3.0
