"""Device Defender Detect violations, metric values and ML training summaries, driven by
`IotMock.defender.report_metric`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock

REGISTERED = "arn:aws:iot:us-east-1:123456789012:all/registered-things"
UNREGISTERED = "arn:aws:iot:us-east-1:123456789012:all/unregistered-things"
PAST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)


def few_messages(**criteria: Any) -> dict[str, Any]:
    return {
        "name": "few-messages",
        "metric": "aws:num-messages-sent",
        "criteria": {"comparisonOperator": "less-than", "value": {"count": 10}, **criteria},
    }


def profile(
    iot: Any, behaviors: list[dict[str, Any]], target: str = REGISTERED, name: str = "sp"
) -> None:
    iot.create_security_profile(securityProfileName=name, behaviors=behaviors)
    iot.attach_security_profile(securityProfileName=name, securityProfileTargetArn=target)


def active(iot: Any, **filters: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = iot.list_active_violations(**filters)["activeViolations"]
    return result


def events(iot: Any, **filters: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = iot.list_violation_events(
        startTime=PAST, endTime=FUTURE, **filters
    )["violationEvents"]
    return result


def test_violation_opens_and_clears(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    profile(iot, [few_messages()])
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 5)
    assert active(iot) == []
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 12)
    [violation] = active(iot)
    assert violation["thingName"] == "dev"
    assert violation["securityProfileName"] == "sp"
    assert violation["behavior"] == few_messages()
    assert violation["lastViolationValue"] == {"count": 12}
    assert violation["violationStartTime"] == violation["lastViolationTime"]
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 20)
    [again] = active(iot)
    assert again["violationId"] == violation["violationId"]
    assert again["lastViolationValue"] == {"count": 20}
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 3)
    assert active(iot) == []
    history = events(iot)
    assert [e["violationEventType"] for e in history] == ["in-alarm", "alarm-cleared"]
    assert history[0]["metricValue"] == {"count": 12}
    assert {e["violationId"] for e in history} == {violation["violationId"]}


def test_consecutive_datapoints(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    profile(iot, [few_messages(consecutiveDatapointsToAlarm=2, consecutiveDatapointsToClear=3)])
    report = lambda value: iot_mock.defender.report_metric("dev", "aws:num-messages-sent", value)  # noqa: E731
    report(50)
    report(1)
    report(50)
    assert active(iot) == []  # the streak was broken
    report(50)
    assert len(active(iot)) == 1
    report(1)
    report(1)
    assert len(active(iot)) == 1
    report(1)
    assert active(iot) == []


def test_unregistered_things_and_groups(iot: Any, iot_mock: IotMock) -> None:
    profile(iot, [few_messages()], target=UNREGISTERED, name="unregistered")
    group_arn = iot.create_thing_group(thingGroupName="parent")["thingGroupArn"]
    iot.create_thing_group(thingGroupName="child", parentGroupName="parent")
    profile(iot, [few_messages()], target=group_arn, name="grouped")
    iot.create_thing(thingName="member")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="member")
    iot.create_thing(thingName="loner")
    for thing in ("ghost", "member", "loner"):
        iot_mock.defender.report_metric(thing, "aws:num-messages-sent", 99)
    found = {(v["thingName"], v["securityProfileName"]) for v in active(iot)}
    # A profile on a group applies to the things of its child groups too.
    assert found == {("ghost", "unregistered"), ("member", "grouped")}
    assert [v["thingName"] for v in active(iot, thingName="member")] == ["member"]
    assert [v["thingName"] for v in active(iot, securityProfileName="unregistered")] == ["ghost"]
    assert active(iot, thingName="ghost", securityProfileName="grouped") == []
    paged = iot.list_active_violations(maxResults=1)
    rest = iot.list_active_violations(nextToken=paged["nextToken"])
    assert len(paged["activeViolations"] + rest["activeViolations"]) == 2
    with pytest.raises(ClientError) as exc:
        iot.list_active_violations(thingName="ghost", nextToken=paged["nextToken"])
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_set_operators_and_custom_metrics(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    iot.create_custom_metric(metricName="apps", metricType="string-list", clientRequestToken="t")
    iot.create_custom_metric(metricName="temp", metricType="number", clientRequestToken="t")
    profile(
        iot,
        [
            {
                "name": "ports",
                "metric": "aws:listening-tcp-ports",
                "criteria": {"comparisonOperator": "in-port-set", "value": {"ports": [443, 8883]}},
            },
            {
                "name": "ips",
                "metric": "aws:destination-ip-addresses",
                "criteria": {
                    "comparisonOperator": "not-in-cidr-set",
                    "value": {"cidrs": ["10.0.0.0/8"]},
                },
            },
            {
                "name": "apps",
                "metric": "apps",
                "criteria": {
                    "comparisonOperator": "in-set",
                    "value": {"strings": ["agent", "shell"]},
                },
            },
            {
                "name": "temp",
                "metric": "temp",
                "criteria": {"comparisonOperator": "less-than-equals", "value": {"number": 70.5}},
            },
        ],
    )
    iot_mock.defender.report_metric("dev", "aws:listening-tcp-ports", [443])
    iot_mock.defender.report_metric("dev", "aws:destination-ip-addresses", ["192.168.1.1"])
    iot_mock.defender.report_metric("dev", "apps", ["agent"])
    iot_mock.defender.report_metric("dev", "temp", 70.5)
    assert active(iot) == []
    iot_mock.defender.report_metric("dev", "aws:listening-tcp-ports", [443, 22])
    iot_mock.defender.report_metric("dev", "aws:destination-ip-addresses", ["10.1.2.3"])
    iot_mock.defender.report_metric("dev", "apps", ["miner"])
    assert iot_mock.defender.report_metric("dev", "temp", 80) == {"number": 80.0}
    by_behavior = {v["behavior"]["name"]: v["lastViolationValue"] for v in active(iot)}
    assert by_behavior == {
        "ports": {"ports": [443, 22]},
        "ips": {"cidrs": ["10.1.2.3"]},
        "apps": {"strings": ["miner"]},
        "temp": {"number": 80.0},
    }


def test_report_rejects_unknown_metric_and_wrong_value(iot_mock: IotMock) -> None:
    with pytest.raises(ValueError):
        iot_mock.defender.report_metric("dev", "aws:unknown", 1)
    with pytest.raises(ValueError):
        iot_mock.defender.report_metric("dev", "aws:num-messages-sent", [1])
    with pytest.raises(ValueError):
        iot_mock.defender.report_metric("dev", "aws:listening-tcp-ports", 22)


def test_dimension_scoped_behavior(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    iot.create_dimension(
        name="admin", type="TOPIC_FILTER", stringValues=["admin/#"], clientRequestToken="t"
    )
    profile(
        iot, [{**few_messages(), "metricDimension": {"dimensionName": "admin", "operator": "IN"}}]
    )
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 50, topic="telemetry/x")
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 50)
    assert active(iot) == []
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 50, topic="admin/reboot")
    assert len(active(iot)) == 1
    values = iot.list_metric_values(
        thingName="dev",
        metricName="aws:num-messages-sent",
        dimensionName="admin",
        startTime=PAST,
        endTime=FUTURE,
    )["metricDatumList"]
    assert [d["value"] for d in values] == [{"count": 50}]


def test_suppressed_and_criteria_type_filters(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    profile(iot, [{**few_messages(), "suppressAlerts": True}])
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 50)
    assert active(iot) == []
    assert len(active(iot, listSuppressedAlerts=True)) == 1
    assert len(active(iot, listSuppressedAlerts=True, behaviorCriteriaType="STATIC")) == 1
    assert active(iot, listSuppressedAlerts=True, behaviorCriteriaType="MACHINE_LEARNING") == []
    assert events(iot) == []
    assert len(events(iot, listSuppressedAlerts=True)) == 1


def test_verification_state(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    profile(iot, [few_messages()])
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 50)
    [violation] = active(iot)
    assert "verificationState" not in violation
    iot.put_verification_state_on_violation(
        violationId=violation["violationId"],
        verificationState="BENIGN_POSITIVE",
        verificationStateDescription="load test",
    )
    [violation] = active(iot, verificationState="BENIGN_POSITIVE")
    assert violation["verificationStateDescription"] == "load test"
    assert active(iot, verificationState="TRUE_POSITIVE") == []
    assert events(iot)[0]["verificationState"] == "BENIGN_POSITIVE"
    with pytest.raises(ClientError) as exc:
        iot.put_verification_state_on_violation(violationId="nope", verificationState="UNKNOWN")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_events_time_range_and_paging(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    profile(iot, [few_messages()])
    base = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    for index in range(6):
        iot_mock.defender.report_metric(
            "dev", "aws:num-messages-sent", 50 if index % 2 == 0 else 1, timestamp=base + index * 60
        )
    window = iot.list_violation_events(
        startTime=dt.datetime.fromtimestamp(base + 60, dt.timezone.utc),
        endTime=dt.datetime.fromtimestamp(base + 240, dt.timezone.utc),
        maxResults=2,
    )
    rest = iot.list_violation_events(
        startTime=dt.datetime.fromtimestamp(base + 60, dt.timezone.utc),
        endTime=dt.datetime.fromtimestamp(base + 240, dt.timezone.utc),
        nextToken=window["nextToken"],
    )
    listed = window["violationEvents"] + rest["violationEvents"]
    assert [e["violationEventType"] for e in listed] == [
        "alarm-cleared",
        "in-alarm",
        "alarm-cleared",
        "in-alarm",
    ]
    assert [e["violationEventTime"].timestamp() for e in listed] == [
        base + 60 * i for i in (1, 2, 3, 4)
    ]
    with pytest.raises(ClientError) as exc:
        iot.list_violation_events(startTime=FUTURE, endTime=PAST)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_behavior_removal_and_thing_deletion_invalidate(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="a")
    iot.create_thing(thingName="b")
    profile(iot, [few_messages()])
    iot_mock.defender.report_metric("a", "aws:num-messages-sent", 50)
    iot_mock.defender.report_metric("b", "aws:num-messages-sent", 50)
    iot.delete_thing(thingName="a")
    assert [v["thingName"] for v in active(iot)] == ["b"]
    iot.update_security_profile(securityProfileName="sp", behaviors=[])
    assert active(iot) == []
    kinds = sorted((e["thingName"], e["violationEventType"]) for e in events(iot))
    assert kinds == [
        ("a", "alarm-invalidated"),
        ("a", "in-alarm"),
        ("b", "alarm-invalidated"),
        ("b", "in-alarm"),
    ]


def test_list_active_violations_missing_profile(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.list_active_violations(securityProfileName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_metric_values_retained_only_for_profile_metrics(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    iot.create_security_profile(
        securityProfileName="sp", additionalMetricsToRetainV2=[{"metric": "aws:num-disconnects"}]
    )
    iot_mock.defender.report_metric("dev", "aws:num-disconnects", 1, timestamp=1_900_000_000)
    iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=REGISTERED)
    for offset, value in enumerate((2, 3, 4)):
        iot_mock.defender.report_metric(
            "dev", "aws:num-disconnects", value, timestamp=1_900_000_000 + offset
        )
    iot_mock.defender.report_metric(
        "dev", "aws:num-connection-attempts", 9, timestamp=1_900_000_000
    )
    page = iot.list_metric_values(
        thingName="dev",
        metricName="aws:num-disconnects",
        startTime=PAST,
        endTime=FUTURE,
        maxResults=2,
    )
    rest = iot.list_metric_values(
        thingName="dev",
        metricName="aws:num-disconnects",
        startTime=PAST,
        endTime=FUTURE,
        nextToken=page["nextToken"],
    )
    data = page["metricDatumList"] + rest["metricDatumList"]
    assert [d["value"]["count"] for d in data] == [2, 3, 4]
    assert data[0]["timestamp"].timestamp() == 1_900_000_000
    none = iot.list_metric_values(
        thingName="dev", metricName="aws:num-connection-attempts", startTime=PAST, endTime=FUTURE
    )
    assert none["metricDatumList"] == []
    with pytest.raises(ClientError) as exc:
        iot.list_metric_values(
            thingName="dev",
            metricName="aws:num-disconnects",
            dimensionName="missing",
            startTime=PAST,
            endTime=FUTURE,
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_behavior_model_training_summaries(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    ml = {
        "name": "ml",
        "metric": "aws:num-messages-sent",
        "criteria": {"mlDetectionConfig": {"confidenceLevel": "HIGH"}},
    }
    profile(iot, [ml, few_messages()])
    # Nothing collected yet: no collection start date (AWS's CLI example).
    [summary] = iot.get_behavior_model_training_summaries(securityProfileName="sp")["summaries"]
    assert summary["datapointsCollectionPercentage"] == 0.0
    assert "trainingDataCollectionStartDate" not in summary
    first = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 1, timestamp=first.timestamp())
    for _ in range(249):
        iot_mock.defender.report_metric("dev", "aws:num-messages-sent", 1)
    [summary] = iot.get_behavior_model_training_summaries(securityProfileName="sp")["summaries"]
    assert summary["behaviorName"] == "ml"
    assert summary["modelStatus"] == "PENDING_BUILD"
    assert summary["datapointsCollectionPercentage"] == 1.0
    assert summary["trainingDataCollectionStartDate"] == first  # the first datapoint
    assert active(iot) == []  # ML behaviors are not evaluated by the mock
    everything = iot.get_behavior_model_training_summaries()["summaries"]
    assert [(s["securityProfileName"], s["behaviorName"]) for s in everything] == [("sp", "ml")]
    with pytest.raises(ClientError) as exc:
        iot.get_behavior_model_training_summaries(securityProfileName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_statistical_threshold_uses_fleet_percentile(iot: Any, iot_mock: IotMock) -> None:
    stat = {
        "name": "typical-bytes",
        "metric": "aws:all-bytes-out",
        "criteria": {
            "comparisonOperator": "less-than-equals",
            "statisticalThreshold": {"statistic": "p50"},
            "durationSeconds": 300,
        },
    }
    profile(iot, [stat])
    base = 2_000_000_000.0
    for index, thing in enumerate(("t1", "t2", "t3")):
        iot.create_thing(thingName=thing)
        iot_mock.defender.report_metric(thing, "aws:all-bytes-out", 10, timestamp=base + index)
    iot.create_thing(thingName="outlier")
    iot_mock.defender.report_metric("outlier", "aws:all-bytes-out", 100, timestamp=base + 3)
    [violation] = active(iot, behaviorCriteriaType="STATISTICAL")
    assert violation["thingName"] == "outlier"
    assert violation["lastViolationValue"] == {"count": 100}
    # Ten minutes later the old datapoints left the 300 s window: 100 is the median now.
    iot_mock.defender.report_metric("outlier", "aws:all-bytes-out", 100, timestamp=base + 600)
    assert active(iot) == []


def test_behavior_model_becomes_active(iot: Any, iot_mock: IotMock) -> None:
    ml = {
        "name": "ml",
        "metric": "aws:num-connection-attempts",
        "criteria": {"mlDetectionConfig": {"confidenceLevel": "LOW"}},
    }
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), tick=False) as clock:
        iot.create_thing(thingName="dev")
        profile(iot, [ml])
        for _ in range(25_000):
            iot_mock.defender.report_metric("dev", "aws:num-connection-attempts", 1)
        [summary] = iot.get_behavior_model_training_summaries()["summaries"]
        assert summary["datapointsCollectionPercentage"] == 100.0
        assert summary["modelStatus"] == "PENDING_BUILD"  # 14 days of data are needed too
        clock.shift(dt.timedelta(days=14))
        [summary] = iot.get_behavior_model_training_summaries()["summaries"]
        assert summary["modelStatus"] == "ACTIVE"
        assert summary["lastModelRefreshDate"] == dt.datetime(2030, 1, 15, tzinfo=dt.timezone.utc)
