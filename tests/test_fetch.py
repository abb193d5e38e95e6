"""spse.pipeline.fetch against a local HTTP server (pytest-httpserver), file:// and plain paths."""

import datetime as dt
import time
from pathlib import Path

import pytest
from werkzeug import Response

from spse.core.errors import FetchError, SchemaError
from spse.core.http import FetchPolicy
from spse.pipeline import lake
from spse.pipeline.fetch import fetch
from spse.pipeline.ingest import ingest
from spse.sources.lcsqa_e2 import SOURCE as E2

FAST = FetchPolicy(timeout_s=(2.0, 2.0), retries=2, backoff_s=0.01, max_backoff_s=0.05)
E2_SAMPLE = Path(__file__).parent / "fixtures" / "sources" / "lcsqa_e2" / "2026" / "FR_E2_2026-01-15.csv"


def test_ok(httpserver):
    httpserver.expect_request("/data.csv").respond_with_data("a;b\n1;2\n", headers={"ETag": '"v1"'})
    got = fetch("demo", httpserver.url_for("/data.csv"), FAST)
    assert got.content == b"a;b\n1;2\n" and got.status == 200 and got.headers["ETag"] == '"v1"'


def test_redirect_is_followed(httpserver):
    httpserver.expect_request("/old").respond_with_data("", status=302, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("moved here")
    assert fetch("demo", httpserver.url_for("/old"), FAST).content == b"moved here"


def test_retry_on_503_then_success(httpserver):
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data("done")
    assert fetch("demo", httpserver.url_for("/flaky"), FAST).content == b"done"
    assert len(httpserver.log) == 2


def test_503_every_time_gives_up_after_the_retries(httpserver):
    httpserver.expect_request("/down").respond_with_data("busy", status=503)
    with pytest.raises(FetchError, match=r"feed demo, url http://.*/down: HTTP 503 after 3 attempts"):
        fetch("demo", httpserver.url_for("/down"), FAST)
    assert len(httpserver.log) == 3


def test_429_retry_after_is_honoured(httpserver):
    slow_backoff = FetchPolicy(timeout_s=(2.0, 2.0), retries=1, backoff_s=30.0, max_backoff_s=30.0)
    httpserver.expect_ordered_request("/limited").respond_with_data("slow down", status=429,
                                                                    headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/limited").respond_with_data("ok")
    start = time.monotonic()
    assert fetch("demo", httpserver.url_for("/limited"), slow_backoff).content == b"ok"
    assert time.monotonic() - start < 5  # Retry-After: 0 replaced the 30 s backoff


def test_404_names_feed_and_url_without_retrying(httpserver):
    httpserver.expect_request("/missing.csv").respond_with_data("no", status=404)
    url = httpserver.url_for("/missing.csv")
    with pytest.raises(FetchError) as err:
        fetch("lcsqa_e2", url, FAST)
    assert err.value.status == 404 and err.value.feed == "lcsqa_e2"
    assert str(err.value) == f"feed lcsqa_e2, url {url}: HTTP 404"
    assert len(httpserver.log) == 1


def test_size_cap_on_declared_length(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 1000)
    with pytest.raises(FetchError, match="body of 1000 bytes exceeds the cap of 100"):
        fetch("demo", httpserver.url_for("/big"), FetchPolicy(max_bytes=100, retries=0))


def test_size_cap_on_streamed_body(httpserver):
    def chunks():
        for _ in range(10):
            yield b"y" * 100

    httpserver.expect_request("/stream").respond_with_response(Response(chunks()))
    with pytest.raises(FetchError, match="body exceeds the cap of 250 bytes"):
        fetch("demo", httpserver.url_for("/stream"), FetchPolicy(max_bytes=250, retries=0))


def test_read_timeout(httpserver):
    def sleepy(request):
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(sleepy)
    policy = FetchPolicy(timeout_s=(1.0, 0.1), retries=1, backoff_s=0.01)
    with pytest.raises(FetchError, match=r"feed demo, url .*/slow: timed out \(\w+\) after 2 attempts"):
        fetch("demo", httpserver.url_for("/slow"), policy)


def test_file_url_and_plain_path(tmp_path):
    path = tmp_path / "dir with space" / "data.csv"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbfa;b\r\n")
    assert fetch("demo", path.as_uri()).content == b"\xef\xbb\xbfa;b\r\n"
    assert fetch("demo", str(path)).content == b"\xef\xbb\xbfa;b\r\n"
    assert fetch("demo", str(path)).status is None


def test_missing_file_and_local_size_cap(tmp_path):
    with pytest.raises(FetchError, match=r"feed demo, url .*nope.csv: file not found"):
        fetch("demo", (tmp_path / "nope.csv").as_uri())
    big = tmp_path / "big.csv"
    big.write_bytes(b"z" * 50)
    with pytest.raises(FetchError, match="exceeds the cap of 10"):
        fetch("demo", str(big), FetchPolicy(max_bytes=10))


def test_html_error_page_served_as_e2_csv_leaves_no_partition(httpserver, spse_home, monkeypatch):
    day = dt.date(2026, 1, 15)
    httpserver.expect_request("/temps-reel/2026/FR_E2_2026-01-15.csv").respond_with_data(
        "<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>", content_type="text/html")
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", httpserver.url_for("/temps-reel"))
    with pytest.raises(SchemaError) as err:
        ingest(E2, day)
    assert "feed lcsqa_e2" in str(err.value) and "file 2026/FR_E2_2026-01-15.csv" in str(err.value)
    assert "HTML" in str(err.value)
    assert not lake.has_partition("air_hourly", "date=2026-01-15")
    # the page is kept as received, for the record
    assert lake.latest_raw_meta("lcsqa_e2", "date=2026-01-15", "2026/FR_E2_2026-01-15.csv")["size_bytes"] > 0


def test_e2_over_http_lands_the_partition(httpserver, spse_home, monkeypatch):
    httpserver.expect_request("/temps-reel/2026/FR_E2_2026-01-15.csv").respond_with_data(E2_SAMPLE.read_bytes())
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", httpserver.url_for("/temps-reel"))
    report = ingest(E2, dt.date(2026, 1, 15))
    assert report.rows == 8 and lake.has_partition("air_hourly", "date=2026-01-15")
