from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.sources.insee_filosofi_200m import SOURCE

PART = SOURCE.partition(None)

NAME = "Filosofi2017_carreaux_200m_met.csv"
SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "sources" / "insee_filosofi_200m" / NAME


def test_2017_capitalised_columns_and_derived_counts():
    frame = SOURCE.parse(SAMPLE.read_bytes(), NAME, PART).frame.set_index("cell_id")
    cell = frame.loc["CRS3035RES200mN2889000E3760000"]
    assert (cell["x_3035"], cell["y_3035"]) == (3760000, 2889000)
    assert cell["population"] == 1250.0
    assert cell["pop_0_5"] == 40.0 + 22.0
    assert cell["pop_65p"] == 120.0 + 38.0
    assert cell["pop_poor_households"] == pytest.approx(1250.0 * 80.0 / 640.0)  # = 156.25
    assert not cell["is_imputed"]
    assert frame.loc["CRS3035RES200mN2889200E3760000", "is_imputed"]
    assert frame.loc["CRS3035RES200mN2889200E3760200", "pop_poor_households"] == 0.0  # Men = 0
    assert frame["x_3035"].dtype == np.int64


def test_2019_lowercase_semicolon_file_with_missing_optional_columns():
    payload = (b"idcar_200m;i_est_200;ind;men\n"
               b"CRS3035RES200mN2885000E3759600;0;12.5;6.0\n")
    frame = SOURCE.parse(payload, NAME, PART).frame
    assert frame.loc[0, "population"] == 12.5 and frame.loc[0, "households"] == 6.0
    assert frame[["pop_0_3", "pop_0_5", "pop_65p", "households_poor", "pop_poor_households"]].isna().all().all()
    SOURCE.check(frame)


def test_standard_of_living_is_ind_snv_over_ind():
    payload = (b"Idcar_200m,Ind,Ind_snv\n"
               b"CRS3035RES200mN2885000E3759600,4,100000\n"
               b"CRS3035RES200mN2885200E3759600,0,0\n"
               b"CRS3035RES200mN2885400E3759600,10,\n")
    frame = SOURCE.parse(payload, NAME, PART).frame.set_index("cell_id")["standard_of_living"]
    assert frame["CRS3035RES200mN2885000E3759600"] == 25_000.0
    assert frame[["CRS3035RES200mN2885200E3759600", "CRS3035RES200mN2885400E3759600"]].isna().all()


def test_file_without_standard_of_living_gives_null():
    frame = SOURCE.parse(SAMPLE.read_bytes(), NAME, PART).frame
    assert frame["standard_of_living"].isna().all()


def test_file_without_imputation_flag_gives_null():
    frame = SOURCE.parse(b"IDCAR_200M,IND\nCRS3035RES200mN2885000E3759600,3\n", NAME, PART).frame
    assert pd.isna(frame.loc[0, "is_imputed"])


@pytest.mark.parametrize(("line", "reason"), [
    ("CRS3035RES1000mN2885000E3759000,0,10", "not CRS3035RES200mN{y}E{x}"),
    ("CRS3035RES200mN2885100E3759000,0,10", "not on the 200 m grid"),
    ("CRS3035RES200mN2885400E3759000,0,-1", "negative `Ind`"),
    ("CRS3035RES200mN2885400E3759000,0,", "missing `Ind`"),
    ("CRS3035RES200mN2885400E3759000,0,many", "`Ind` is not a number"),
    ("CRS3035RES200mN2885400E3759000,2,10", "`I_est_200` is not 0/1"),
    ("CRS3035RES200mN2885200E3759000,0,4", "duplicate cell id"),
])
def test_bad_rows_are_quarantined(line, reason):
    payload = f"Idcar_200m,I_est_200,Ind\nCRS3035RES200mN2885200E3759000,0,5\n{line}\n".encode()
    result = SOURCE.parse(payload, NAME, PART)
    assert result.frame["cell_id"].tolist() == ["CRS3035RES200mN2885200E3759000"]
    assert result.rejects["row"].tolist() == [3] and reason in result.rejects["reason"].iloc[0]


def test_missing_required_column_is_refused():
    with pytest.raises(SchemaError, match=r"row 1: header lacks the columns \['ind'\]"):
        SOURCE.parse(b"Idcar_200m,Men\nCRS3035RES200mN2885200E3759000,5\n", NAME, PART)


@pytest.mark.shared_data
def test_real_2019_strip(shared_data):
    payload = (shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv").read_bytes()
    result = SOURCE.parse(payload, NAME, PART)
    frame = result.frame
    assert result.rejects.empty
    assert len(frame) == 220
    assert frame["population"].sum() == pytest.approx(182_747, abs=1)
    assert frame["is_imputed"].sum() == 13
    source = pd.read_csv(shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv")
    merged = frame.merge(source, left_on="cell_id", right_on="idcar_200m")
    assert (merged["x_3035"] == merged["x_laea_ll"]).all() and (merged["y_3035"] == merged["y_laea_ll"]).all()
    SOURCE.check(frame)


@pytest.mark.shared_data
def test_real_2019_income_strip_standard_of_living(shared_data):
    path = shared_data / "population" / "filosofi2019_200m_paris_central_strip_inc.csv"
    frame = SOURCE.parse(path.read_bytes(), NAME, PART).frame
    merged = frame.merge(pd.read_csv(path), left_on="cell_id", right_on="idcar_200m")
    assert len(merged) == 749
    # snv_mean_per_ind was computed by the sample's author from the same ind_snv and ind, rounded to 0.1 €
    assert (merged["standard_of_living"] - merged["snv_mean_per_ind"]).abs().max() <= 0.05 + 1e-9
    SOURCE.check(frame)


@pytest.mark.shared_data
def test_real_2019_strip_without_ind_snv_gives_null(shared_data):
    path = shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv"
    frame = SOURCE.parse(path.read_bytes(), NAME, PART).frame
    source = pd.read_csv(path)
    assert frame["standard_of_living"].notna().sum() == source["ind_snv"].notna().sum() == 89
