"""The shared ingest path, on a toy source defined here (not registered)."""

import datetime as dt
import json

import pandas as pd
import pytest

from spse.core.errors import SchemaError
from spse.pipeline import ingest, lake
from spse.sources.base import Column, ParseResult, Source, reject_rows

DAY = dt.date(2026, 1, 15)


class ToySource(Source):
    name = "toy_feed"
    dataset = "toy"
    kind = "air"
    cadence = "daily"
    schedule = "0 * * * *"
    description = "toy"
    columns = {"k": Column("VARCHAR", "-", "key", nullable=False), "v": Column("DOUBLE", "µg/m³", "value")}
    primary_key = ("k",)

    def files(self, day):
        return [f"{day:%Y}/toy_{day.isoformat()}.csv"]

    def parse(self, payload, filename, partition):
        lines = payload.decode().splitlines()
        if lines[0] != "k;v":
            raise SchemaError(self.name, f"unexpected header {lines[0]!r}", file=filename, row=1)
        good, bad = [], []
        for n, line in enumerate(lines[1:], start=2):
            k, v = line.split(";")
            try:
                good.append((k, float(v)))
            except ValueError:
                bad.append((n, f"value {v!r} is not a number", line))
        frame = pd.DataFrame(good, columns=["k", "v"]).astype({"k": object})
        rejects = reject_rows(self.name, filename, [b[0] for b in bad], [b[1] for b in bad], [b[2] for b in bad])
        return ParseResult(frame, rejects)


def serve(httpserver, body, status=200, headers=None):
    httpserver.clear()
    httpserver.expect_request("/2026/toy_2026-01-15.csv").respond_with_data(body, status=status, headers=headers)


