"""The bulletin's yearly "Effets sur la santé" section, from the health, multi-exposure and equity marts.

:func:`section` reads the published warehouse for the latest calendar year up to the day's
with attributable deaths (``marts.health_impact_zone_year``), else with multi-exposure classes,
and returns one HTML section (French, self-contained, no script):

* per arrondissement and for Paris, the deaths at ages 30+ attributable to PM2.5 and to NO2
  above the WHO 2021 guideline with their 95 % interval (EQIS, methods.md §7; never added) and,
  where the mart has them (a life table is an input), the years of life lost with their
  interval; the share of residents highly annoyed (road Lden) with the ischaemic heart disease
  cases attributable to road noise where an incidence is an input, and highly sleep-disturbed
  (road Ln) (``marts.noise_zone_effects``, Directive 2020/367, methods.md §5.4);
* the 200 m multi-exposure map of the year, cells coloured by combined air × noise class, the
  hotspots in their own colour (``marts.multiexposure_cell_year``), and the residents, children
  and facilities in hotspots (``marts.multiexposure_zone_year``);
* the equity gradient: per income quintile of Paris residents, standard of living, poverty,
  PM2.5 / NO2 annual means and road Lden, share above the WHO PM2.5 guideline and the deaths
  per 100 000 residents aged 30+ (``marts.equity_zone_year``).

The classes and quintiles are design choices [U] (docs/health-impact.md). A part whose mart is
empty says so; the whole section is empty when none holds a year.
"""

from __future__ import annotations

import datetime as dt
import html

import duckdb
import numpy as np
import pandas as pd

from spse.core import register
from spse.pipeline import bulletin_maps as maps
from spse.pipeline import labels
from spse.pipeline.warehouse.reader import fetch_frame

PARIS = "75056"
WIDTH = 760
# Colours of the combined classes 0-5 (green to dark red) and of the hotspots, painted over them.
CLASS_COLOURS = [(26, 152, 80), (145, 207, 96), (217, 239, 139), (254, 224, 139), (252, 141, 89), (215, 48, 39)]
HOTSPOT_COLOUR = (84, 39, 143)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _year(con: duckdb.DuckDBPyConnection, day: dt.date) -> int | None:
    for mart in ("health_impact_zone_year", "multiexposure_zone_year", "equity_zone_year"):
        found = fetch_frame(con, f"select max(calendar_year) as y from marts.{mart} where calendar_year <= ?",
                            [day.year])
        if not found.empty and pd.notna(found["y"].iloc[0]):
            return int(found["y"].iloc[0])
    return None


def section(con: duckdb.DuckDBPyConnection, day: dt.date) -> str:
    """The "Effets sur la santé" section of the bulletin of ``day`` (HTML; empty without any yearly figure).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Read-only connection to the published warehouse.
    day : datetime.date
        Local day of the bulletin (Europe/Paris); the section shows the latest calendar year up
        to ``day.year`` that the marts hold.

    Returns
    -------
    str
        HTML; raises ``duckdb.CatalogException`` when a mart is absent (the bulletin then leaves it out).
    """
    year = _year(con, day)
    if year is None:
        return ""
    deaths = fetch_frame(con, """
        select zone_id, zone_level, zone_name, pollutant, attributable_deaths, attributable_deaths_low,
               attributable_deaths_high, share_of_deaths, years_of_life_lost, years_of_life_lost_low,
               years_of_life_lost_high
        from marts.health_impact_zone_year where calendar_year = ? and counterfactual = 'who_2021'""", [year])
    noise = fetch_frame(con, """
        select zone_id, indicator, people_affected, share_affected, ihd_cases from marts.noise_zone_effects
        where source_type = 'road' and zone_level in ('commune', 'arrondissement')""", [])
    cells = fetch_frame(con, """
        select cell_id, any_value(combined_class) as combined_class, bool_or(is_hotspot) as is_hotspot
        from marts.multiexposure_cell_year where calendar_year = ? group by cell_id""", [year])
    hotspots = fetch_frame(con, """
        select sum(population) as population, sum(pop_0_5) as pop_0_5, sum(pop_65p) as pop_65p,
               sum(facility_count) as facilities, sum(share_of_zone_population) as share
        from marts.multiexposure_zone_year where zone_id = ? and calendar_year = ? and is_hotspot""", [PARIS, year])
    equity = fetch_frame(con, """
        select indicator, income_quintile, standard_of_living_mean, pop_weighted_mean, share_above_limit,
               poverty_share, attributable_deaths_per_100k_30p, pwm_ratio_q1_q5
        from marts.equity_zone_year where zone_id = ? and calendar_year = ? and income_quintile > 0""",
                         [PARIS, year])
    from spse.pipeline.bulletin import _zones

    return section_html(year, deaths, noise, cells, hotspots, equity, _zones(con))


