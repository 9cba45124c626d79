"""Fleet indexing output compared with what AWS returns (issue 10): hasDelta in the
indexed shadow documents, never-connected things, the keys of SearchIndex, and Device
Defender violations."""

from __future__ import annotations

import json
from typing import Any

from iotmock import IotMock

REGISTERED = "arn:aws:iot:us-east-1:123456789012:all/registered-things"


def _enable(iot: Any, **extra: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={"thingIndexingMode": "REGISTRY_AND_SHADOW", **extra}
    )


def _names(iot: Any, query: str) -> list[str]:
    return [t["thingName"] for t in iot.search_index(queryString=query)["things"]]


def _shadow(iot: Any, thing: str) -> dict[str, Any]:
    [document] = iot.search_index(queryString=f"thingName:{thing}")["things"]
    return dict(json.loads(document["shadow"]))


def test_classic_and_named_shadow_documents_carry_has_delta(iot: Any, iot_data: Any) -> None:
    _enable(iot, namedShadowIndexingMode="ON", filter={"namedShadowNames": ["cfg"]})
    for thing in ("calm", "drift"):
        iot.create_thing(thingName=thing)
    iot_data.update_thing_shadow(
        thingName="calm", payload=json.dumps({"state": {"reported": {"on": True}}})
    )
    iot_data.update_thing_shadow(
        thingName="drift",
        payload=json.dumps({"state": {"reported": {"on": False}, "desired": {"on": True}}}),
    )
    for thing in ("calm", "drift"):
        iot_data.update_thing_shadow(
            thingName=thing,
            shadowName="cfg",
            payload=json.dumps({"state": {"desired": {"mode": "eco"}}}),
        )
    calm, drift = _shadow(iot, "calm"), _shadow(iot, "drift")
    assert calm["hasDelta"] is False
    assert drift["hasDelta"] is True
    assert drift["delta"] == {"on": True}
    # A named shadow with only `desired` has a delta (nothing reported yet).
    assert calm["name"]["cfg"]["hasDelta"] is True
    assert _names(iot, "shadow.hasDelta:true") == ["drift"]
    assert _names(iot, "shadow.hasDelta:false") == ["calm"]
    assert _names(iot, "shadow.name.cfg.hasDelta:true") == ["calm", "drift"]


def test_a_thing_that_never_connected_has_only_connected_false(iot: Any) -> None:
    _enable(iot, thingConnectivityIndexingMode="STATUS")
    iot.create_thing(thingName="quiet")
    [document] = iot.search_index(queryString="thingName:quiet")["things"]
    assert document["connectivity"] == {"connected": False}
    assert _names(iot, "connectivity.connected:false") == ["quiet"]
    assert _names(iot, "connectivity.timestamp>0") == []


def test_a_thing_search_returns_no_thing_groups_key(iot: Any) -> None:
    _enable(iot)
    iot.create_thing(thingName="t")
    found = iot.search_index(queryString="thingName:t")
    assert [t["thingName"] for t in found["things"]] == ["t"]
    assert "thingGroups" not in found
    assert "thingGroups" not in iot.search_index(queryString="thingName:nobody")


def test_violations_mode_indexes_active_violations(iot: Any, iot_mock: IotMock) -> None:
    _enable(iot, deviceDefenderIndexingMode="VIOLATIONS")
    for thing in ("noisy", "fine"):
        iot.create_thing(thingName=thing)
    behavior = {
        "name": "few-messages",
        "metric": "aws:num-messages-sent",
        "criteria": {"comparisonOperator": "less-than", "value": {"count": 10}},
    }
    iot.create_security_profile(securityProfileName="sp", behaviors=[behavior])
    iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=REGISTERED)
    iot_mock.defender.report_metric("noisy", "aws:num-messages-sent", 50)
    iot_mock.defender.report_metric("fine", "aws:num-messages-sent", 1)
    assert _names(iot, "deviceDefender.violationCount>0") == ["noisy"]
    assert _names(iot, "deviceDefender.violationCount:0") == ["fine"]
    assert _names(iot, "deviceDefender.sp.few-messages.inViolation:true") == ["noisy"]
    [document] = iot.search_index(queryString="thingName:noisy")["things"]
    defender = json.loads(document["deviceDefender"])
    assert defender["violationCount"] == 1
    assert defender["sp"]["few-messages"]["inViolation"] is True
    # The violation clears: the index follows at once.
    iot_mock.defender.report_metric("noisy", "aws:num-messages-sent", 2)
    assert _names(iot, "deviceDefender.violationCount>0") == []


def test_violation_count_is_not_indexed_when_the_mode_is_off(iot: Any, iot_mock: IotMock) -> None:
    _enable(iot)
    iot.create_thing(thingName="noisy")
    [document] = iot.search_index(queryString="thingName:noisy")["things"]
    assert "deviceDefender" not in document
    assert _names(iot, "deviceDefender.violationCount:*") == []