def test_ingest_lands_raw_parses_and_quarantines(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_TOY_FEED_URL", httpserver.url_for("/"))
    serve(httpserver, "k;v\na;1.5\nb;oops\n")
    report = ingest.ingest(ToySource(), DAY)
    assert (report.rows, report.rejected) == (1, 1)
    rejects = pd.read_parquet(spse_home / "quarantine/toy_feed/date=2026-01-15/rejects.parquet")
    assert rejects.loc[0, "row"] == 3 and "oops" in rejects.loc[0, "reason"]
    provenance = json.loads((spse_home / "lake/toy/source=toy_feed/date=2026-01-15/provenance.json").read_text())
    assert provenance["files"][0]["sha256"] and provenance["parser_version"] == "1"


def test_rewritten_upstream_file_keeps_both_raw_versions_and_replaces_partition(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_TOY_FEED_URL", httpserver.url_for("/"))
    serve(httpserver, "k;v\na;1\n")
    ingest.ingest(ToySource(), DAY)
    serve(httpserver, "k;v\na;2\nb;3\n")
    ingest.ingest(ToySource(), DAY)
    assert len(list((spse_home / "raw/toy_feed/date=2026-01-15").glob("*/toy_2026-01-15.csv"))) == 2
    assert sorted(lake.read_partition("toy", "date=2026-01-15")["v"]) == [2.0, 3.0]


def test_conditional_request_reuses_the_landed_file_on_304(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_TOY_FEED_URL", httpserver.url_for("/"))
    serve(httpserver, "k;v\na;1\n", headers={"ETag": '"v1"'})
    ingest.ingest(ToySource(), DAY)
    httpserver.clear()
    httpserver.expect_request("/2026/toy_2026-01-15.csv", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304)
    report = ingest.ingest(ToySource(), DAY)
    assert report.rows == 1 and report.files[0]["not_modified"] is True
    assert lake.read_partition("toy", "date=2026-01-15")["v"].tolist() == [1.0]


def test_html_error_page_is_refused_and_last_good_partition_kept(spse_home, httpserver, monkeypatch):
    monkeypatch.setenv("SPSE_TOY_FEED_URL", httpserver.url_for("/"))
    serve(httpserver, "k;v\na;1\n")
    ingest.ingest(ToySource(), DAY)
    serve(httpserver, "<!DOCTYPE html><html><body>Maintenance</body></html>")
    with pytest.raises(SchemaError, match=r"feed toy_feed, file 2026/toy_2026-01-15.csv: received an HTML page"):
        ingest.ingest(ToySource(), DAY)
    assert lake.read_partition("toy", "date=2026-01-15")["v"].tolist() == [1.0]
    assert len(list((spse_home / "raw/toy_feed").rglob("toy_2026-01-15.csv"))) == 2  # the HTML page is kept too


def test_changed_header_names_feed_file_and_row(spse_home, tmp_path, monkeypatch):
    folder = tmp_path / "up" / "2026"
    folder.mkdir(parents=True)
    (folder / "toy_2026-01-15.csv").write_text("key;value\na;1\n")
    monkeypatch.setenv("SPSE_TOY_FEED_URL", str(tmp_path / "up"))
    with pytest.raises(SchemaError, match=r"feed toy_feed, file 2026/toy_2026-01-15\.csv, row 1: unexpected header"):
        ingest.ingest(ToySource(), DAY)
    assert not lake.has_partition("toy", "date=2026-01-15")


def test_days_ingested_together_go_on_past_a_bad_day(spse_home, tmp_path, monkeypatch):
    """``ingest_days``: each day its own partition, quarantine and quality record; a bad day is its error only."""
    from spse.pipeline import qualitylog

    folder = tmp_path / "up" / "2026"
    folder.mkdir(parents=True)
    (folder / "toy_2026-01-15.csv").write_text("k;v\na;1\nb;oops\n")
    (folder / "toy_2026-01-16.csv").write_text("key;value\na;1\n")
    (folder / "toy_2026-01-18.csv").write_text("k;v\na;4\nb;5\n")
    monkeypatch.setenv("SPSE_TOY_FEED_URL", str(tmp_path / "up"))
    days = [dt.date(2026, 1, d) for d in (15, 16, 17, 18)]
    done = ingest.ingest_days(ToySource(), days)
    assert list(done) == days
    assert (done[days[0]].rows, done[days[0]].rejected) == (1, 1)
    assert isinstance(done[days[1]], SchemaError) and "unexpected header" in done[days[1]].problem
    assert "not found" in str(done[days[2]])
    assert lake.read_partition("toy", "date=2026-01-18")["v"].tolist() == [4.0, 5.0]
    assert not lake.has_partition("toy", "date=2026-01-16")
    outcomes = [qualitylog.read("toy_feed", f"date={day}")["outcome"] for day in days]
    assert outcomes == ["ok", "failed", "failed", "ok"]
    assert qualitylog.read("toy_feed", "date=2026-01-15")["quarantined"] == 1


def test_days_ingested_together_are_parsed_in_batches_of_bounded_size(spse_home, tmp_path, monkeypatch):
    """Files go to ``parse_batch`` a few at a time, never more than ``PARSE_BATCH_BYTES`` (a larger one alone)."""
    batches = []

    class Recording(ToySource):
        def parse_batch(self, items):
            batches.append([filename for _, filename, _ in items])
            return super().parse_batch(items)

    folder = tmp_path / "up" / "2026"
    folder.mkdir(parents=True)
    bodies = {15: "k;v\na;1\n", 16: "k;v\na;2\n", 17: "k;v\n" + "".join(f"k{i};{i}\n" for i in range(10)),
              18: "k;v\nb;3\n"}
    for d, body in bodies.items():
        (folder / f"toy_2026-01-{d}.csv").write_text(body)
    monkeypatch.setenv("SPSE_TOY_FEED_URL", str(tmp_path / "up"))
    monkeypatch.setattr(ingest, "PARSE_BATCH_BYTES", 16)
    done = ingest.ingest_days(Recording(), [dt.date(2026, 1, d) for d in bodies])
    assert [len(b) for b in batches] == [2, 1, 1]  # 8 + 8 bytes, then 54 bytes alone, then 8
    assert [done[dt.date(2026, 1, d)].rows for d in bodies] == [1, 1, 10, 1]