def section_html(year: int, deaths: pd.DataFrame, noise: pd.DataFrame, cells: pd.DataFrame, hotspots: pd.DataFrame,
                 equity: pd.DataFrame, zones: pd.DataFrame) -> str:
    """The section from its frames (pure; see :func:`section` for what each holds)."""
    return "\n".join([
        f"<h2>Effets sur la santé (année {year})</h2>",
        "<p class=\"muted\">Chiffres annuels, recalculés chaque jour : ils ne dépendent pas de la journée du "
        "bulletin. Moyennes annuelles des surfaces de fond (200 m) couvrant au moins 90 % des jours.</p>",
        _impact_table(deaths, noise), _map(cells, hotspots, zones), _equity_table(equity)])


def _interval(rows: pd.DataFrame, zone: str, pollutant: str) -> str:
    row = rows[(rows["zone_id"] == zone) & (rows["pollutant"] == pollutant)]
    if row.empty:
        return "<td class=\"n\"></td>"
    r = row.iloc[0]
    years = ""
    if pd.notna(r.get("years_of_life_lost")):
        years = (f"<br>{labels.number(r['years_of_life_lost'])} [{labels.number(r['years_of_life_lost_low'])}–"
                 f"{labels.number(r['years_of_life_lost_high'])}] années de vie perdues")
    return (f"<td class=\"n\">{labels.number(r['attributable_deaths'])} [{labels.number(r['attributable_deaths_low'])}"
            f"–{labels.number(r['attributable_deaths_high'])}] ({labels.number(100 * r['share_of_deaths'], 1)} %)"
            f"{years}</td>")


def _share(noise: pd.DataFrame, zone: str, indicator: str) -> str:
    row = noise[(noise["zone_id"] == zone) & (noise["indicator"] == indicator)]
    if row.empty:
        return "<td class=\"n\"></td>"
    r = row.iloc[0]
    cases = ""
    if pd.notna(r.get("ihd_cases")):
        cases = f"<br>{labels.number(r['ihd_cases'], 1)} cas de cardiopathie ischémique par an"
    return (f"<td class=\"n\">{labels.number(r['people_affected'])} "
            f"({labels.number(100 * r['share_affected'], 1)} %){cases}</td>")


