"""The subscriptions file: validation on load and which alert goes to whom."""

import pytest

from spse.pipeline import subscriptions
from spse.pipeline.subscriptions import Subscriber, SubscriptionError, matches


def _load(tmp_path, text):
    path = tmp_path / "subs.yml"
    path.write_text(text, encoding="utf-8")
    return subscriptions.load(path)


def test_a_missing_file_means_no_subscriber(tmp_path):
    assert subscriptions.load(tmp_path / "none.yml") == ([], [])


@pytest.mark.parametrize("text", ["subscribers: [a, b", "- id: a\n", "subscribers: 3\n"])
def test_an_unreadable_file_raises_naming_it(tmp_path, text):
    with pytest.raises(SubscriptionError, match=r"subs\.yml"):
        _load(tmp_path, text)


def test_each_bad_entry_is_rejected_with_its_reason_and_the_others_kept(tmp_path):
    subs, rejected = _load(tmp_path, """
subscribers:
  - {id: ok, channel: email, address: a@b.fr, zones: 75112, levels: [alerte], public: vulnerable, language: en}
  - {id: ok, channel: email, address: c@d.fr}
  - {id: sms, channel: sms, address: "0600000000"}
  - {id: hook, channel: webhook, address: "ftp://x"}
  - {id: lvl, channel: email, address: a@b.fr, levels: [rouge]}
  - {id: who, channel: email, address: a@b.fr, public: parents}
  - {id: key, channel: email, address: a@b.fr, zone: ["75112"]}
  - {id: de, channel: email, address: a@b.fr, language: de}
  - {channel: email, address: a@b.fr}
  - {id: nl, channel: email, address: a@b.fr, name: "Bcc: x@y.fr\\nz"}
""")
    assert subs == [Subscriber(id="ok", name="ok", channel="email", address="a@b.fr", zones=("75112",),
                               levels=("alerte",), public="vulnerable", language="en")]
    reasons = [(r.entry.split("subs.yml, ")[1], r.reason) for r in rejected]
    assert [entry for entry, _ in reasons] == ["entry 2 (id 'ok')", "entry 3 (id 'sms')", "entry 4 (id 'hook')",
                                               "entry 5 (id 'lvl')", "entry 6 (id 'who')", "entry 7 (id 'key')",
                                               "entry 8 (id 'de')", "entry 9", "entry 10 (id 'nl')"]
    assert "already used" in reasons[0][1]
    assert "'sms' is not one of" in reasons[1][1]
    assert "not an http(s) URL" in reasons[2][1]
    assert "['rouge']" in reasons[3][1]
    assert "'parents'" in reasons[4][1]
    assert "unknown keys ['zone']" in reasons[5][1]
    assert "'de'" in reasons[6][1]
    assert "'id' is required" in reasons[7][1]
    assert "one line" in reasons[8][1]


ALERT = {"pollutant": "PM10", "level": "information", "zones": [{"zone_id": "75112"}, {"zone_id": "75113"}],
         "facilities": [{"facility_id": "CRE-1"}, {"facility_id": "EHP-7"}]}


def _sub(**filters):
    return Subscriber(id="s", name="s", channel="email", address="a@b.fr", **filters)


@pytest.mark.parametrize(("filters", "alert", "expected"), [
    ({}, ALERT, True),
    ({"zones": ("75120",)}, ALERT, False),
    ({"zones": ("75113",)}, ALERT, True),
    ({"zones": ("75120",), "facilities": ("EHP-7",)}, ALERT, True),  # a zone or a followed facility
    ({"facilities": ("XXX",)}, ALERT, False),
    ({"pollutants": ("NO2", "O3")}, ALERT, False),
    ({"levels": ("alerte",)}, ALERT, False),
    ({"levels": ("alerte",)}, {**ALERT, "level": "alerte_persistance"}, True),
    ({"levels": ("alerte",)}, {**ALERT, "level": "alerte_mesures_2"}, True),
    ({"levels": ("information",)}, {**ALERT, "level": "alerte"}, False),
    ({}, {"pollutant": "paris_facilities", "level": "data_quality"}, False),  # operators ask for it
    ({"levels": ("data_quality",), "zones": ("75120",), "pollutants": ("O3",)},
     {"pollutant": "paris_facilities", "level": "data_quality", "zones": []}, True),
])
def test_matching(filters, alert, expected):
    assert matches(_sub(**filters), alert) is expected


@pytest.mark.parametrize("path", ["docs/subscriptions.example.yml", "spse/pipeline/demo/subscriptions.yml"])
def test_the_shipped_example_files_load_without_rejection(path):
    from pathlib import Path

    subs, rejected = subscriptions.load(Path(__file__).resolve().parents[1] / path)
    assert rejected == []
    assert len(subs) >= 5
