"""Fleet indexing: the query language and SearchIndex, through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock


def enable(iot: Any, mode: str = "REGISTRY_AND_SHADOW", **extra: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={"thingIndexingMode": mode, **extra}
    )


@pytest.fixture
def fleet(iot: Any, iot_data: Any) -> Any:
    """Five things: t0..t4 of type sensor (t4 untyped), temp 20..40, colour alternating,
    t1 in group g1 and billing group bill, a classic shadow on t1 and t2."""
    enable(iot, customFields=[{"name": "attributes.temp", "type": "Number"}])
    iot.create_thing_type(thingTypeName="sensor")
    iot.create_thing_group(thingGroupName="g1")
    iot.create_billing_group(billingGroupName="bill")
    for i in range(5):
        iot.create_thing(
            thingName=f"t{i}",
            **({"thingTypeName": "sensor"} if i < 4 else {}),
            attributePayload={
                "attributes": {"temp": str(20 + 5 * i), "color": "Red" if i % 2 else "blue"}
            },
        )
    iot.add_thing_to_thing_group(thingGroupName="g1", thingName="t1")
    iot.add_thing_to_billing_group(billingGroupName="bill", thingName="t1")
    iot_data.update_thing_shadow(
        thingName="t1",
        payload=json.dumps(
            {
                "state": {
                    "reported": {"batt": 50, "fw": "1.2", "tags": ["a", "b"]},
                    "desired": {"batt": 60},
                }
            }
        ),
    )
    iot_data.update_thing_shadow(
        thingName="t2",
        payload=json.dumps({"state": {"reported": {"batt": 90, "loc": {"room": "kitchen"}}}}),
    )
    return iot


def names(iot: Any, query: str, **extra: Any) -> list[str]:
    return [t["thingName"] for t in iot.search_index(queryString=query, **extra)["things"]]


# One fleet answers the whole table (a fixture per row would dominate the run time).
QUERIES = [
    ("*", ["t0", "t1", "t2", "t3", "t4"]),
    ("thingName:t1", ["t1"]),
    ("thingName:T1", ["t1"]),  # values match case-insensitively
    ("thingName:t*", ["t0", "t1", "t2", "t3", "t4"]),
    ("thingName:t?", ["t0", "t1", "t2", "t3", "t4"]),
    ("thingName:t? AND NOT thingName:t0", ["t1", "t2", "t3", "t4"]),
    ("thingTypeName:sensor", ["t0", "t1", "t2", "t3"]),
    ("thingGroupNames:g1", ["t1"]),
    ("thingGroupNames:bill", ["t1"]),  # billing groups are in thingGroupNames
    ("attributes.color:red", ["t1", "t3"]),
    ('attributes.color:"blue"', ["t0", "t2", "t4"]),
    ("attributes.temp:30", ["t2"]),
    ("attributes.temp:[25 TO 35]", ["t1", "t2", "t3"]),
    ("attributes.temp:{25 TO 35]", ["t2", "t3"]),
    ("attributes.temp:[25 TO 35}", ["t1", "t2"]),
    ("attributes.temp:[35 TO *]", ["t3", "t4"]),
    ("attributes.temp:[* TO 20]", ["t0"]),
    ("attributes.temp>30", ["t3", "t4"]),
    ("attributes.temp:>=30", ["t2", "t3", "t4"]),
    ("attributes.temp < 25", ["t0"]),
    ("attributes.temp:<=25", ["t0", "t1"]),
    ("attributes.color:red OR attributes.temp:20", ["t0", "t1", "t3"]),
    ("attributes.color:red attributes.temp>30", ["t3"]),  # implicit AND
    ("attributes.color:(red OR blue) -thingName:t0", ["t1", "t2", "t3", "t4"]),
    ("(thingName:t0 OR thingName:t1) AND attributes.color:blue", ["t0"]),
    ("NOT thingTypeName:*", ["t4"]),
    ("thingTypeName:*", ["t0", "t1", "t2", "t3"]),
    ("red", ["t1", "t3"]),  # a free term searches every field
    ("sens*", ["t0", "t1", "t2", "t3"]),
    ("shadow.reported.batt:50", ["t1"]),
    ("shadow.reported.batt>60", ["t2"]),
    ("shadow.reported.batt:[40 TO 100]", ["t1", "t2"]),
    ("shadow.desired.batt:60", ["t1"]),
    ("shadow.delta.batt:60", ["t1"]),
    ("shadow.hasDelta:true", ["t1"]),
    ("shadow.hasDelta:false", ["t2"]),
    ("shadow.reported.tags:b", ["t1"]),  # arrays of scalars: any element
    ("shadow.reported.loc.room:kitchen", ["t2"]),  # nested objects become paths
    ("shadow.reported.fw:1.2", ["t1"]),
    ("shadow.version:1", ["t1", "t2"]),
    ("shadow.metadata.reported.batt.timestamp:*", ["t1", "t2"]),
    ("registry.version:1", ["t0", "t1", "t2", "t3", "t4"]),
    ("attributes.nothing:x", []),
]


def test_query_syntax(fleet: Any) -> None:
    for query, expected in QUERIES:
        assert names(fleet, query) == expected, query


def test_string_ranges_compare_as_text_unless_declared_number(fleet: Any) -> None:
    fleet.update_thing(
        thingName="t4", attributePayload={"attributes": {"code": "100"}, "merge": True}
    )
    fleet.update_thing(
        thingName="t3", attributePayload={"attributes": {"code": "30"}, "merge": True}
    )
    # attributes.code is not a Number custom field: "100" < "30" as text.
    assert names(fleet, "attributes.code<4") == ["t3", "t4"]
    assert names(fleet, "attributes.code:[a TO z]") == []


def test_escaped_characters_are_literal(iot: Any, iot_data: Any) -> None:
    enable(iot)
    for name, value in (("a:b", "v*1 x"), ("ab", "vv1 x")):
        iot.create_thing(thingName=name)
        iot_data.update_thing_shadow(
            thingName=name, payload=json.dumps({"state": {"reported": {"x": value}}})
        )
    assert names(iot, r"thingName:a\:b") == ["a:b"]
    assert names(iot, "thingName:a:b") == ["a:b"]
    assert names(iot, r"shadow.reported.x:v\*1\ x") == ["a:b"]
    assert names(iot, r"shadow.reported.x:v*1\ x") == ["a:b", "ab"]
    assert names(iot, 'shadow.reported.x:"v*1 x"') == ["a:b"]


INVALID_QUERIES = [
    "*abc",
    "thingName:*abc",
    "thingName:?bc",
    "a AND",
    "OR a",
    "(a OR b",
    "a)",
    "thingName:",
    'thingName:"abc',
    "attributes.x:[1 TO 2",
    "attributes.x:[1 2]",
    "a b c d e f g h",  # 8 terms: at most 7
    "thingName:(a OR b OR c OR d) AND (e OR f OR g OR h)",
    "NOT",
    "a \\",
]


def test_invalid_queries(fleet: Any) -> None:
    for query in INVALID_QUERIES:
        with pytest.raises(ClientError) as exc:
            fleet.search_index(queryString=query)
        assert code_of(exc) == ("InvalidQueryException", 400), query
        assert query in exc.value.response["Error"]["Message"]


def test_seven_terms_are_accepted(fleet: Any) -> None:
    query = "thingName:(t0 OR t1 OR t2 OR t3 OR t4 OR t5 OR t6)"
    assert names(fleet, query) == ["t0", "t1", "t2", "t3", "t4"]


def test_thing_document_shape(fleet: Any) -> None:
    [doc] = fleet.search_index(queryString="thingName:t1")["things"]
    assert doc["thingTypeName"] == "sensor"
    assert doc["thingGroupNames"] == ["g1", "bill"]
    assert doc["attributes"] == {"temp": "25", "color": "Red"}
    shadow = json.loads(doc["shadow"])
    assert shadow["reported"] == {"batt": 50, "fw": "1.2", "tags": ["a", "b"]}
    assert shadow["desired"] == {"batt": 60}
    assert shadow["delta"] == {"batt": 60}
    assert shadow["version"] == 1
    assert set(shadow["metadata"]) == {"reported", "desired"}
    assert "connectivity" not in doc  # connectivity indexing is off
    [plain] = fleet.search_index(queryString="thingName:t0")["things"]
    assert "shadow" not in plain and "thingGroupNames" not in plain


def test_registry_mode_does_not_index_shadows(fleet: Any) -> None:
    enable(fleet, "REGISTRY")
    assert names(fleet, "shadow.reported.batt:50") == []
    assert "shadow" not in fleet.search_index(queryString="thingName:t1")["things"][0]


def test_unregistered_shadows_are_not_indexed(fleet: Any, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="ghost", payload=json.dumps({"state": {"reported": {"batt": 50}}})
    )
    assert names(fleet, "shadow.reported.batt:50") == ["t1"]


def test_index_follows_changes_at_once(fleet: Any, iot_data: Any) -> None:
    fleet.update_thing(
        thingName="t0", attributePayload={"attributes": {"color": "red"}, "merge": True}
    )
    assert names(fleet, "attributes.color:red") == ["t0", "t1", "t3"]
    iot_data.update_thing_shadow(
        thingName="t1", payload=json.dumps({"state": {"reported": {"batt": 60}}})
    )
    assert names(fleet, "shadow.hasDelta:true") == []
    fleet.delete_thing(thingName="t3")
    assert names(fleet, "attributes.color:red") == ["t0", "t1"]


def test_named_shadows_are_indexed_when_selected(fleet: Any, iot_data: Any) -> None:
    for name in ("cfg", "other"):
        iot_data.update_thing_shadow(
            thingName="t0",
            shadowName=name,
            payload=json.dumps({"state": {"reported": {"mode": "eco"}}}),
        )
    assert names(fleet, "shadow.name.cfg.reported.mode:eco") == []
    enable(
        fleet,
        namedShadowIndexingMode="ON",
        filter={"namedShadowNames": ["cfg"]},
    )
    assert names(fleet, "shadow.name.cfg.reported.mode:eco") == ["t0"]
    assert names(fleet, "shadow.name.other.reported.mode:eco") == []
    assert names(fleet, "shadow.name.cfg.hasDelta:false") == ["t0"]
    shadow = json.loads(fleet.search_index(queryString="thingName:t0")["things"][0]["shadow"])
    assert shadow["name"]["cfg"]["reported"] == {"mode": "eco"}
    assert "other" not in shadow["name"]


def test_connectivity_fields(fleet: Any, iot_mock: IotMock, iot_data: Any) -> None:
    iot_mock.devices.connect("t1")
    # Without connectivity indexing the fields are absent.
    assert names(fleet, "connectivity.connected:*") == []
    enable(fleet, thingConnectivityIndexingMode="STATUS")
    iot_mock.devices.connect("t2")
    iot_data.delete_connection(clientId="t2")
    assert names(fleet, "connectivity.connected:true") == ["t1"]
    assert names(fleet, "connectivity.connected:false") == ["t0", "t2", "t3", "t4"]
    assert names(fleet, "connectivity.disconnectReason:API_INITIATED_DISCONNECT") == ["t2"]
    assert names(fleet, "connectivity.timestamp>0") == ["t1", "t2"]
    docs = {d["thingName"]: d for d in fleet.search_index(queryString="*")["things"]}
    assert docs["t0"]["connectivity"] == {"connected": False}
    assert docs["t1"]["connectivity"]["connected"] is True
    assert isinstance(docs["t1"]["connectivity"]["timestamp"], int)
    assert docs["t2"]["connectivity"]["disconnectReason"] == "API_INITIATED_DISCONNECT"


def test_search_pages_of_at_most_100(iot: Any) -> None:
    enable(iot, "REGISTRY")
    for i in range(105):
        iot.create_thing(thingName=f"d{i:03}")
    first = iot.search_index(queryString="thingName:d*", maxResults=250)
    assert len(first["things"]) == 100
    second = iot.search_index(queryString="thingName:d*", nextToken=first["nextToken"])
    assert [t["thingName"] for t in second["things"]] == [f"d{i}" for i in range(100, 105)]
    assert "nextToken" not in second
    pages = []
    token = None
    while True:
        page = iot.search_index(
            queryString="thingName:d0*", maxResults=40, **({"nextToken": token} if token else {})
        )
        pages.append(len(page["things"]))
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [40, 40, 20]


def test_token_of_another_query_is_refused(fleet: Any) -> None:
    token = fleet.search_index(queryString="*", maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        fleet.search_index(queryString="thingName:t*", nextToken=token)
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_indexing_off_means_no_index(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.search_index(queryString="*")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert "Index 'AWS_Things' does not exist" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iot.search_index(indexName="AWS_ThingGroups", queryString="*")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    enable(iot, "REGISTRY")
    with pytest.raises(ClientError) as exc:
        iot.search_index(indexName="MyIndex", queryString="*")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_query_version(fleet: Any) -> None:
    assert names(fleet, "thingName:t0", queryVersion="2017-09-30") == ["t0"]
    with pytest.raises(ClientError) as exc:
        fleet.search_index(queryString="*", queryVersion="2020-01-01")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_thing_group_index(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingGroupIndexingConfiguration={"thingGroupIndexingMode": "ON"}
    )
    iot.create_thing_group(
        thingGroupName="root",
        thingGroupProperties={
            "thingGroupDescription": "top level",
            "attributePayload": {"attributes": {"site": "paris"}},
        },
    )
    iot.create_thing_group(thingGroupName="mid", parentGroupName="root")
    iot.create_thing_group(thingGroupName="leaf", parentGroupName="mid")
    result = iot.search_index(indexName="AWS_ThingGroups", queryString="parentGroupNames:root")
    assert "things" not in result
    docs = result["thingGroups"]
    assert [d["thingGroupName"] for d in docs] == ["leaf", "mid"]
    assert docs[0]["parentGroupNames"] == ["root", "mid"]
    [root] = iot.search_index(indexName="AWS_ThingGroups", queryString="attributes.site:paris")[
        "thingGroups"
    ]
    assert root["thingGroupDescription"] == "top level"
    assert root["attributes"] == {"site": "paris"}
    assert root["thingGroupId"]
    assert "parentGroupNames" not in root
    found = iot.search_index(indexName="AWS_ThingGroups", queryString="thingGroupDescription:top*")
    assert [d["thingGroupName"] for d in found["thingGroups"]] == ["root"]