def _impact_table(deaths: pd.DataFrame, noise: pd.DataFrame) -> str:
    head = "<h3>Décès attribuables à la pollution de l'air et gêne due au bruit routier, par arrondissement</h3>"
    if deaths.empty and noise.empty:
        return head + "<p>Pas de chiffre de santé pour cette année (mortalité de référence ou moyennes annuelles " \
                      "absentes).</p>"
    zones = deaths[["zone_id", "zone_name"]].drop_duplicates().sort_values("zone_id")
    order = [*zones[zones["zone_id"] != PARIS].itertuples(index=False), *zones[zones["zone_id"] == PARIS]
             .itertuples(index=False)]
    lines = "".join(f"<tr><td>{_e(z.zone_name)}{' (ensemble)' if z.zone_id == PARIS else ''}</td>"
                    f"{_interval(deaths, z.zone_id, 'PM2.5')}{_interval(deaths, z.zone_id, 'NO2')}"
                    f"{_share(noise, z.zone_id, 'Lden')}{_share(noise, z.zone_id, 'Ln')}</tr>" for z in order)
    return (head + "<table><tr><th>Zone</th><th>Décès PM2,5 [IC 95 %] (% des décès 30 ans et plus)</th>"
            "<th>Décès NO2 [IC 95 %] (%)</th><th>Personnes fortement gênées, route (%)</th>"
            f"<th>Sommeil fortement perturbé, route (%)</th></tr>{lines}</table>"
            "<p class=\"muted\">Décès par an à 30 ans et plus attribuables aux moyennes annuelles au-delà des "
            "valeurs guides OMS 2021 (PM2,5 5 µg/m³, NO2 10 µg/m³), soit les décès évitables si elles étaient "
            "respectées : méthode EQIS (fonction log-linéaire, risques relatifs de Santé publique France, calcul "
            "par carreau de 200 m) ; intervalle à 95 % du risque relatif. Les décès PM2,5 et NO2 se recouvrent : "
            "ne pas les additionner. Années de vie perdues (quand une table de mortalité est chargée) : décès "
            "attribuables × espérance de vie restante à l'âge moyen de décès de chaque tranche d'âge "
            "(approximation). Gêne et troubles du sommeil : courbes de la directive (UE) 2020/367 au "
            "centre des bandes de la carte de bruit ; les habitants sous 55 dB(A) Lden (50 dB(A) Ln) ne sont pas "
            "comptés (borne basse). Cardiopathies ischémiques (quand une incidence est chargée) : fraction "
            "attribuable au bruit routier (OMS 2018, directive (UE) 2020/367) × incidence × habitants.</p>")


def _map(cells: pd.DataFrame, hotspots: pd.DataFrame, zones: pd.DataFrame) -> str:
    head = "<h3>Multi-exposition air et bruit (carreaux de 200 m)</h3>"
    classed = cells[cells["combined_class"].notna()] if not cells.empty else cells
    frame = maps.frame_of(zones, classed, WIDTH)
    if classed.empty or frame is None:
        return head + "<p>Pas de classe de multi-exposition pour cette année (moyennes annuelles ou carte de bruit " \
                      "absentes).</p>"
    index = classed["combined_class"].astype(int).clip(0, len(CLASS_COLOURS) - 1).to_numpy()
    colours = np.array(CLASS_COLOURS, dtype=np.uint8)[index]
    colours[classed["is_hotspot"].fillna(False).astype(bool).to_numpy()] = HOTSPOT_COLOUR
    body = maps.pixel_image(frame, classed["cell_id"], colours) + maps.zone_outlines(frame, zones, _e)
    names = [labels.exposure_class(code) for code in register.parameters().words("multiexposure_labels")]
    names = [f"{i} {name}" for i, name in enumerate(names)] + ["point chaud air-bruit"]
    legend = maps.class_legend([*CLASS_COLOURS[:len(names) - 1], HOTSPOT_COLOUR], names, _e)
    figures = ""
    if not hotspots.empty and pd.notna(hotspots["population"].iloc[0]):
        h = hotspots.iloc[0]
        plural = "s" if (h["facilities"] or 0) > 1 else ""
        figures = (f"<p><strong>Paris : {_e(labels.number(h['population']))} habitants en point chaud "
                   f"({_e(labels.number(100 * h['share'], 1))} %), dont {_e(labels.number(h['pop_0_5']))} enfants "
                   f"de 0 à 5 ans et {_e(labels.number(h['pop_65p']))} personnes de 65 ans et plus ; "
                   f"{_e(labels.number(h['facilities']))} établissement{plural} sensible{plural}.</strong></p>")
    elif not hotspots.empty:
        figures = "<p><strong>Paris : aucun habitant en point chaud air-bruit cette année.</strong></p>"
    return (head + "<figure>" + maps.svg(frame, body, "Carte 200 m : classes de multi-exposition air et bruit", _e)
            + legend + "</figure>" + figures +
            "<p class=\"muted\">Classe = classe air + classe bruit. Air : 0 sous toutes les valeurs guides OMS 2021, "
            "1 au-dessus d'une valeur guide, 2 au-dessus d'une valeur limite européenne 2030, 3 au-dessus d'une "
            "valeur limite actuelle (moyennes annuelles de PM2,5, PM10, NO2). Bruit routier (Lden) : 0 jusqu'à "
            "53 dB(A) (valeur guide OMS 2018) ou hors carte, 1 au-dessus, 2 au-dessus de 68 dB(A) (valeur limite, "
            "point noir) ; classe du bruit dominant du carreau. Point chaud : air 2 ou plus et bruit 2. Classes "
            "inspirées d'ORHANE et de l'étude multi-exposition Airparif-Bruitparif, sans texte officiel (choix "
            "de conception, seuils du registre).</p>")


