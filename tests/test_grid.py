"""The 200 m grid: ids, projection, point and polygon crosswalks (methods.md §6.1, §6.5, W9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Proj

from spse.methods import grid

# An independent construction of ETRS89-LAEA (EPSG:3035): its PROJ definition, no EPSG lookup.
LAEA = Proj("+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +units=m")
X0, Y0 = 3_759_600, 2_885_000


def test_cell_id_round_trip():
    assert grid.cell_id(3759600, 2885000) == "CRS3035RES200mN2885000E3759600"
    x, y = grid.parse_cell_id(["CRS3035RES200mN2885000E3759600", "CRS3035RES200mN2862000E3763800"])
    assert x.tolist() == [3759600, 3763800]
    assert y.tolist() == [2885000, 2862000]
    assert grid.cell_id(x, y).tolist() == ["CRS3035RES200mN2885000E3759600", "CRS3035RES200mN2862000E3763800"]


def test_parse_cell_id_names_the_bad_id():
    with pytest.raises(ValueError, match=r"CRS3035RES1000mN2885000E3759000.*position 1"):
        grid.parse_cell_id(["CRS3035RES200mN2885000E3759600", "CRS3035RES1000mN2885000E3759000"])


def test_cell_of_floors_to_the_south_west_corner():
    x0, y0 = grid.cell_of([3759799.99, 3759800.0, 3759600.0], [2885000.0, 2885199.5, 2885200.01])
    assert x0.tolist() == [3759600, 3759800, 3759600]
    assert y0.tolist() == [2885000, 2885000, 2885200]


def test_lonlat_to_3035_epsg_guidance_example():
    # IOGP Guidance Note 7-2, Lambert Azimuthal Equal Area example (ETRS89-LAEA):
    # 50°N 5°E → E 3 962 799.45 m, N 2 999 718.85 m.
    x, y = grid.lonlat_to_3035(5.0, 50.0)
    assert float(x) == pytest.approx(3962799.45, abs=0.01)
    assert float(y) == pytest.approx(2999718.85, abs=0.01)


def test_lonlat_to_3035_notre_dame_against_independent_proj():
    lon, lat = 2.3499, 48.8530
    ex, ey = LAEA(lon, lat)
    x, y = grid.lonlat_to_3035(np.array([lon]), np.array([lat]))
    assert x[0] == pytest.approx(ex, abs=0.01)
    assert y[0] == pytest.approx(ey, abs=0.01)
    # Notre-Dame lies in central Paris, cell x ≈ 3 760 5xx, y ≈ 2 889 1xx.
    assert grid.cell_id(*grid.cell_of(x, y))[0] == "CRS3035RES200mN2889000E3760400"


def _cells(corners):
    xs = np.array([c[0] for c in corners])
    ys = np.array([c[1] for c in corners])
    return pd.DataFrame({"cell_id": grid.cell_id(xs, ys), "x_3035": xs, "y_3035": ys})


def test_polygon_cell_fractions_w9_area_weighted_allocation():
    # Three cells in a row; the middle one is split 30 % into IRIS A and 70 % into IRIS B (W9).
    cells = _cells([(X0, Y0), (X0 + 200, Y0), (X0 + 400, Y0)])
    cells["population"] = [600.0, 400.0, 200.0]
    cells["no2"] = [12.0, 16.0, 20.0]
    split = X0 + 200 + 60
    zones = pd.DataFrame({
        "zone_id": ["A", "B"],
        "geometry_wkt": [shapely.box(X0 - 50, Y0 - 50, split, Y0 + 250).wkt,
                         shapely.box(split, Y0 - 50, X0 + 650, Y0 + 250).wkt],
    })
    fractions = grid.polygon_cell_fractions(zones, cells, "zone_id")
    assert list(fractions.columns) == ["zone_id", "cell_id", "area_fraction"]
    got = fractions.set_index(["zone_id", "cell_id"])["area_fraction"]
    ids = cells["cell_id"].tolist()
    assert got[("A", ids[0])] == pytest.approx(1.0)
    assert got[("A", ids[1])] == pytest.approx(0.3)
    assert got[("B", ids[1])] == pytest.approx(0.7)
    assert got[("B", ids[2])] == pytest.approx(1.0)
    assert len(fractions) == 4

    joined = fractions.merge(cells, on="cell_id")
    joined["pop"] = joined["population"] * joined["area_fraction"]
    joined["pc"] = joined["pop"] * joined["no2"]
    by_zone = joined.groupby("zone_id")[["pop", "pc"]].sum()
    assert by_zone.loc["A", "pop"] == pytest.approx(720.0)
    assert by_zone.loc["B", "pop"] == pytest.approx(480.0)
    assert by_zone.loc["A", "pc"] / by_zone.loc["A", "pop"] == pytest.approx(12.666667, abs=1e-6)
    assert by_zone.loc["B", "pc"] / by_zone.loc["B", "pop"] == pytest.approx(17.666667, abs=1e-6)


def test_polygon_cell_fractions_partial_cover_and_touching_edges():
    cells = _cells([(X0, Y0), (X0 + 200, Y0)])
    # A triangle over half of the first cell, touching the second only along its edge.
    triangle = shapely.Polygon([(X0, Y0), (X0 + 200, Y0), (X0 + 200, Y0 + 200)])
    polygons = pd.DataFrame({"band_id": ["b1"], "geometry_wkt": [triangle.wkt]})
    fractions = grid.polygon_cell_fractions(polygons, cells, "band_id")
    assert fractions["cell_id"].tolist() == [cells["cell_id"][0]]
    assert fractions["area_fraction"].tolist() == [pytest.approx(0.5)]


def test_polygon_cell_fractions_multipolygon_in_3035_sums_below_one():
    cells = _cells([(X0 + dx, Y0 + dy) for dx in (0, 200, 400) for dy in (0, 200)])
    circle_a = shapely.Point(X0 + 150, Y0 + 200).buffer(120)
    circle_b = shapely.Point(X0 + 450, Y0 + 200).buffer(90)
    zones = pd.DataFrame({"zone_id": ["Z"], "geometry_wkt": [shapely.MultiPolygon([circle_a, circle_b]).wkt]})
    fractions = grid.polygon_cell_fractions(zones, cells, "zone_id")
    total_area = fractions["area_fraction"].sum() * 40_000
    assert total_area == pytest.approx(circle_a.area + circle_b.area, rel=1e-9)
    assert (fractions["area_fraction"] <= 1).all()


def test_build_grid_datasets():
    lon_station, lat_station = LAEA(X0 + 250.0, Y0 + 30.0, inverse=True)  # second populated cell
    lon_fac, lat_fac = LAEA(X0 + 1010.0, Y0 + 420.0, inverse=True)  # an unpopulated cell
    population = pd.DataFrame({
        "cell_id": grid.cell_id([X0, X0 + 200], [Y0, Y0]),
        "x_3035": [X0, X0 + 200], "y_3035": [Y0, Y0],
        "population": [120.0, 30.0], "pop_0_3": [4.0, 1.0], "pop_4_5": [2.0, 0.0], "pop_0_5": [6.0, 1.0],
        "pop_65_79": [10.0, 3.0], "pop_80p": [5.0, 1.0], "pop_65p": [15.0, 4.0],
        "households": [60.0, 15.0], "households_poor": [6.0, 3.0], "pop_poor_households": [12.0, 6.0],
        "standard_of_living": [31_000.0, np.nan], "is_imputed": [False, True],
    })
    zones = pd.DataFrame({"zone_id": ["75101"], "zone_name": ["Paris 1er"],
                          "geometry_wkt": [shapely.box(X0, Y0, X0 + 300, Y0 + 200).wkt]})
    facilities = pd.DataFrame({"facility_id": ["f1", "f2"], "category": ["creche", "ehpad"],
                               "lon": [lon_fac, np.nan], "lat": [lat_fac, np.nan]})
    stations = pd.DataFrame({"station_id": ["FR04014"], "station_name": ["PARIS 12eme"],
                             "lon": [lon_station], "lat": [lat_station]})
    out = grid.build_grid(population, zones, facilities, stations)

    assert set(out) == {"grid_cells", "zone_cells", "facility_cells", "station_cells", "noise_band_cells"}
    cells = out["grid_cells"]
    assert list(cells.columns) == ["cell_id", "x_3035", "y_3035", "cx_3035", "cy_3035", "lon", "lat",
                                   "population", "pop_0_3", "pop_4_5", "pop_0_5", "pop_65_79", "pop_80p",
                                   "pop_65p", "households", "households_poor", "pop_poor_households",
                                   "standard_of_living", "is_imputed"]
    added_id = "CRS3035RES200mN2885400E3760600"
    assert sorted(cells["cell_id"]) == sorted([*population["cell_id"], added_id])
    added = cells.set_index("cell_id").loc[added_id]
    assert added["population"] == 0 and added["pop_65p"] == 0 and not added["is_imputed"]
    assert np.isnan(added["standard_of_living"])  # unknown, never 0 € (it would rank as the poorest)
    known = cells.set_index("cell_id")["standard_of_living"]
    assert known[population["cell_id"][0]] == 31_000.0 and np.isnan(known[population["cell_id"][1]])
    assert (added["cx_3035"], added["cy_3035"]) == (3760700.0, 2885500.0)
    lon_c, lat_c = LAEA(3760700.0, 2885500.0, inverse=True)
    assert added["lon"] == pytest.approx(lon_c, abs=1e-9) and added["lat"] == pytest.approx(lat_c, abs=1e-9)
    assert bool(cells.set_index("cell_id").loc[population["cell_id"][1], "is_imputed"])

    assert out["facility_cells"].to_dict("records") == [{"facility_id": "f1", "cell_id": added_id}]
    station = out["station_cells"].iloc[0]
    assert list(out["station_cells"].columns) == ["station_id", "cell_id", "x_3035", "y_3035"]
    assert station["cell_id"] == population["cell_id"][1]
    assert station["x_3035"] == pytest.approx(X0 + 250.0, abs=1e-3)

    zone_cells = out["zone_cells"].set_index("cell_id")["area_fraction"]
    assert zone_cells[population["cell_id"][0]] == pytest.approx(1.0)
    assert zone_cells[population["cell_id"][1]] == pytest.approx(0.5)
    assert added_id not in zone_cells.index
    assert list(out["noise_band_cells"].columns) == ["band_id", "cell_id", "area_fraction"]
    assert out["noise_band_cells"].empty


@pytest.mark.shared_data
def test_real_filosofi_cells_match_their_centroids(shared_data):
    frame = pd.read_csv(shared_data / "population" / "filosofi2019_200m_paris_strip_ages_households.csv")
    x, y = grid.lonlat_to_3035(frame["lon_centroid"].to_numpy(), frame["lat_centroid"].to_numpy())
    x0, y0 = grid.cell_of(x, y)
    assert (x0 == frame["x_laea_ll"].to_numpy()).all()
    assert (y0 == frame["y_laea_ll"].to_numpy()).all()
    assert (grid.cell_id(frame["x_laea_ll"], frame["y_laea_ll"]) == frame["idcar_200m"].to_numpy()).all()
    px, py = grid.parse_cell_id(frame["idcar_200m"])
    assert (px == frame["x_laea_ll"].to_numpy()).all() and (py == frame["y_laea_ll"].to_numpy()).all()
