"""Members that only botocore 1.44+ models: InfluxDB topic rule destinations and rule
actions, and the session and socket information of GetThingConnectivityData and
SearchIndex. Under the pinned botocore these tests skip; the newest-botocore CI step
runs them (`-m newest_botocore`). The Kafka checks at the end run under both."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock
from iotmock.core.model import service_model

ROLE = "arn:aws:iam::123456789012:role/rules"
ERRORS_TOPIC = "rule/errors"


def _models(shape: str, member: str) -> bool:
    return member in service_model("iot").shape_for(shape).members


newest = [
    pytest.mark.newest_botocore,
    pytest.mark.skipif(
        not _models("TopicRuleDestinationConfiguration", "influxDBConfiguration")
        or not _models("GetThingConnectivityDataResponse", "keepAliveDuration"),
        reason="the installed botocore's iot model has no InfluxDB destinations or "
        "connectivity session members (botocore 1.44+ has them)",
    ),
]

INFLUX = {
    "endpoint": "https://influx.example.com:8086",
    "influxDBVersion": "V2",
    "secretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:influx",
    "secretKey": "token",
}


def _influx_destination(iot: Any, **overrides: Any) -> dict[str, Any]:
    configuration = {"influxDBConfiguration": {**INFLUX, **overrides}}
    found: dict[str, Any] = iot.create_topic_rule_destination(
        destinationConfiguration=configuration
    )["topicRuleDestination"]
    return found


def _rule(iot: Any, name: str, action: dict[str, Any]) -> None:
    iot.create_topic_rule(
        ruleName=name,
        topicRulePayload={
            "sql": "SELECT * FROM 'sensors/+'",
            "actions": [action],
            "errorAction": {"republish": {"topic": ERRORS_TOPIC, "roleArn": ROLE}},
        },
    )


def _influx_action(destination_arn: str) -> dict[str, Any]:
    return {
        "influxDB": {
            "destinationArn": destination_arn,
            "roleArn": ROLE,
            "databaseName": "telemetry",
            "tableName": "${topic(2)}",
            "tags": {"device": "${clientid()}"},
            "timestampUnit": "ms",
            "batchConfig": {"maxBatchSize": 10, "batchAcrossTopics": True},
        }
    }


# ------------------------------------------------------------- InfluxDB destinations


class TestInfluxDBDestinations:
    pytestmark = newest

    def test_create_describe_and_list(self, iot: Any) -> None:
        created = _influx_destination(iot)
        assert created["arn"].startswith(
            "arn:aws:iot:us-east-1:123456789012:ruledestination/influxdb/"
        )
        # No confirmation challenge: the token is read when the action writes.
        assert created["status"] == "ENABLED"
        assert created["influxDBProperties"] == INFLUX
        assert "httpUrlProperties" not in created and "vpcProperties" not in created
        got = iot.get_topic_rule_destination(arn=created["arn"])["topicRuleDestination"]
        assert got == created
        (summary,) = iot.list_topic_rule_destinations()["destinationSummaries"]
        assert summary["influxDBSummary"] == INFLUX
        assert summary["arn"] == created["arn"]

    def test_exactly_one_configuration(self, iot: Any) -> None:
        with pytest.raises(ClientError) as exc:
            iot.create_topic_rule_destination(
                destinationConfiguration={
                    "influxDBConfiguration": INFLUX,
                    "httpUrlConfiguration": {"confirmationUrl": "https://example.com/c"},
                }
            )
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "exactly one of httpUrlConfiguration, vpcConfiguration and " in str(exc.value)
        assert "influxDBConfiguration" in str(exc.value)

    def test_endpoint_must_be_a_url(self, iot: Any) -> None:
        with pytest.raises(ClientError) as exc:
            _influx_destination(iot, endpoint="influx.example.com")
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "'influx.example.com' is not a valid URL" in str(exc.value)
        assert iot.list_topic_rule_destinations()["destinationSummaries"] == []

    def test_model_constraints_apply(self, iot: Any) -> None:
        with pytest.raises(ClientError) as exc:
            _influx_destination(iot, influxDBVersion="V1")
        assert code_of(exc) == ("InvalidRequestException", 400)

    def test_status_changes(self, iot: Any) -> None:
        arn = _influx_destination(iot)["arn"]
        iot.update_topic_rule_destination(arn=arn, status="DISABLED")
        assert iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]["status"] == (
            "DISABLED"
        )
        with pytest.raises(ClientError) as exc:
            iot.update_topic_rule_destination(arn=arn, status="IN_PROGRESS")
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "is of kind InfluxDB: it has no confirmation" in str(exc.value)
        iot.update_topic_rule_destination(arn=arn, status="ENABLED")
        iot.delete_topic_rule_destination(arn=arn)
        with pytest.raises(ClientError) as exc:
            iot.get_topic_rule_destination(arn=arn)
        assert code_of(exc) == ("UnauthorizedException", 401)


# ------------------------------------------------------------------ InfluxDB actions


class TestInfluxDBAction:
    pytestmark = newest

    def test_rule_keeps_the_action(self, iot: Any) -> None:
        action = _influx_action(_influx_destination(iot)["arn"])
        _rule(iot, "to_influx", action)
        assert iot.get_topic_rule(ruleName="to_influx")["rule"]["actions"] == [action]

    def test_action_runs_through_an_enabled_destination(
        self, iot: Any, iot_data: Any, iot_mock: IotMock
    ) -> None:
        arn = _influx_destination(iot)["arn"]
        _rule(iot, "to_influx", _influx_action(arn))
        iot_data.publish(topic="sensors/kitchen", payload=b'{"t": 21}')
        (run,) = iot_mock.rules.invocations(rule_name="to_influx")
        assert (run.action_type, run.error) == ("influxDB", None)
        assert run.payload == b'{"t":21}'
        assert iot_mock.messages(ERRORS_TOPIC) == []

    def test_disabled_destination_fails_the_action(
        self, iot: Any, iot_data: Any, iot_mock: IotMock
    ) -> None:
        arn = _influx_destination(iot)["arn"]
        _rule(iot, "to_influx", _influx_action(arn))
        iot.update_topic_rule_destination(arn=arn, status="DISABLED")
        iot_data.publish(topic="sensors/kitchen", payload=b'{"t": 21}')
        failed = iot_mock.rules.invocations(rule_name="to_influx", action_type="influxDB")
        assert failed[0].error is not None and "is DISABLED" in failed[0].error
        (error,) = iot_mock.messages(ERRORS_TOPIC)
        document = error.json()
        assert document["failures"][0]["failedAction"] == "InfluxDBAction"

    def test_destination_of_another_kind_fails_the_action(
        self, iot: Any, iot_data: Any, iot_mock: IotMock
    ) -> None:
        vpc = iot.create_topic_rule_destination(
            destinationConfiguration={
                "vpcConfiguration": {
                    "subnetIds": ["subnet-1"],
                    "vpcId": "vpc-1",
                    "roleArn": ROLE,
                }
            }
        )["topicRuleDestination"]["arn"]
        _rule(iot, "to_influx", _influx_action(vpc))
        iot_data.publish(topic="sensors/kitchen", payload=b"{}")
        (run,) = iot_mock.rules.invocations(rule_name="to_influx", action_type="influxDB")
        assert run.error is not None and "of kind VPC" in run.error
        assert len(iot_mock.messages(ERRORS_TOPIC)) == 1


# ------------------------------------------------- connectivity: session and socket data


def _socket_filter(iot: Any, apis: list[str]) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "thingConnectivityIndexingMode": "STATUS",
            "filter": {"connectivity": {"includeSocketInformation": apis}},
        }
    )


SOCKET_KEYS = {"sourceIp", "sourcePort", "targetIp", "targetPort"}


class TestConnectivitySessionInformation:
    pytestmark = newest

    def test_session_details_of_a_live_and_a_gone_client(
        self, iot: Any, iot_data: Any, iot_mock: IotMock
    ) -> None:
        iot.create_thing(thingName="dev")
        never = iot.get_thing_connectivity_data(thingName="dev")
        never.pop("ResponseMetadata")
        assert never == {"thingName": "dev", "connected": False}
        iot_mock.devices.connect("dev", keep_alive=90, clean_session=False, session_expiry=600)
        live = iot.get_thing_connectivity_data(thingName="dev")
        assert live["connected"] is True
        assert (live["clientId"], live["keepAliveDuration"]) == ("dev", 90)
        assert (live["cleanSession"], live["sessionExpiry"]) == (False, 600)
        assert not SOCKET_KEYS & set(live)
        iot_data.delete_connection(clientId="dev")
        gone = iot.get_thing_connectivity_data(thingName="dev")
        assert gone["connected"] is False
        # The newest model's enum has the reason DeleteConnection gives.
        assert gone["disconnectReason"] == "API_INITIATED_DISCONNECT"
        assert gone["keepAliveDuration"] == 90

    def test_socket_information_needs_the_flag_and_the_filter(
        self, iot: Any, iot_mock: IotMock
    ) -> None:
        iot.create_thing(thingName="dev")
        iot_mock.devices.connect("dev")
        asked = iot.get_thing_connectivity_data(thingName="dev", includeSocketInformation=True)
        assert not SOCKET_KEYS & set(asked)  # the indexing filter does not allow it yet
        _socket_filter(iot, ["GET_THING_CONNECTIVITY_DATA"])
        config = iot.get_indexing_configuration()["thingIndexingConfiguration"]
        assert config["filter"] == {
            "connectivity": {"includeSocketInformation": ["GET_THING_CONNECTIVITY_DATA"]}
        }
        plain = iot.get_thing_connectivity_data(thingName="dev")
        assert not SOCKET_KEYS & set(plain)
        asked = iot.get_thing_connectivity_data(thingName="dev", includeSocketInformation=True)
        assert asked["sourceIp"] == "127.0.0.1"
        assert (asked["targetIp"], asked["targetPort"]) == ("127.0.0.1", 8883)
        assert isinstance(asked["sourcePort"], int)
        assert "vpcEndpointId" not in asked
        _socket_filter(iot, [])
        config = iot.get_indexing_configuration()["thingIndexingConfiguration"]
        assert "filter" not in config

    def test_search_index_documents_carry_the_session(self, iot: Any, iot_mock: IotMock) -> None:
        iot.create_thing(thingName="dev")
        iot.create_thing(thingName="idle")
        _socket_filter(iot, [])
        iot_mock.devices.connect("dev", keep_alive=45)
        things = {
            t["thingName"]: t["connectivity"]
            for t in iot.search_index(queryString="thingName:*")["things"]
        }
        assert things["idle"] == {"connected": False}
        dev = things["dev"]
        assert dev["connected"] is True
        assert (dev["clientId"], dev["keepAliveDuration"]) == ("dev", 45)
        assert (dev["cleanSession"], dev["sessionExpiry"]) == (True, 0)


# --------------------------------------------------- Kafka actions (every botocore)


def _kafka_action(destination_arn: str) -> dict[str, Any]:
    return {
        "kafka": {
            "destinationArn": destination_arn,
            "topic": "telemetry",
            "clientProperties": {"bootstrap.servers": "kafka.example.com:9092"},
        }
    }


def test_kafka_action_needs_an_enabled_vpc_destination(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    vpc = iot.create_topic_rule_destination(
        destinationConfiguration={
            "vpcConfiguration": {"subnetIds": ["subnet-1"], "vpcId": "vpc-1", "roleArn": ROLE}
        }
    )["topicRuleDestination"]["arn"]
    _rule(iot, "to_kafka", _kafka_action(vpc))
    iot_data.publish(topic="sensors/a", payload=b"{}")
    assert [i.error for i in iot_mock.rules.invocations(rule_name="to_kafka")] == [None]
    iot.update_topic_rule_destination(arn=vpc, status="DISABLED")
    iot_data.publish(topic="sensors/a", payload=b"{}")
    failed = iot_mock.rules.invocations(rule_name="to_kafka", action_type="kafka")[-1]
    assert failed.error is not None and "is DISABLED" in failed.error
    assert len(iot_mock.messages(ERRORS_TOPIC)) == 1


def test_kafka_action_with_a_missing_destination_fails(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    missing = "arn:aws:iot:us-east-1:123456789012:ruledestination/vpc/gone"
    _rule(iot, "to_kafka", _kafka_action(missing))
    iot_data.publish(topic="sensors/a", payload=b"{}")
    (run,) = iot_mock.rules.invocations(rule_name="to_kafka", action_type="kafka")
    assert run.error == f"The VPC topic rule destination {missing} does not exist."
    (error,) = iot_mock.messages(ERRORS_TOPIC)
    assert error.json()["failures"][0]["failedAction"] == "KafkaAction"