def _equity_table(equity: pd.DataFrame) -> str:
    head = "<h3>Exposition selon le niveau de vie (quintiles de la population parisienne)</h3>"
    if equity.empty:
        return head + "<p>Pas de niveau de vie par carreau ou pas de moyenne annuelle pour cette année.</p>"
    by = {ind: rows.set_index("income_quintile") for ind, rows in equity.groupby("indicator")}
    pm = by.get("PM2.5", pd.DataFrame())
    lines = []
    for q in range(1, 6):
        def cell(indicator: str, column: str, digits: int = 1, scale: float = 1.0, q: int = q) -> str:
            rows = by.get(indicator)
            value = rows[column].get(q) if rows is not None and column in rows else None
            return f"<td class=\"n\">{labels.number(None if value is None else scale * value, digits)}</td>"
        name = {1: "1 (les plus modestes)", 5: "5 (les plus aisés)"}.get(q, str(q))
        lines.append(f"<tr><td>{_e(name)}</td>{cell('PM2.5', 'standard_of_living_mean', 0)}"
                     f"{cell('PM2.5', 'poverty_share', 1, 100)}{cell('PM2.5', 'pop_weighted_mean')}"
                     f"{cell('NO2', 'pop_weighted_mean')}{cell('Lden_road', 'pop_weighted_mean')}"
                     f"{cell('PM2.5', 'share_above_limit', 1, 100)}"
                     f"{cell('PM2.5', 'attributable_deaths_per_100k_30p')}</tr>")
    ratio = pm["pwm_ratio_q1_q5"].dropna() if "pwm_ratio_q1_q5" in pm else pd.Series(dtype=float)
    gap = (f"<p>Rapport PM2,5 des plus modestes aux plus aisés (Q1/Q5) : "
           f"{_e(labels.number(ratio.iloc[0], 2))}.</p>" if len(ratio) else "")
    return (head + "<table><tr><th>Quintile</th><th>Niveau de vie moyen (€/UC/an)</th><th>Ménages pauvres (%)</th>"
            "<th>PM2,5 (µg/m³)</th><th>NO2 (µg/m³)</th><th>Lden route (dB(A), exposés)</th>"
            "<th>PM2,5 au-dessus de la valeur limite UE 2030 (%)</th><th>Décès PM2,5 pour 100 000 (30 ans et plus)</th>"
            f"</tr>{''.join(lines)}</table>{gap}"
            "<p class=\"muted\">Carreaux de 200 m classés par le niveau de vie moyen de leurs habitants (INSEE "
            "Filosofi, Ind_snv / Ind), puis coupés en cinq groupes d'habitants de même effectif. Moyennes pondérées "
            "par la population ; Lden : habitants des bandes cartographiées (55 dB(A) et plus) seulement. Les "
            "décès utilisent le taux de mortalité de l'arrondissement : ils ne reflètent pas une mortalité "
            "différente selon le revenu.</p>")
