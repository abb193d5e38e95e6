"""``spse`` command line: run the daily job, query the published warehouse, read alerts.

Every query command opens the published warehouse read-only, so it works while a run is
building the next one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from exc


def _ensure_demo_if_needed() -> None:
    """Generate the demo bundle when at least one source still points at it."""
    from spse import sources
    from spse.core import config

    if any(config.is_demo(s.name) for s in sources.discover()):
        from spse.pipeline import demo

        demo.ensure()


def cmd_run(args: argparse.Namespace) -> int:
    """Run the daily job for local day ``args.date`` (Europe/Paris) without Airflow, then print its summary."""
    from spse.pipeline import daily as pipeline

    _ensure_demo_if_needed()
    summary = pipeline.run_day(args.date)
    print(f"spse run {summary.day}: {summary.alerts} alert rows; warehouse {summary.warehouse}; "
          f"bulletin {summary.bulletin}")
    if not args.quiet:
        print_summary(args.date)
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    """Build the local days ``--from`` … ``--to`` in bulk (``spse.pipeline.backfill``), then print what was done."""
    from spse.pipeline import backfill

    _ensure_demo_if_needed()
    report = backfill.backfill(args.first, args.last, force=args.force, progress=not args.no_progress)
    print(f"spse backfill {report.first}..{report.last}: {len(report.built)} jours construits, "
          f"{len(report.skipped)} déjà construits (--force pour les refaire), {len(report.missing)} sans "
          f"observations ; {report.alerts} lignes d'alerte ; entrepôt {report.warehouse or 'inchangé'}")
    for day, why in sorted(report.missing.items()):
        print(f"  {day} : observations de l'air manquantes : {why}")
    if report.seconds:
        print("  durées : " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in report.seconds.items()))
    return 0 if not report.missing else 2


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the synthetic demo bundle (again with ``--force``), install its subscribers; print both paths."""
    from spse.core import config
    from spse.pipeline import demo

    path = demo.generate() if args.force else demo.ensure()
    print(f"demo bundle: {path}")
    subscriptions = config.subscriptions_file()
    if demo.install_subscriptions(subscriptions):
        print(f"demo subscribers: {subscriptions}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest one source for local day ``args.date`` and print the ingest report as JSON."""
    from spse.pipeline import daily as pipeline

    _ensure_demo_if_needed()
    report = pipeline.ingest_source(args.source, args.date)
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one expert read statement on the published warehouse; print its rows as a table, CSV or JSON."""
    from spse.pipeline.warehouse import expert

    try:
        frame = expert.frame(args.query, timeout_s=args.timeout, memory_limit=args.memory_limit)
    except expert.Refused as exc:
        print(f"spse sql: refused: {exc}", file=sys.stderr)
        return 1
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        with _wide_pandas():
            print(frame.to_string(index=False, max_rows=args.max_rows))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write one expert read statement's rows to a CSV, Parquet or GeoJSON file."""
    from spse.pipeline import export
    from spse.pipeline.warehouse import expert

    try:
        path = export.export(args.query, args.output, args.format, force=args.force, timeout_s=args.timeout,
                             memory_limit=args.memory_limit)
    except expert.Refused as exc:
        print(f"spse export: refused: {exc}", file=sys.stderr)
        return 1
    print(f"spse export: wrote {path}")
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    """Print the warehouse's tables and columns with their descriptions and units."""
    from spse.pipeline import warehouse

    frame = warehouse.describe_tables()
    if args.schema:
        frame = frame[frame["schema"] == args.schema]
    if args.table:
        frame = frame[frame["table"] == args.table]
    for (schema, table), cols in frame.groupby(["schema", "table"], sort=True):
        print(f"{schema}.{table}")
        for row in cols.itertuples():
            unit = f" [{row.unit}]" if row.unit and row.unit != "-" else ""
            print(f"  {row.column:<32} {row.type:<12} {row.description}{unit}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Print every alert dated local day ``args.date`` (observed, data quality, forecast), one per line or JSON.

    Lines are in French unless ``--lang en``; codes are named through :mod:`spse.pipeline.labels`.
    """
    from spse.pipeline.warehouse import connect_readonly, report

    con = connect_readonly()
    try:
        frame = report.day_alerts(con, args.date, forecast=True, order=report.BY_LEVEL)
    finally:
        con.close()
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
        return 0
    if frame.empty:
        print(_t(args.lang, f"aucune alerte le {args.date}", f"no alert for {args.date}"))
        return 0
    for row in frame.to_dict("records"):
        print(alert_line(row, args.lang))
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    """Send the day's new or changed notifications (webhook, subscribers) and print what happened.

    Returns 1 when a subscriber's delivery failed or an entry of the subscriptions file was rejected.
    """
    from spse.pipeline import notify

    result = notify.deliver(args.date)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"spse notify {args.date}: webhook {result['webhook']} ({result['sent']} sent, "
              f"{result['already_delivered']} already delivered)")
        subs = result.get("subscriptions")
        if subs is None:
            print("subscribers: no subscriptions file")
        else:
            print(f"subscribers ({subs['file']}, e-mail {subs['email']}): {subs['sent']} sent, "
                  f"{subs['already_sent']} already sent, {len(subs['failed'])} failed, "
                  f"{subs['not_sent']} not sent (no SMTP), {len(subs['rejected'])} entries rejected")
            for failed in subs["failed"]:
                print(f"  failed: {failed['subscriber']} ({failed['channel']} {failed['address']}), "
                      f"alert {failed['alert_id']}: {failed['reason']}")
            for rejected in subs["rejected"]:
                print(f"  rejected: {rejected['entry']}: {rejected['reason']}")
    subs = result.get("subscriptions") or {}
    return 1 if subs.get("failed") or subs.get("rejected") else 0


def _t(lang: str, french: str, english: str) -> str:
    return english if lang == "en" else french


def alert_line(row: dict, lang: str = "fr") -> str:
    """One alert of ``marts.alerts`` on one line, in French (``lang="fr"``) or English (``"en"``).

    The same words as the bulletin (:mod:`spse.pipeline.labels`): threshold and set, maximum
    value [µg/m³] against the threshold, basis, zones, the alert's one population figure and what
    it counts, sensitive facilities by category; a data-quality row gives its source and message.
    """
    from spse.core import register
    from spse.pipeline import labels

    if row["kind"] == "data_quality":
        return (f"[{labels.kind(row['kind'], lang)}] {labels.source(row['pollutant'], lang)} "
                f"({labels.threshold_set(row['set_id'], lang)})"
                f"{_t(lang, ' : ', ': ')}{row['recommendation']}")
    value = labels.exceedance(row, lang) + (_t(lang, f", d'après : {labels.basis(row['basis'])}",
                                                f", from {labels.basis(row['basis'], 'en')}")
                                             if row["status"] != "closed" else "")
    facilities = labels.categories(row.get("facilities_by_category"),
                                   register.parameters().words("facility_sensitivity_order"), lang)
    criteria = labels.criteria(row.get("criteria"), lang)
    sep, colon = _t(lang, " ; ", "; "), _t(lang, " : ", ": ")
    criteria = f"{sep}{_t(lang, 'critères', 'criteria')}{colon}{criteria}" if criteria else ""
    forecast = _t(lang, ", prévision", ", forecast") if row["kind"] == "forecast" else ""
    return (f"[{labels.alert_type(row, lang)}{forecast}, {labels.status(row['status'], lang)}] "
            f"{labels.pollutant(row['pollutant'], lang)}{colon}{labels.threshold(row['set_id'], row['level'], lang)}"
            f"{sep}{value}{sep}zones{colon}{row.get('zone_names') or '-'}{sep}population{colon}"
            f"{labels.population(row, lang)}{sep}{int(row.get('facility_count') or 0)} "
            f"{_t(lang, 'établissements sensibles', 'sensitive facilities')} ({facilities}){criteria}")


# Column headers of the key indicators in the summary (French, English).
KEY_LABELS = {"zone_id": ("code", "zone_id"), "zone_name": ("zone", "zone"),
              "pm10_day_mean_ug_m3": ("PM10 moy. jour", "pm10_mean"),
              "pm25_day_mean_ug_m3": ("PM2,5 moy. jour", "pm25_mean"),
              "no2_day_max_1h_ug_m3": ("NO2 max. horaire", "no2_max1h"),
              "o3_day_max_8h_mean_ug_m3": ("O3 max. 8 h", "o3_max8h"), "population": ("population", "population")}


def print_summary(day: dt.date, lang: str = "fr") -> None:
    """Print the short end-of-run summary of local day ``day`` (Europe/Paris), in French or English (``lang``).

    Tables built, key indicators per arrondissement (µg/m³), what the figures lack, alerts (with
    the facilities concerned) and forecast alerts, from one read of the published warehouse
    (:mod:`spse.pipeline.warehouse.report`), in the bulletin's words (:mod:`spse.pipeline.labels`);
    then the paths of the bulletin, warehouse and outbox.
    """
    from spse.core.config import settings
    from spse.pipeline import labels
    from spse.pipeline.warehouse import connect_readonly, report
    from spse.pipeline.warehouse.reader import fetch_frame

    last_year = day.year - 1 if day.month == 1 else day.year  # January reports on the last complete year
    con = connect_readonly()
    try:
        tables = fetch_frame(con, "select schema_name || '.' || table_name as name, estimated_size as rows "
                                  "from duckdb_tables() where schema_name = 'marts' order by 1")
        key = report.key_indicators(con, day)[list(KEY_LABELS)]
        alerts = report.day_alerts(con, day, forecast=True, order=report.BY_LEVEL)
        lacking = report.lacking(con, day)
        facilities = {row.Index: report.facility_names(con, row.facility_ids.split(","))
                      for row in alerts.itertuples() if row.kind != "data_quality" and row.facility_ids}
        forecast = report.forecast_alerts(con, day, order=report.BY_LEVEL)
        year = report.year_figures(con, last_year)
    finally:
        con.close()
    which = 1 if lang == "en" else 0
    shown = key.copy()
    for column in report.KEY_INDICATORS:
        shown[column] = [labels.number(v, 1, lang) for v in key[column]]
    shown["population"] = [labels.number(v, 0, lang) for v in key["population"]]
    shown = shown.rename(columns={c: names[which] for c, names in KEY_LABELS.items()})
    print("\n" + _t(lang, f"Tables construites ({len(tables)} marts) :", f"Tables built ({len(tables)} marts):"))
    print("  " + ", ".join(f"{r.name} ({labels.number(r.rows, 0, lang)})" for r in tables.itertuples()))
    print("\n" + _t(lang, f"Indicateurs clés du {day} (pondérés par la population, µg/m³, journée Europe/Paris) :",
                    f"Key indicators for {day} (population-weighted, µg/m³, Europe/Paris day):"))
    with _wide_pandas():
        print(shown.to_string(index=False))
    print_lacking(lacking, lang)
    print("\n" + _t(lang, f"Alertes du jour ({len(alerts)}) :", f"Alerts raised ({len(alerts)}):"))
    for row in alerts.itertuples():
        print("  " + alert_line(row._asdict(), lang))
        if row.Index in facilities:
            print("      " + _facility_line(facilities[row.Index], lang))
    later = (day + dt.timedelta(days=1), day + dt.timedelta(days=2))
    print("\n" + _t(lang, f"Alertes prévues pour le {later[0]} et le {later[1]} (CAMS, {len(forecast)}) :",
                    f"Forecast alerts for {later[0]} and {later[1]} (CAMS, {len(forecast)}):"))
    for row in forecast.itertuples():
        print(f"  {row.date:%Y-%m-%d} " + alert_line(row._asdict(), lang))
    print_year(year, last_year, lang)
    print("\n" + _t(lang, "Bulletin :  ", "Bulletin:  ") + str(settings().bulletin / f"{day}.html"))
    print(_t(lang, "Entrepôt :  ", "Warehouse: ") + f"{settings().warehouse}  (spse sql \"select ...\"; spse tables)")
    print(_t(lang, "Envois :    ", "Outbox:    ") + str(settings().outbox / "alerts" / day.isoformat()))


def print_year(figures: dict, year: int, lang: str = "fr") -> None:
    """Print the year's figures for Paris (:func:`spse.pipeline.warehouse.report.year_figures`), when there are any.

    January reports on the year before, the last complete one; any other month on the year so far.
    """
    from spse.pipeline import labels

    exposure, alerts, health = figures["exposure"], figures["alerts"], figures["health"]
    if exposure.empty and alerts.empty and health.empty:
        return
    print("\n" + _t(lang, f"L'année {year} à Paris (historique de l'entrepôt) :",
                    f"The year {year} in Paris (the warehouse's history):"))
    for row in exposure.itertuples():
        above = ("" if row.who_annual_ug_m3 != row.who_annual_ug_m3 else
                 _t(lang, f" ; {labels.number(row.above_who_annual, 0, lang)} habitants au-dessus de la valeur "
                          f"guide annuelle OMS ({labels.number(row.who_annual_ug_m3, 0, lang)} µg/m³)",
                    f"; {labels.number(row.above_who_annual, 0, lang)} residents above the WHO annual guideline "
                    f"({labels.number(row.who_annual_ug_m3, 0, lang)} µg/m³)"))
        print(f"  {labels.pollutant(row.pollutant, lang)}" + _t(lang, " : moyenne annuelle pondérée ",
                                                                 ": population-weighted annual mean ")
              + f"{labels.number(row.mean_ug_m3, 1, lang)} µg/m³"
              + _t(lang, f" (couverture atteinte pour {labels.number(100 * row.share_covered, 0, lang)} % "
                         "de la population)", f" (coverage met for {labels.number(100 * row.share_covered, 0, lang)} "
                                              "% of the population)") + above)
    if len(alerts):
        days = "; ".join(f"{labels.kind(r.alert_type, lang)} {labels.pollutant(r.pollutant, lang)} : {r.days}"
                         for r in alerts.itertuples())
        print("  " + _t(lang, "jours avec une alerte observée, par type : ", "days with an observed alert, by type: ")
              + days)
    for row in health.itertuples():
        low, high = (labels.number(v, 0, lang) for v in (row.attributable_deaths_low, row.attributable_deaths_high))
        print("  " + _t(lang, f"décès (30 ans et plus) attribuables à {row.pollutant} au-dessus de la valeur guide "
                              "OMS : ", f"deaths (aged 30+) attributable to {row.pollutant} above the WHO guideline: ")
              + f"{labels.number(row.attributable_deaths, 0, lang)} [{low}-{high}]"
              + _years_lost(row, lang)
              + _t(lang, " (intervalle à 95 % du risque relatif)", " (95 % interval of the relative risk)"))


def _years_lost(row, lang: str) -> str:
    """`` ; N [low-high] années de vie perdues`` when the life table allowed years of life lost, else nothing."""
    from spse.pipeline import labels

    if row.years_of_life_lost != row.years_of_life_lost:  # NULL: no usable life table
        return ""
    low, high = (labels.number(v, 0, lang) for v in (row.years_of_life_lost_low, row.years_of_life_lost_high))
    value = labels.number(row.years_of_life_lost, 0, lang)
    return _t(lang, f" ; {value} [{low}-{high}] années de vie perdues", f"; {value} [{low}-{high}] years of life lost")


def print_lacking(lines: list[str], lang: str = "fr") -> None:
    """Print what the day's figures lack (:func:`spse.pipeline.warehouse.report.lacking`; its lines are French)."""
    if lines:
        print("\n" + _t(lang, "Ce qui manque aux chiffres du jour :", "What the day's figures lack (in French):"))
        for line in lines:
            print(f"  - {line}")


def _facility_line(names, lang: str = "fr", shown: int = 6) -> str:
    from spse.pipeline import labels

    listed = "; ".join(f"{r.name} ({labels.category(r.category, lang)})" for r in names.head(shown).itertuples())
    more = len(names) - shown
    tail = _t(lang, f"; et {more} autres (spse alerts --json)", f"; and {more} more (spse alerts --json)")
    return _t(lang, "établissements : ", "facilities: ") + listed + (tail if more > 0 else "")


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the end-of-run summary of local day ``args.date`` (:func:`print_summary`), French unless ``--lang en``."""
    print_summary(args.date, args.lang)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    """Print each source's cadence, last successful fetch, rows, freshness and quality."""
    from spse import sources
    from spse.core.config import source_base_url
    from spse.core.redaction import redact_url
    from spse.pipeline import freshness

    frame = freshness.report(sources.discover(), day=args.date)
    running = {s.name for s in sources.active()}
    frame["runs"] = ["yes" if name in running else "not configured" for name in frame["source"]]
    frame["location"] = [redact_url(source_base_url(name)) for name in frame["source"]]
    frame["status"] = [freshness.shown_status(row) for row in frame.to_dict("records")]
    columns = ["source", "kind", "cadence", "schedule", "runs", "latest_partition", "rows", "last_fetch_utc",
               "age_hours", "status", "quality"] + (["location"] if args.locations else [])
    with _wide_pandas():
        print(frame[columns].astype(object).where(frame[columns].notna(), "-").to_string(index=False))
    return 0


def cmd_new_source(args: argparse.Namespace) -> int:
    """Scaffold a new source plug-in (module, recorded sample, test) and print the files written."""
    from spse.pipeline.scaffold import new_source

    for path in new_source(args.name, Path(args.root), dataset=args.dataset, like=args.like):
        print(f"wrote {path}")
    print(f"next: make test (the contract suite now runs on {args.name}); then replace the sample, "
          "the parser and the expected values together (README, 'Add a source')")
    return 0


class _wide_pandas:
    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context("display.width", 200, "display.max_columns", 50)
        self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def build_parser() -> argparse.ArgumentParser:
    """The ``spse`` argument parser, one sub-command per ``cmd_*`` function."""
    parser = argparse.ArgumentParser(prog="spse", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the daily job for one local day, without Airflow")
    p.add_argument("--date", type=_date, required=True, help="local day (Europe/Paris), YYYY-MM-DD")
    p.add_argument("--quiet", action="store_true", help="no summary")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="build many past local days in bulk: one process, one warehouse publish")
    p.add_argument("--from", dest="first", type=_date, required=True, help="first local day (Europe/Paris)")
    p.add_argument("--to", dest="last", type=_date, required=True, help="last local day, included")
    p.add_argument("--force", action="store_true", help="rebuild the days already built")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("demo", help="generate the synthetic demo bundle")
    p.add_argument("--force", action="store_true", help="regenerate even if present")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="ingest one source for one day")
    p.add_argument("source")
    p.add_argument("--date", type=_date, required=True)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sql", help="run one read-only query on the published warehouse (no file access, "
                                   "time and memory limits)")
    p.add_argument("query", help="one SELECT (or DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) on the marts and meta tables")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--max-rows", type=int, default=200)
    _add_limits(p)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("export", help="write one read-only query's rows to a CSV, Parquet or GeoJSON (WGS84) file")
    p.add_argument("query", help="one SELECT on the marts and meta tables")
    p.add_argument("--format", choices=["csv", "parquet", "geojson"], required=True)
    p.add_argument("--output", type=Path, required=True, help="file to write (not inside SPSE_HOME's lake, "
                                                              "warehouse, raw or quarantine)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    _add_limits(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("tables", help="list tables and columns with descriptions and units")
    p.add_argument("--schema", default="marts", help="schema to list ('' for all)")
    p.add_argument("--table")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("alerts", help="the alerts of one day")
    p.add_argument("--date", type=_date, required=True)
    p.add_argument("--json", action="store_true")
    _add_lang(p)
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("notify", help="send the day's new or changed alerts to the webhook and the subscribers")
    p.add_argument("--date", type=_date, required=True, help="local day (Europe/Paris), YYYY-MM-DD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_notify)

    p = sub.add_parser("summary", help="the end-of-run summary of one day")
    p.add_argument("--date", type=_date, required=True)
    _add_lang(p)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("new-source", help="scaffold a new source: module, recorded sample, test")
    p.add_argument("name", help="snake_case source name, e.g. city_noise_sensors")
    p.add_argument("--root", default=".", help="repository root (default: current folder)")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--dataset", help="lake dataset it lands in, e.g. air_hourly: its columns are copied from "
                       "the dataset's producer")
    model.add_argument("--like", metavar="SOURCE", help="existing source whose dataset, columns and cadence it copies")
    p.set_defaults(func=cmd_new_source)

    p = sub.add_parser("sources", help="sources: cadence, last successful fetch, rows, freshness, quality")
    p.add_argument("--date", type=_date, help="also flag daily sources with no partition for this day, and show "
                   "the quality outcome (ok, partial, refused, failed) of that day's partition")
    p.add_argument("--locations", action="store_true", help="show where each source is read from")
    p.set_defaults(func=cmd_sources)
    return parser


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["fr", "en"], default="fr", help="language of the text (default: fr, "
                                                                      "as the bulletin)")


def _add_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="stop the query after this many seconds (default $SPSE_SQL_TIMEOUT_S or 60)")
    p.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB memory limit, e.g. 512MB (default $SPSE_SQL_MEMORY_LIMIT or 1GB)")


def main(argv: list[str] | None = None) -> int:
    """Run the ``spse`` command line on ``argv``; return the process exit status (0 when it succeeded)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into head or less, closed early
        sys.stderr.close()
        return 0
    except Exception as exc:  # the CLI reports, it does not dump a traceback at the user
        if args.verbose:
            raise
        print(f"spse {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
