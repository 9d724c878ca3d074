"""The EPCIS 2.0 export validates against GS1's own JSON schema and says what happened.

The schema and GS1's examples are read from ``../shared/standards/epcis/`` beside the
repository, never downloaded. jsonschema checks ``format`` only with a checker:
``date-time`` comes with it, and ``uri`` is checked here as an absolute URI (or a
JSON-LD blank node, which GS1's examples use as a document id).
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tests.verify_api.dispatch.chain import T0, dispatch, pack
from zhenma.codes import Sscc

# The rule logic is the same on both databases; PostgreSQL runs the tests that lean on
# its locks, indexes and time types.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

STANDARDS = Path(__file__).parents[3].parent / "shared" / "standards" / "epcis"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    checker = FormatChecker()

    @checker.checks("uri")
    def absolute_uri(value) -> bool:
        if not isinstance(value, str):
            return True
        if value.startswith("_:"):  # a JSON-LD blank node, as in GS1's examples
            return True
        return bool(_SCHEME.fullmatch(urlsplit(value).scheme)) and not re.search(r"\s", value)

    schema = json.loads((STANDARDS / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=checker)


def valid(validator, document: dict) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_the_validator_accepts_gs1s_examples_and_refuses_a_broken_event(validator):
    for example in sorted(STANDARDS.glob("Example_*.jsonld")):
        valid(validator, json.loads(example.read_text()))
    broken = json.loads((STANDARDS / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    del broken["epcisBody"]["eventList"][0]["eventTimeZoneOffset"]
    assert list(validator.iter_errors(broken))
    broken["epcisBody"]["eventList"][0]["eventTimeZoneOffset"] = "+08:00"
    broken["epcisBody"]["eventList"][0]["epcList"] = ["not a uri"]
    assert list(validator.iter_errors(broken))


def export(client, chain, **query) -> dict:
    response = client.get("/api/v1/epcis/events", query_string=query, headers=chain.auth("viewer"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/ld+json"
    return json.loads(response.get_data(as_text=True))


def test_packing_and_dispatch_history_exports_as_valid_epcis(
    client, chain, validator, cli, tmp_path
):
    pack(client, chain, chain.carton(1), [chain.serial(i) for i in (1, 2, 11)])
    pack(client, chain, chain.carton(1), [chain.serial(2)], "unpack")
    assert dispatch(client, chain, "HQ", chain.now(chain.carton(1), "ZD")).status_code == 201
    assert dispatch(client, chain, "HQ", chain.now(chain.serial(30), "SC")).status_code == 201
    document = export(client, chain)
    valid(validator, document)
    assert (document["type"], document["schemaVersion"]) == ("EPCISDocument", "2.0")
    events = document["epcisBody"]["eventList"]
    kinds = [(e["type"], e["action"], e.get("bizStep")) for e in events]
    assert kinds == (
        [("AggregationEvent", "ADD", "packing")] * 4  # the default packing of 4 cartons
        + [("AggregationEvent", "DELETE", "unpacking")] * 2  # carton 1's others, item 11 from 2
        + [("AggregationEvent", "ADD", "packing")]  # item 11 into carton 1
        + [("AggregationEvent", "DELETE", "unpacking")]  # item 2 out
        + [("ObjectEvent", "OBSERVE", "shipping")] * 2
    )
    items = chain.issued.items
    assert events[0]["childEPCs"] == [item.url for item in items[:10]]  # the QR's own URLs
    sscc = Sscc.build("6901234", 0).value  # the first SSCC of the company prefix
    assert events[0]["parentID"] == f"https://v.zhenma.test/00/{sscc}"
    assert sorted(events[4]["childEPCs"] + events[5]["childEPCs"]) == sorted(
        [item.url for item in items[2:10]] + [items[10].url]
    )
    assert events[6]["childEPCs"] == [items[10].url]
    assert events[7]["childEPCs"] == [items[1].url]
    carton_out, item_out = events[8], events[9]
    assert carton_out["epcList"] == [events[0]["parentID"]]
    assert carton_out["disposition"] == "in_transit"
    assert carton_out["sourceList"] == [
        {"type": "owning_party", "source": "https://v.zhenma.test/party/HQ"}
    ]
    assert carton_out["destinationList"] == [
        {"type": "owning_party", "destination": "https://v.zhenma.test/party/ZD"}
    ]
    assert item_out["epcList"] == [items[29].url]
    assert all(e["eventTimeZoneOffset"] == "+08:00" for e in events)
    assert len({e["eventID"] for e in events}) == len(events)
    # The same history as EPC URNs (the product has a company prefix), from the command line.
    out = tmp_path / "history.jsonld"
    cli("epcis", "export", "--ids", "urn", "--out", str(out))
    urns = json.loads(out.read_text())
    valid(validator, urns)
    urn_events = urns["epcisBody"]["eventList"]
    assert [e["eventID"] for e in urn_events] == [e["eventID"] for e in events]
    serial = items[0].serial
    assert urn_events[0]["childEPCs"][0] == f"urn:epc:id:sgtin:6901234.056789.{serial}"
    assert urn_events[0]["parentID"] == "urn:epc:id:sscc:6901234.0000000000"
    assert urn_events[8]["epcList"] == [urn_events[0]["parentID"]]


@SQLITE_ONLY
def test_the_time_window_selects_events_and_bad_queries_are_json_errors(client, chain, validator):
    for minute, code in enumerate([chain.carton(1), chain.carton(2), chain.carton(3)]):
        dispatch(client, chain, "HQ", chain.scan(code, "ZD", minute * 10))
    start = (T0.replace(minute=5)).isoformat()
    end = T0.replace(minute=25).isoformat()
    document = export(client, chain, **{"from": start, "to": end})
    valid(validator, document)
    events = document["epcisBody"]["eventList"]
    day = f"{T0:%Y-%m-%d}"
    assert [e["eventTime"] for e in events] == [f"{day}T02:10:00.000Z", f"{day}T02:20:00.000Z"]
    only = export(client, chain, batch=chain.issued.batch_id, to=start)
    assert [e["type"] for e in only["epcisBody"]["eventList"]] == ["ObjectEvent"]
    auth = chain.auth("viewer")
    for query, code in [
        ({"from": end, "to": start}, "invalid"),
        ({"from": "yesterday"}, "invalid"),
        ({"from": "2026-11-23T10:00:00"}, "invalid"),  # no offset
        ({"ids": "gln"}, "invalid"),
        ({"batch": "x"}, "bad_request"),
    ]:
        response = client.get("/api/v1/epcis/events", query_string=query, headers=auth)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == code
    assert client.get("/api/v1/epcis/events").status_code == 401
    assert client.get("/api/v1/epcis/events", headers=chain.auth("GD")).status_code == 403
