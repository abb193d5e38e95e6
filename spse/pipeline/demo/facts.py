"""Real facts the synthetic demo bundle is built on (everything else in the bundle is invented).

* Air stations: Airparif codes (EU ``FR04xxx``), names, positions (LCSQA "Liste points de
  mesures 2021", lon/lat WGS84) and influence (E2 ``type d'influence``). Which pollutant is
  measured where follows the 2024 E2 rows where they exist; the PM10 monitors at FR04014,
  FR04018, FR04060 and FR04017 are a demo choice, so that the designed PM10 episode has
  stations on both sides of the city.
* Arrondissements: INSEE codes, names, official-polygon centroids (Ville de Paris
  ``arrondissements`` layer, ODbL) and INSEE legal populations 2017 (approximate, as
  recalled: the demo only needs realistic orders of magnitude; check insee.fr before any
  real use).
* The Paris outline: the union of the official arrondissement polygons, simplified with a
  100 m tolerance in EPSG:3035 and written in lon/lat with 4 decimals (~10 m).
* Bois de Boulogne and Bois de Vincennes and a few large parks and cemeteries: coarse hand
  outlines, used only to leave their 200 m cells unpopulated.

Household sizes, poverty rates, incomes and the age profile are design values chosen to be
plausible for Paris (poverty higher in the north-east), not INSEE statistics.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Station:
    """An air-quality station. ``procedures`` maps pollutant → E2 ``procédure de mesure``."""

    code: str
    name: str
    department: str
    lon: float
    lat: float
    influence: str  # E2 "type d'influence": "Fond" | "Trafic"
    procedures: dict[str, str]


_NO2_AC32M = "Auto NO2_NOx app AC32M"
_NO2_42I = "Auto NO2_NOx app 42i"
_PM_TEOM = "Auto PM_Conf_app TEOM 1405-F"
_PM_FIDAS = "Auto PM_Conf_app FIDAS 200"
_PM_BAM = "Auto PM_Conf_app BAM 1020-Smart Heater"
_O3_T400 = "Auto O3 Conf app API T400"
_O3_O342M = "Auto O3 Conf app O342M"

STATIONS: tuple[Station, ...] = (
    Station("FR04004", "PARIS 18eme", "75", 2.346667, 48.891666, "Fond",
            {"NO2": _NO2_AC32M, "O3": _O3_T400, "PM10": _PM_TEOM, "PM2.5": _PM_TEOM}),
    Station("FR04012", "Place Victor Basch", "75", 2.3275, 48.827778, "Trafic",
            {"NO2": _NO2_AC32M, "PM10": _PM_TEOM}),
    Station("FR04014", "PARIS 12eme", "75", 2.3939, 48.837223, "Fond",
            {"NO2": _NO2_AC32M, "PM10": _PM_TEOM}),
    Station("FR04017", "NEUILLY-SUR-SEINE", "92", 2.278056, 48.88139, "Fond",
            {"NO2": _NO2_AC32M, "O3": _O3_T400, "PM10": _PM_TEOM}),
    Station("FR04018", "AUBERVILLIERS", "93", 2.3847, 48.9039, "Fond",
            {"NO2": _NO2_AC32M, "PM10": _PM_TEOM}),
    Station("FR04031", "Av Champs Elysees", "75", 2.311944, 48.86889, "Trafic",
            {"NO2": _NO2_42I, "PM2.5": _PM_BAM}),
    Station("FR04034", "VITRY-SUR-SEINE", "94", 2.3758, 48.7758, "Fond",
            {"NO2": _NO2_42I, "O3": _O3_O342M, "PM10": _PM_FIDAS, "PM2.5": _PM_FIDAS}),
    Station("FR04037", "PARIS 13eme", "75", 2.360278, 48.82861, "Fond",
            {"NO2": _NO2_AC32M, "O3": _O3_O342M}),
    Station("FR04055", "PARIS 1er Les Halles", "75", 2.344616, 48.86212, "Fond",
            {"NO2": _NO2_AC32M, "O3": _O3_O342M, "PM10": _PM_FIDAS, "PM2.5": _PM_FIDAS}),
    Station("FR04060", "PARIS 7eme", "75", 2.2933, 48.8572, "Fond",
            {"NO2": _NO2_42I, "PM10": _PM_FIDAS}),
    Station("FR04071", "Rue Bonaparte", "75", 2.335278, 48.856388, "Trafic",
            {"NO2": _NO2_42I}),
    Station("FR04099", "NOGENT-SUR-MARNE", "94", 2.484444, 48.840557, "Fond",
            {"PM10": _PM_TEOM}),
    Station("FR04141", "Quai des Celestins", "75", 2.360556, 48.85278, "Trafic",
            {"NO2": _NO2_42I}),
    Station("FR04179", "PARIS Stade Lenglen", "75", 2.269889, 48.830387, "Fond",
            {"NO2": _NO2_AC32M, "PM10": _PM_TEOM}),
    Station("FR04329", "Bld peripherique Est", "75", 2.412781, 48.838615, "Trafic",
            {"NO2": _NO2_42I, "PM10": _PM_BAM, "PM2.5": _PM_BAM}),
)

ORGANISATION = "AIRPARIF"
ZAS_CODE = "FR11ZAG01"
ZAS_NAME = "ZAG PARIS"
AREA_TYPE = "Urbaine"


@dataclass(frozen=True)
class Arrondissement:
    """An arrondissement municipal and the design values used to synthesise its population.

    ``population_2017``: INSEE legal population 2017 (approximate). ``household_population``:
    the Filosofi-like target the 200 m cells sum to, 96 % of it rounded (Filosofi counts
    people in fiscal households only). ``household_size`` [persons], ``poverty_rate`` [share
    of households], ``living_standard_eur`` [€ per person per year], ``child_factor`` and
    ``elderly_factor`` (multipliers of the Paris age profile), ``social_housing`` and
    ``owners`` [share of dwellings / households] are design values.
    """

    code: str
    number: int
    label: str
    name: str
    lon: float
    lat: float
    population_2017: int
    household_population: int
    household_size: float
    poverty_rate: float
    living_standard_eur: float
    child_factor: float
    elderly_factor: float
    social_housing: float
    owners: float


def _arr(n, name, lon, lat, pop, hh_pop, size, pov, eur, child, old, soc, own) -> Arrondissement:
    label = "1er Ardt" if n == 1 else f"{n}ème Ardt"
    return Arrondissement(f"751{n:02d}", n, label, name, lon, lat, pop, hh_pop, size, pov, eur, child, old, soc, own)


ARRONDISSEMENTS: tuple[Arrondissement, ...] = (
    _arr(1, "Louvre", 2.33644, 48.86256, 16252, 15602, 1.70, 0.12, 38000, 0.80, 1.00, 0.06, 0.33),
    _arr(2, "Bourse", 2.34280, 48.86828, 20260, 19450, 1.70, 0.12, 34000, 0.80, 0.80, 0.05, 0.30),
    _arr(3, "Temple", 2.36000, 48.86287, 34788, 33396, 1.75, 0.13, 36000, 0.85, 0.85, 0.07, 0.33),
    _arr(4, "Hôtel-de-Ville", 2.35763, 48.85434, 27487, 26388, 1.70, 0.13, 37000, 0.80, 1.05, 0.12, 0.35),
    _arr(5, "Panthéon", 2.35071, 48.84444, 59108, 56744, 1.75, 0.11, 38000, 0.85, 1.10, 0.09, 0.36),
    _arr(6, "Luxembourg", 2.33290, 48.84913, 41100, 39456, 1.75, 0.09, 46000, 0.90, 1.25, 0.03, 0.42),
    _arr(7, "Palais-Bourbon", 2.31219, 48.85617, 51367, 49312, 1.85, 0.08, 52000, 1.00, 1.35, 0.02, 0.45),
    _arr(8, "Élysée", 2.31255, 48.87272, 36453, 34995, 1.90, 0.10, 50000, 1.00, 1.20, 0.03, 0.40),
    _arr(9, "Opéra", 2.33746, 48.87716, 59835, 57442, 1.75, 0.11, 38000, 0.90, 0.90, 0.06, 0.34),
    _arr(10, "Entrepôt", 2.36073, 48.87613, 90836, 87203, 1.85, 0.19, 28000, 0.95, 0.80, 0.13, 0.26),
    _arr(11, "Popincourt", 2.38006, 48.85906, 147017, 141136, 1.80, 0.15, 30000, 0.95, 0.80, 0.13, 0.28),
    _arr(12, "Reuilly", 2.42132, 48.83497, 140296, 134684, 1.90, 0.13, 30000, 1.00, 1.05, 0.22, 0.33),
    _arr(13, "Gobelins", 2.36227, 48.82839, 181552, 174290, 2.00, 0.18, 26000, 1.05, 1.00, 0.36, 0.27),
    _arr(14, "Observatoire", 2.32654, 48.82924, 136368, 130913, 1.85, 0.14, 31000, 1.00, 1.05, 0.24, 0.31),
    _arr(15, "Vaugirard", 2.29283, 48.84009, 233392, 224056, 1.90, 0.11, 34000, 1.05, 1.10, 0.17, 0.36),
    _arr(16, "Passy", 2.26197, 48.86039, 166851, 160177, 2.10, 0.09, 50000, 1.00, 1.35, 0.04, 0.45),
    _arr(17, "Batignolles-Monceau", 2.30678, 48.88733, 167835, 161122, 1.90, 0.14, 36000, 1.00, 1.00, 0.15, 0.32),
    _arr(18, "Buttes-Montmartre", 2.34816, 48.89257, 195233, 187424, 1.95, 0.24, 24000, 1.10, 0.85, 0.22, 0.25),
    _arr(19, "Buttes-Chaumont", 2.38482, 48.88708, 186393, 178937, 2.20, 0.27, 21000, 1.30, 0.85, 0.40, 0.22),
    _arr(20, "Ménilmontant", 2.40119, 48.86346, 196678, 188811, 2.05, 0.23, 23000, 1.20, 0.90, 0.33, 0.24),
)

# Share of each age band in the Paris population (Filosofi bands Ind_0_3 … Ind_80p); design values.
AGE_BANDS: tuple[str, ...] = ("0_3", "4_5", "6_10", "11_17", "18_24", "25_39", "40_54", "55_64", "65_79", "80p")
PARIS_AGE_PROFILE: tuple[float, ...] = (0.042, 0.019, 0.045, 0.062, 0.095, 0.255, 0.195, 0.110, 0.125, 0.052)
CHILD_BANDS = ("0_3", "4_5", "6_10", "11_17")
ELDERLY_BANDS = ("65_79", "80p")

# Paris outline (lon, lat), counter-clockwise from the Porte d'Orléans; see the module docstring.
PARIS_OUTLINE: tuple[tuple[float, float], ...] = (
    (2.3469, 48.8159), (2.3318, 48.8170), (2.3324, 48.8182), (2.2922, 48.8271), (2.2790, 48.8325),
    (2.2727, 48.8279), (2.2678, 48.8278), (2.2673, 48.8315), (2.2700, 48.8330), (2.2679, 48.8346),
    (2.2552, 48.8348), (2.2516, 48.8389), (2.2525, 48.8456), (2.2242, 48.8534), (2.2282, 48.8652),
    (2.2321, 48.8696), (2.2403, 48.8718), (2.2456, 48.8764), (2.2554, 48.8743), (2.2589, 48.8803),
    (2.2775, 48.8780), (2.2800, 48.8787), (2.2809, 48.8829), (2.2857, 48.8866), (2.3204, 48.9008),
    (2.3844, 48.9022), (2.3907, 48.9010), (2.3955, 48.8983), (2.3978, 48.8946), (2.4001, 48.8838),
    (2.4093, 48.8803), (2.4125, 48.8764), (2.4164, 48.8488), (2.4112, 48.8339), (2.4223, 48.8357),
    (2.4194, 48.8425), (2.4221, 48.8445), (2.4247, 48.8418), (2.4336, 48.8410), (2.4372, 48.8409),
    (2.4379, 48.8446), (2.4405, 48.8443), (2.4408, 48.8459), (2.4617, 48.8427), (2.4698, 48.8364),
    (2.4652, 48.8310), (2.4646, 48.8276), (2.4662, 48.8273), (2.4628, 48.8190), (2.4586, 48.8170),
    (2.4373, 48.8182), (2.4300, 48.8235), (2.4107, 48.8251), (2.4025, 48.8296), (2.3634, 48.8161),
    (2.3559, 48.8160), (2.3524, 48.8185), (2.3469, 48.8159),
)

# Coarse outlines (lon, lat) of the two woods; clipped to the Paris outline, they hold no population.
BOIS_DE_BOULOGNE: tuple[tuple[float, float], ...] = (
    (2.2200, 48.8530), (2.2520, 48.8440), (2.2585, 48.8470), (2.2630, 48.8560), (2.2625, 48.8660),
    (2.2600, 48.8730), (2.2590, 48.8810), (2.2500, 48.8800), (2.2300, 48.8720), (2.2200, 48.8600),
)
BOIS_DE_VINCENNES: tuple[tuple[float, float], ...] = (
    (2.4140, 48.8330), (2.4225, 48.8330), (2.4260, 48.8450), (2.4700, 48.8450), (2.4720, 48.8150),
    (2.4300, 48.8160), (2.4160, 48.8235),
)

# Other unpopulated places: (name, lon, lat, radius in metres).
PARKS: tuple[tuple[str, float, float, float], ...] = (
    ("Jardin du Luxembourg", 2.3372, 48.8462, 260.0),
    ("Cimetière du Père-Lachaise", 2.3944, 48.8610, 300.0),
    ("Parc des Buttes-Chaumont", 2.3822, 48.8800, 220.0),
    ("Champ-de-Mars", 2.2983, 48.8556, 220.0),
    ("Jardin des Tuileries", 2.3275, 48.8634, 200.0),
    ("Parc Montsouris", 2.3380, 48.8222, 180.0),
    ("Cimetière du Montparnasse", 2.3264, 48.8384, 180.0),
)


@dataclass(frozen=True)
class NoiseSite:
    """A Bruitparif "Rumeur" road-noise station (demo positions, plausible for the name)."""

    site_id: int
    name: str
    description: str
    lon: float
    lat: float
    height_m: float
    city: str
    zip_code: str


NOISE_SITES: tuple[NoiseSite, ...] = (
    NoiseSite(101, "PARIS-PERIPHERIQUE-EST", "Boulevard périphérique, Porte de Montreuil (demo)",
              2.4141, 48.8558, 4.0, "Paris", "75020"),
    NoiseSite(102, "PARIS-BD-SOULT", "Boulevard Soult (demo)", 2.4068, 48.8392, 4.0, "Paris", "75012"),
    NoiseSite(103, "PARIS-RUE-DE-RIVOLI", "Rue de Rivoli, Hôtel de Ville (demo)", 2.3530, 48.8573, 4.0,
              "Paris", "75004"),
    NoiseSite(104, "PARIS-QUAI-DE-LA-RAPEE", "Quai de la Rapée (demo)", 2.3712, 48.8448, 4.0, "Paris", "75012"),
)

# Generic street names for invented facility addresses (positions are random, not these streets).
STREETS: tuple[str, ...] = (
    "RUE DES LILAS", "RUE DU MOULIN", "RUE DES ECOLES", "RUE DE LA FONTAINE", "RUE DU MARCHE",
    "RUE DES VIGNES", "RUE DU PUITS", "RUE DES ROSIERS", "RUE DE L'EGLISE", "RUE DU CHATEAU",
    "RUE DES JARDINS", "RUE DE LA POSTE", "AVENUE DES TILLEULS", "RUE DU PONT", "RUE DES ACACIAS",
    "RUE DE LA GARE", "RUE DES PEUPLIERS", "RUE DU PRESSOIR", "RUE DES CERISIERS", "RUE DU LAVOIR",
    "RUE DES CHAMPS", "RUE DE LA FORGE", "RUE DES ORMES", "RUE DU VERGER", "AVENUE DES PLATANES",
    "RUE DES SAULES", "RUE DE LA CROIX", "RUE DU PARC", "RUE DES MARRONNIERS", "RUE DES PRES",
)

PERSON_NAMES: tuple[str, ...] = (
    "JEAN MOULIN", "GEORGE SAND", "MARIE CURIE", "LOUISE MICHEL", "VICTOR HUGO", "COLETTE",
    "JULES FERRY", "SIMONE VEIL", "ALBERT CAMUS", "GERMAINE TILLION", "PAUL ELUARD", "OLYMPE DE GOUGES",
    "JACQUES PREVERT", "LUCIE AUBRAC", "ANTOINE DE SAINT-EXUPERY", "CAMILLE CLAUDEL",
)
