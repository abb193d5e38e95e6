"""HTTP faults and decompression bombs, served from 127.0.0.1, through ``spse.pipeline.ingest.ingest``.

Each test is one bad input and asserts its outcome: the error (class, and a message naming
feed, URL or file, and the limit), no lake partition written, a ``failed`` record in the
quality log, and the ``data_quality`` alert (DQ_INPUT_FAILED) the daily run makes of it.
Faults that pytest-httpserver cannot produce (a body dripped byte by byte, a reset
mid-body, a lying Content-Length) come from a small raw-socket server.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
import json
import socket
import socketserver
import struct
import threading
import time
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from werkzeug import Response

import spse.pipeline.ingest
from spse.core.config import settings
from spse.core.errors import FeedError, FetchError, SchemaError
from spse.core.http import FetchPolicy
from spse.pipeline import lake, qualitylog, warehouse
from spse.pipeline.alerts.quality import input_problem_alerts
from spse.pipeline.alerts.recommendations import recommendations
from spse.pipeline.cli import main as cli_main
from spse.pipeline.ingest import ingest
from spse.sources.airparif_indices import SOURCE as AIRPARIF
from spse.sources.cams_europe_forecast import SOURCE as CAMS
from spse.sources.eea_aq import SOURCE as EEA
from spse.sources.insee_filosofi_zip import SOURCE as FILOSOFI_ZIP
from spse.sources.lcsqa_e2 import SOURCE as E2

DAY = dt.date(2026, 1, 15)
E2_PATH = "/temps-reel/2026/FR_E2_2026-01-15.csv"
E2_FILE = "2026/FR_E2_2026-01-15.csv"
E2_SAMPLE = Path(__file__).parents[1] / "fixtures" / "sources" / "lcsqa_e2" / "2026" / "FR_E2_2026-01-15.csv"
ZIP_NAME = "Filosofi2019_carreaux_200m_csv.zip"
MEMBER = "carreaux_200m_met.csv"
FILOSOFI_HEADER = "idcar_200m,idcar_1km,idcar_nat,i_est_200,i_est_1km,lcog_geo,ind\n"
SECRET = "s3cr3t-pw"


@pytest.fixture(autouse=True)
def fast_retries(spse_home, monkeypatch):
    """Ingest with short timeouts and backoff (3 attempts, 10-50 ms apart); limits as the sources set them."""
    monkeypatch.setattr(spse.pipeline.ingest, "FetchPolicy", functools.partial(
        FetchPolicy, timeout_s=(2.0, 2.0), retries=2, backoff_s=0.01, max_backoff_s=0.05))


@pytest.fixture
def raw_server():
    """Start a raw-socket HTTP server on 127.0.0.1 whose answer is ``answer(socket)``; returns its base URL."""
    servers = []

    def start(answer) -> str:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                request = b""
                while b"\r\n\r\n" not in request:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    request += data
                try:
                    answer(self.request)
                except OSError:
                    pass  # the client hung up: what the deadline is for

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def failed(source, error=FeedError) -> FeedError:
    """Ingest ``source`` for DAY, expect ``error``, and check what the failure leaves behind."""
    with pytest.raises(error) as caught:
        ingest(source, DAY)
    partition = source.partition_for(DAY)
    record = qualitylog.read(source.name, partition)
    assert record["outcome"] == "failed"
    assert record["problems"][0]["detail"] == caught.value.problem
    assert record["problems"][0]["check"] == error.__name__
    assert not lake.has_partition(source.dataset, partition)
    assert f"feed {source.name}" in str(caught.value)
    alerts = input_problem_alerts(qualitylog.concerning(DAY, [source]), recommendations())
    assert alerts["set_id"].tolist() == ["DQ_INPUT_FAILED"] and alerts["kind"].tolist() == ["data_quality"]
    assert caught.value.problem in alerts["recommendation"].iloc[0]
    return caught.value


def e2_from(monkeypatch, base: str) -> str:
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", f"{base}/temps-reel")
    return f"{base}{E2_PATH}"


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def filosofi_over_http(httpserver, monkeypatch, payload: bytes) -> str:
    httpserver.expect_request(f"/insee/{ZIP_NAME}").respond_with_data(payload, content_type="application/zip")
    monkeypatch.setenv("SPSE_INSEE_FILOSOFI_ZIP_URL", httpserver.url_for(f"/insee/{ZIP_NAME}"))
    return f"feed insee_filosofi_zip, file {ZIP_NAME}: "


# --- HTTP faults -------------------------------------------------------------------------------


def test_drip_feed_is_cut_at_the_deadline(raw_server, monkeypatch):
    def drip(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(1000):
            sock.sendall(b"x")
            time.sleep(0.25)

    url = e2_from(monkeypatch, raw_server(drip))
    monkeypatch.setattr(type(E2), "fetch_deadline_s", 1.5)
    start = time.monotonic()
    err = failed(E2, FetchError)
    elapsed = time.monotonic() - start
    # one byte every 0.25 s: 6 or 7 bytes by 1.5 s, cut at the first byte after it
    assert 1.5 <= elapsed < 2.5
    assert err.url == url
    count = int(err.problem.removeprefix("deadline of 1.5 s exceeded after ").removesuffix(" bytes"))
    assert 5 <= count <= 9
    assert str(err) == f"feed lcsqa_e2, url {url}: deadline of 1.5 s exceeded after {count} bytes"


def test_500_then_200_is_retried_and_lands(httpserver, monkeypatch):
    httpserver.expect_ordered_request(E2_PATH).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(E2_PATH).respond_with_data(E2_SAMPLE.read_bytes())
    e2_from(monkeypatch, httpserver.url_for(""))
    report = ingest(E2, DAY)
    assert report.rows == 8 and len(httpserver.log) == 2
    # landed, not failed; the recorded sample is an 8-row excerpt of 6 series, so the gate finds it partial
    assert qualitylog.read("lcsqa_e2", "date=2026-01-15")["outcome"] == "partial"


def test_503_for_ever_fails_after_three_attempts(httpserver, monkeypatch):
    httpserver.expect_request(E2_PATH).respond_with_data("busy", status=503)
    url = e2_from(monkeypatch, httpserver.url_for(""))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: HTTP 503 after 3 attempts"
    assert len(httpserver.log) == 3


def test_429_retry_after_is_waited_then_lands(httpserver, monkeypatch):
    monkeypatch.setattr(spse.pipeline.ingest, "FetchPolicy", functools.partial(
        FetchPolicy, timeout_s=(2.0, 2.0), retries=1, backoff_s=0.01, max_backoff_s=5.0))
    httpserver.expect_ordered_request(E2_PATH).respond_with_data("slow down", status=429,
                                                                  headers={"Retry-After": "1"})
    httpserver.expect_ordered_request(E2_PATH).respond_with_data(E2_SAMPLE.read_bytes())
    e2_from(monkeypatch, httpserver.url_for(""))
    start = time.monotonic()
    assert ingest(E2, DAY).rows == 8
    assert time.monotonic() - start >= 1.0  # the 1 s asked for, not the 10 ms backoff


def test_429_retry_after_beyond_the_deadline_fails_at_once(httpserver, monkeypatch):
    httpserver.expect_request(E2_PATH).respond_with_data("come back in an hour", status=429,
                                                         headers={"Retry-After": "3600"})
    url = e2_from(monkeypatch, httpserver.url_for(""))
    monkeypatch.setattr(spse.pipeline.ingest, "FetchPolicy", functools.partial(
        FetchPolicy, timeout_s=(2.0, 2.0), retries=3, backoff_s=0.01, max_backoff_s=3600.0))
    monkeypatch.setattr(type(E2), "fetch_deadline_s", 5.0)
    start = time.monotonic()
    err = failed(E2, FetchError)
    assert time.monotonic() - start < 2.0
    assert str(err) == (f"feed lcsqa_e2, url {url}: HTTP 429 after 1 attempts; the deadline of 5 s leaves no time "
                        "for another")
    assert len(httpserver.log) == 1


def test_404_fails_without_retrying(httpserver, monkeypatch):
    httpserver.expect_request(E2_PATH).respond_with_data("not here", status=404)
    url = e2_from(monkeypatch, httpserver.url_for(""))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: HTTP 404" and err.status == 404
    assert len(httpserver.log) == 1


def test_connection_reset_mid_body(raw_server, monkeypatch):
    def reset(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 1000)
        time.sleep(0.3)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # with a zero linger: RST, not FIN

    url = e2_from(monkeypatch, raw_server(reset))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: truncated body after 1000 bytes (ConnectionResetError)"


def test_content_length_larger_than_the_body(raw_server, monkeypatch):
    def short(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" + b"z" * 100)

    url = e2_from(monkeypatch, raw_server(short))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: truncated body after 100 bytes (IncompleteRead)"


def test_body_that_stalls_past_the_read_timeout(raw_server, monkeypatch):
    def stall(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"s" * 10)
        time.sleep(2.0)

    url = e2_from(monkeypatch, raw_server(stall))
    monkeypatch.setattr(spse.pipeline.ingest, "FetchPolicy", functools.partial(
        FetchPolicy, timeout_s=(2.0, 0.5), retries=2, backoff_s=0.01, max_backoff_s=0.05))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: body stalled after 10 bytes (no data for the read timeout of 0.5 s)"


def test_body_over_max_bytes_without_content_length(httpserver, monkeypatch):
    def chunks():
        for _ in range(10):
            yield b"w" * 500

    httpserver.expect_request(E2_PATH).respond_with_response(Response(chunks()))
    url = e2_from(monkeypatch, httpserver.url_for(""))
    monkeypatch.setattr(type(E2), "max_bytes", 1200)
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: body exceeds the cap of 1200 bytes"


def test_gzip_content_encoding_bomb_is_capped_on_decoded_bytes(httpserver, monkeypatch):
    bomb = gzip.compress(b"0" * (64 << 20), compresslevel=9)
    assert len(bomb) < 100_000
    httpserver.expect_request(E2_PATH).respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    url = e2_from(monkeypatch, httpserver.url_for(""))
    monkeypatch.setattr(type(E2), "max_bytes", 1 << 20)
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: decoded body exceeds the cap of 1048576 bytes"


def test_html_error_page_served_with_200(httpserver, monkeypatch):
    httpserver.expect_request(E2_PATH).respond_with_data(
        "<!DOCTYPE html><html><body><h1>Maintenance</h1></body></html>", content_type="text/html")
    e2_from(monkeypatch, httpserver.url_for(""))
    err = failed(E2, SchemaError)
    assert str(err) == f"feed lcsqa_e2, file {E2_FILE}: received an HTML page instead of data"


def test_redirect_loop(httpserver, monkeypatch):
    httpserver.expect_request(E2_PATH).respond_with_data("", status=302, headers={"Location": E2_PATH})
    url = e2_from(monkeypatch, httpserver.url_for(""))
    err = failed(E2, FetchError)
    assert str(err) == f"feed lcsqa_e2, url {url}: too many redirects (a redirect loop?)"
    assert len(httpserver.log) == 31  # requests gives up after 30 redirects


# --- Bombs and deep documents --------------------------------------------------------------------


def test_zip_bomb_over_the_source_cap(httpserver, monkeypatch):
    line = "CRS3035RES200mN2520000E3925000,a,b,0,0,69381,1\n"
    body = (FILOSOFI_HEADER + line * 100_000).encode()  # 4.8 MB of one line repeated
    where = filosofi_over_http(httpserver, monkeypatch, zip_of({MEMBER: body}))
    monkeypatch.setattr(type(FILOSOFI_ZIP), "max_decompressed_bytes", 1 << 20)
    err = failed(FILOSOFI_ZIP, SchemaError)
    assert str(err) == (f"{where}member {MEMBER} declares {len(body)} bytes once decompressed, over the cap of "
                        "1048576 bytes (max_decompressed_bytes)")


def test_zip_bomb_over_the_compression_ratio(httpserver, monkeypatch):
    body = FILOSOFI_HEADER.encode() + b"0" * (20 << 20)
    payload = zip_of({MEMBER: body})
    compressed = zipfile.ZipFile(io.BytesIO(payload)).getinfo(MEMBER).compress_size
    assert len(body) / compressed > 200  # register max_compression_ratio
    where = filosofi_over_http(httpserver, monkeypatch, payload)
    err = failed(FILOSOFI_ZIP, SchemaError)
    assert str(err) == (f"{where}member {MEMBER} expands {len(body) / compressed:.0f} times ({compressed} to "
                        f"{len(body)} bytes), over the ratio of 200 (max_compression_ratio): a ZIP bomb?")


def test_zip_member_larger_than_it_declares(httpserver, monkeypatch):
    lines = "".join(f"CRS3035RES200mN{2520000 + 200 * i}E3925000,a,b,0,0,69381,{i % 7}\n" for i in range(20_000))
    body = (FILOSOFI_HEADER + lines).encode()
    payload = bytearray(zip_of({MEMBER: body}))
    # the local header and the central directory both claim 2000 bytes
    local, central = payload.index(b"PK\x03\x04"), payload.index(b"PK\x01\x02")
    payload[local + 22:local + 26] = struct.pack("<I", 2000)
    payload[central + 24:central + 28] = struct.pack("<I", 2000)
    where = filosofi_over_http(httpserver, monkeypatch, bytes(payload))
    err = failed(FILOSOFI_ZIP, SchemaError)
    assert str(err).startswith(f"{where}damaged or truncated member {MEMBER}, or not of its declared size of "
                               "2000 bytes (Bad CRC-32")


def test_json_nested_200000_deep(httpserver, monkeypatch):
    httpserver.expect_request("/airparif/indices/prevision/commune").respond_with_data(
        "[" * 200_000 + "]" * 200_000, content_type="application/json")
    monkeypatch.setenv("SPSE_AIRPARIF_INDICES_URL", httpserver.url_for("/airparif"))
    monkeypatch.setenv("SPSE_AIRPARIF_API_KEY", "test-key")
    err = failed(AIRPARIF, SchemaError)
    assert str(err) == ("feed airparif_indices, file indices_prevision_commune/2026-01-15.json: JSON nested 200000 "
                        "levels deep, over the limit of 64 (max_json_depth)")


def test_netcdf_declaring_a_huge_grid(tmp_path, monkeypatch):
    import netCDF4

    folder = tmp_path / "cams" / DAY.isoformat()
    folder.mkdir(parents=True)
    with netCDF4.Dataset(folder / "cams_europe_ensemble_forecast.nc", "w", format="NETCDF4") as nc:
        for name, size in (("time", 97), ("level", 1), ("latitude", 400), ("longitude", 700)):
            nc.createDimension(name, size)
        # declared, never written: a few kB on disk, 27 million values once read
        nc.createVariable("no2_conc", "f4", ("time", "level", "latitude", "longitude"), zlib=True)
    assert (folder / "cams_europe_ensemble_forecast.nc").stat().st_size < 100_000
    monkeypatch.setenv("SPSE_CAMS_EUROPE_FORECAST_URL", str(tmp_path / "cams"))
    err = failed(CAMS, SchemaError)
    assert str(err) == (f"feed cams_europe_forecast, file {DAY.isoformat()}/cams_europe_ensemble_forecast.nc: the "
                        "NetCDF variables ['no2_conc'] holds 27160000 values, over the cap of 10000000 "
                        "(max_decoded_values)")


def test_parquet_of_eleven_million_repeated_cells(tmp_path, monkeypatch):
    day_folder = tmp_path / "eea" / "parquet" / DAY.isoformat() / "FR"
    day_folder.mkdir(parents=True)
    codes = pa.array(np.zeros(11_000_000, dtype=np.int8))
    table = pa.table({"Samplingpoint": pa.DictionaryArray.from_arrays(codes, pa.array(["FR/SPO-FR04143_8_1"]))})
    pq.write_table(table, day_folder / "SPO-FR04143.parquet")
    assert (day_folder / "SPO-FR04143.parquet").stat().st_size < 1_000_000
    listing = tmp_path / "eea" / "parquet_urls" / f"{DAY.isoformat()}.csv"
    listing.parent.mkdir(parents=True)
    listing.write_text("ParquetFileUrl\nhttps://eeadmz1batchservice02.blob.core.windows.net/FR/SPO-FR04143.parquet\n")
    monkeypatch.setenv("SPSE_EEA_AQ_URL", str(tmp_path / "eea"))
    err = failed(EEA, SchemaError)
    assert str(err) == (f"feed eea_aq, file parquet/{DAY.isoformat()}/FR/SPO-FR04143.parquet: the Parquet file "
                        "(11000000 rows × 1 columns) holds 11000000 values, over the cap of 10000000 "
                        "(max_decoded_values)")


# --- Credentials in a source URL -----------------------------------------------------------------


def test_credentials_in_the_url_are_used_but_never_recorded(httpserver, monkeypatch, capsys):
    basic = "Basic c3BzZS11c2VyOnMzY3IzdC1wdw=="  # base64 of "spse-user:s3cr3t-pw"
    httpserver.expect_request(E2_PATH, headers={"Authorization": basic}).respond_with_data(E2_SAMPLE.read_bytes())
    port = httpserver.port
    monkeypatch.setenv("SPSE_LCSQA_E2_URL", f"http://spse-user:{SECRET}@127.0.0.1:{port}/temps-reel")
    assert ingest(E2, DAY).rows == 8
    meta = lake.latest_raw_meta("lcsqa_e2", "date=2026-01-15", E2_FILE)
    assert meta["url"] == f"http://***@127.0.0.1:{port}{E2_PATH}"
    landed = Path(meta["raw_path"]).with_name(Path(meta["raw_path"]).name + ".meta.json").read_text()
    provenance = lake.provenance_path("air_hourly", "date=2026-01-15", "lcsqa_e2").read_text()
    published = warehouse.publish(warehouse.build(DAY))
    with duckdb.connect(str(published), read_only=True) as con:
        stored = con.sql("select string_agg(provenance_json, ' ') from meta.lake_partitions").fetchone()[0]
    assert cli_main(["sources", "--locations"]) == 0
    listing = capsys.readouterr().out
    for text in (landed, provenance, stored, listing):
        assert f"***@127.0.0.1:{port}" in text
        assert SECRET not in text and "spse-user" not in text


def test_credentials_in_a_failing_url_stay_out_of_errors_and_quality_log(httpserver, monkeypatch):
    httpserver.expect_request(f"/insee/{ZIP_NAME}").respond_with_data("gone", status=410)
    port = httpserver.port
    monkeypatch.setenv("SPSE_INSEE_FILOSOFI_ZIP_URL",
                       f"http://spse-user:{SECRET}@127.0.0.1:{port}/insee/{ZIP_NAME}?api_token={SECRET}&v=2019")
    err = failed(FILOSOFI_ZIP, FetchError)
    assert str(err) == (f"feed insee_filosofi_zip, url http://***@127.0.0.1:{port}/insee/{ZIP_NAME}?api_token=***"
                        "&v=2019: HTTP 410")
    assert httpserver.log[0][0].args["api_token"] == SECRET  # the request itself carried it
    logged = (settings().home / "quality" / "insee_filosofi_zip" / "vintage=current.json").read_text()
    assert SECRET not in logged and "spse-user" not in logged and f"***@127.0.0.1:{port}" in logged
    assert json.loads(logged)["outcome"] == "failed"
