"""Limits on decompression and JSON depth, and credentials removed from recorded URLs."""

from __future__ import annotations

import gzip
import io
import random
import time
import zipfile

import pytest
from werkzeug import Response

from spse.core.errors import FetchError, SchemaError
from spse.core.http import FetchPolicy
from spse.core.redaction import redact_url
from spse.pipeline.fetch import fetch
from spse.sources._bounded import _CappedReader, open_member, read_member
from spse.sources._parsing import json_depth, load_json


@pytest.mark.parametrize(("url", "expected"), [
    ("https://u:p@host.fr/a.zip?api_key=K&day=1", "https://***@host.fr/a.zip?api_key=***&day=1"),
    ("http://host/x?access_token=abc#part", "http://host/x?access_token=***#part"),
    ("https://h/p?X-Amz-Signature=zz&X-Amz-Credential=cc&sig=1&signal=2",
     "https://h/p?X-Amz-Signature=***&X-Amz-Credential=***&sig=***&signal=2"),
    ("https://token@h/p?Password=x", "https://***@h/p?Password=***"),
    ("file:///data/a b.csv", "file:///data/a b.csv"),
    ("feed x, url https://a:b@c/d?secret=1: HTTP 500", "feed x, url https://***@c/d?secret=***: HTTP 500"),
    ("https://opendata.paris.fr/api/explore/v2.1/x?limit=100&where=a%3D1",
     "https://opendata.paris.fr/api/explore/v2.1/x?limit=100&where=a%3D1"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_fetch_error_never_holds_the_credentials(httpserver):
    httpserver.expect_request("/x.csv").respond_with_data("no", status=404)
    url = httpserver.url_for("/x.csv").replace("http://", "http://me:pw@") + "?apikey=K"
    with pytest.raises(FetchError) as err:
        fetch("demo", url, FetchPolicy(retries=0))
    assert err.value.url == redact_url(url) and "pw" not in str(err.value) and "K" not in err.value.url


@pytest.mark.parametrize(("text", "depth"), [
    ("", 0), ("1", 0), ('"[[[["', 0), ("[]", 1), ('{"a": [1, {"b": "[[\\"[["}]}', 3),
    ("[[], [[{}]]]", 4), ('{"k\\\\": [[]]}', 3),
])
def test_json_depth(text, depth):
    assert json_depth(text) == depth


def test_load_json_accepts_the_limit_and_refuses_one_more():
    assert load_json(("[" * 64 + "]" * 64).encode(), "f", "a.json") == eval("[" * 64 + "]" * 64)
    with pytest.raises(SchemaError, match=r"feed f, file a.json: JSON nested 65 levels deep, over the limit of 64"):
        load_json(("[" * 65 + "]" * 65).encode(), "f", "a.json")


def _archive(data: bytes) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("m.csv", data)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def test_member_within_the_limits_reads_whole():
    data = random.Random(1).randbytes(102_400)  # does not compress: ratio about 1
    assert read_member(_archive(data), "m.csv", "f", "a.zip", cap=200_000) == data
    with pytest.raises(SchemaError, match=r"member m\.csv declares 102400 bytes once decompressed, over the cap of "
                                          r"100000 bytes"):
        open_member(_archive(data), "m.csv", "f", "a.zip", cap=100_000)


def test_running_count_stops_a_member_whatever_it_declares():
    archive = _archive(random.Random(2).randbytes(102_400))
    reader = io.BufferedReader(_CappedReader(archive, archive.getinfo("m.csv"), "f", "a.zip", cap=50_000))
    with pytest.raises(SchemaError, match=r"feed f, file a.zip: member m.csv expands past \d+ bytes, over the cap "
                                          r"of 50000 bytes .*it declared 102400"):
        reader.read()


def test_gzip_body_of_normal_size_is_decoded(httpserver):
    text = b"a;b\n" + b"1;2\n" * 10_000
    httpserver.expect_request("/g").respond_with_data(gzip.compress(text), headers={"Content-Encoding": "gzip"})
    assert fetch("demo", httpserver.url_for("/g"), FetchPolicy(retries=0)).content == text


def test_chunked_body_is_read_whole(httpserver):
    httpserver.expect_request("/c").respond_with_response(Response(b"%d\n" % i for i in range(5000)))
    expected = b"".join(b"%d\n" % i for i in range(5000))
    assert fetch("demo", httpserver.url_for("/c"), FetchPolicy(retries=0)).content == expected


def test_retries_stop_at_the_deadline(httpserver):
    httpserver.expect_request("/down").respond_with_data("busy", status=503)
    policy = FetchPolicy(retries=10, backoff_s=0.4, max_backoff_s=0.4, deadline_s=1.0)
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"HTTP 503 after 3 attempts; the deadline of 1 s leaves no time for another"):
        fetch("demo", httpserver.url_for("/down"), policy)
    assert time.monotonic() - start < 1.0 and len(httpserver.log) == 3  # 0, 0.4, 0.8 s; 1.2 s is past


def test_invalid_url_error_does_not_quote_the_credentials():
    with pytest.raises(FetchError) as err:
        fetch("demo", "http://me:pw@127.0.0.1:99999999/x", FetchPolicy(retries=0))
    assert str(err.value) == ("feed demo, url http://***@127.0.0.1:99999999/x: request refused before sending "
                              "(InvalidURL)")
    assert err.value.__cause__ is None and err.value.__suppress_context__
