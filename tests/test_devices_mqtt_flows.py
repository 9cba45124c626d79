"""Real device clients (paho-mqtt 3.1.1 and 5, the AWS IoT Device SDK v2) against the
MQTT endpoint: shadows and jobs end to end, checked through boto3."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import boto3
import pytest
from mqtt_devices import REGION, WAIT, provision, subscribed_device

from iotmock import IotMock

SHADOW = "$aws/things/{}/shadow"
JOBS = "$aws/things/{}/jobs"


@pytest.mark.parametrize("version", [4, 5])
def test_device_updates_reads_and_receives_its_shadow(
    iot_mqtt: IotMock, tmp_path: Path, version: int
) -> None:
    thing = f"lamp-{version}"
    credentials = provision(tmp_path, thing=thing)
    shadow = SHADOW.format(thing)
    device = subscribed_device(
        iot_mqtt,
        credentials,
        thing,
        f"{shadow}/update/accepted",
        f"{shadow}/update/delta",
        f"{shadow}/get/accepted",
        version=version,
    )

    # The device reports; the app (boto3) asks for a change; the device gets the delta.
    assert device.publish(f"{shadow}/update", {"state": {"reported": {"on": False}}}) == 0
    accepted = json.loads(device.expect(f"{shadow}/update/accepted").payload)
    assert accepted["state"] == {"reported": {"on": False}}
    assert accepted["version"] == 1
    data = boto3.client("iot-data", region_name=REGION)
    data.update_thing_shadow(
        thingName=thing, payload=json.dumps({"state": {"desired": {"on": True}}})
    )
    delta = json.loads(device.expect(f"{shadow}/update/delta").payload)
    assert delta["state"] == {"on": True}
    assert delta["version"] == 2

    # The device applies it and reads its shadow back.
    device.publish(f"{shadow}/update", {"state": {"reported": {"on": True}, "desired": None}})
    device.publish(f"{shadow}/get", b"")
    document = json.loads(device.expect(f"{shadow}/get/accepted").payload)
    assert document["state"] == {"reported": {"on": True}}
    assert document["version"] == 3
    device.close()

    stored = json.loads(data.get_thing_shadow(thingName=thing)["payload"].read())
    assert stored["state"] == {"reported": {"on": True}}
    assert stored["version"] == 3


def _create_job(thing: str) -> None:
    iot = boto3.client("iot", region_name=REGION)
    thing_arn = iot.describe_thing(thingName=thing)["thingArn"]
    iot.create_job(
        jobId="update-firmware",
        targets=[thing_arn],
        document=json.dumps({"operation": "update", "version": "2.0"}),
    )


@pytest.mark.parametrize("version", [4, 5])
def test_device_runs_a_job_to_completion(iot_mqtt: IotMock, tmp_path: Path, version: int) -> None:
    thing = f"pump-{version}"
    credentials = provision(tmp_path, thing=thing)
    jobs = JOBS.format(thing)
    device = subscribed_device(
        iot_mqtt,
        credentials,
        thing,
        f"{jobs}/notify-next",
        f"{jobs}/+/update/accepted",
        version=version,
    )

    _create_job(thing)
    notified = json.loads(device.expect(f"{jobs}/notify-next").payload)
    execution = notified["execution"]
    assert execution["jobId"] == "update-firmware"
    assert execution["status"] == "QUEUED"
    assert execution["jobDocument"] == {"operation": "update", "version": "2.0"}

    device.publish(
        f"{jobs}/update-firmware/update",
        {"status": "SUCCEEDED", "statusDetails": {"installed": "2.0"}, "expectedVersion": 1},
    )
    accepted = json.loads(device.expect(f"{jobs}/update-firmware/update/accepted").payload)
    assert "timestamp" in accepted
    # With nothing left to do, notify-next carries no execution.
    assert "execution" not in json.loads(device.expect(f"{jobs}/notify-next").payload)
    device.close()

    iot = boto3.client("iot", region_name=REGION)
    described = iot.describe_job_execution(jobId="update-firmware", thingName=thing)["execution"]
    assert described["status"] == "SUCCEEDED"
    assert described["statusDetails"] == {"detailsMap": {"installed": "2.0"}}
    assert iot.describe_job(jobId="update-firmware")["job"]["status"] == "COMPLETED"


# --------------------------------------------------------------------------- AWS IoT Device SDK


def _sdk_connection(mock: IotMock, credentials: Any, client_id: str) -> Any:
    from awscrt import mqtt
    from awsiot import mqtt_connection_builder

    assert mock.mqtt.running
    connection = mqtt_connection_builder.mtls_from_path(
        endpoint="localhost",
        port=mock.mqtt.port,
        cert_filepath=credentials.cert_file,
        pri_key_filepath=credentials.key_file,
        ca_filepath=mock.mqtt.ca_file,
        client_id=client_id,
        clean_session=True,
        keep_alive_secs=30,
    )
    assert isinstance(connection, mqtt.Connection)
    return connection


def _first_message(subscribe: Callable[..., Any], request: Any) -> Future[Any]:
    """Subscribe with a Device SDK service client; the future gets the first message."""
    from awscrt import mqtt

    first: Future[Any] = Future()
    subscribed, _ = subscribe(
        request, mqtt.QoS.AT_LEAST_ONCE, lambda m: first.done() or first.set_result(m)
    )
    subscribed.result(WAIT)
    return first


def test_device_sdk_shadow_and_job(iot_mqtt: IotMock, tmp_path: Path) -> None:
    """The AWS IoT Device SDK v2's shadow and jobs clients, as a real device uses them."""
    from awscrt import mqtt
    from awsiot import iotjobs, iotshadow

    thing = "sdk-device"
    credentials = provision(tmp_path, thing=thing)
    connection = _sdk_connection(iot_mqtt, credentials, thing)
    connection.connect().result(WAIT)
    try:
        shadow = iotshadow.IotShadowClient(connection)
        deltas = _first_message(
            shadow.subscribe_to_shadow_delta_updated_events,
            iotshadow.ShadowDeltaUpdatedSubscriptionRequest(thing_name=thing),
        )
        accepted = _first_message(
            shadow.subscribe_to_update_shadow_accepted,
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=thing),
        )
        shadow.publish_update_shadow(
            iotshadow.UpdateShadowRequest(
                thing_name=thing,
                state=iotshadow.ShadowState(reported={"color": "red"}),
            ),
            mqtt.QoS.AT_LEAST_ONCE,
        ).result(WAIT)
        assert accepted.result(WAIT).state.reported == {"color": "red"}

        data = boto3.client("iot-data", region_name=REGION)
        data.update_thing_shadow(
            thingName=thing, payload=json.dumps({"state": {"desired": {"color": "blue"}}})
        )
        assert deltas.result(WAIT).state == {"color": "blue"}

        jobs = iotjobs.IotJobsClient(connection)
        notified = _first_message(
            jobs.subscribe_to_next_job_execution_changed_events,
            iotjobs.NextJobExecutionChangedSubscriptionRequest(thing_name=thing),
        )
        updated = _first_message(
            jobs.subscribe_to_update_job_execution_accepted,
            iotjobs.UpdateJobExecutionSubscriptionRequest(thing_name=thing, job_id="+"),
        )
        _create_job(thing)
        execution = notified.result(WAIT).execution
        assert execution.job_id == "update-firmware"
        assert execution.job_document == {"operation": "update", "version": "2.0"}
        jobs.publish_update_job_execution(
            iotjobs.UpdateJobExecutionRequest(
                thing_name=thing,
                job_id="update-firmware",
                status="SUCCEEDED",
                status_details={"result": "ok"},
            ),
            mqtt.QoS.AT_LEAST_ONCE,
        ).result(WAIT)
        updated.result(WAIT)
    finally:
        connection.disconnect().result(WAIT)

    iot = boto3.client("iot", region_name=REGION)
    described = iot.describe_job_execution(jobId="update-firmware", thingName=thing)["execution"]
    assert described["status"] == "SUCCEEDED"
    assert described["statusDetails"] == {"detailsMap": {"result": "ok"}}
    stored = json.loads(data.get_thing_shadow(thingName=thing)["payload"].read())
    assert stored["state"]["reported"] == {"color": "red"}


def test_device_sdk_refused_with_an_inactive_certificate(iot_mqtt: IotMock, tmp_path: Path) -> None:
    from awscrt.exceptions import AwsCrtError

    credentials = provision(tmp_path, thing="sleepy", active=False)
    connection = _sdk_connection(iot_mqtt, credentials, "sleepy")
    with pytest.raises(AwsCrtError):
        connection.connect().result(WAIT)


def test_device_sdk_mqtt5_client(iot_mqtt: IotMock, tmp_path: Path) -> None:
    """The Device SDK's MQTT 5 client: connect, subscribe, publish, and a shadow reply."""
    from awscrt import mqtt5
    from awsiot import mqtt5_client_builder

    assert iot_mqtt.mqtt.running
    thing = "sdk5"
    arn = "arn:aws:iot:us-east-1:123456789012"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iot:Connect", "iot:Subscribe", "iot:Receive"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": f"{arn}:topic/$aws/things/{thing}/*",
            },
        ],
    }
    credentials = provision(tmp_path, thing=thing, policy=policy)
    connected: Future[Any] = Future()
    received: Future[Any] = Future()
    stopped: Future[Any] = Future()
    client = mqtt5_client_builder.mtls_from_path(
        endpoint="localhost",
        port=iot_mqtt.mqtt.port,
        cert_filepath=credentials.cert_file,
        pri_key_filepath=credentials.key_file,
        ca_filepath=iot_mqtt.mqtt.ca_file,
        client_id=thing,
        on_lifecycle_connection_success=lambda data: connected.done() or connected.set_result(data),
        on_lifecycle_stopped=lambda data: stopped.set_result(data),
        on_publish_received=lambda data: received.done() or received.set_result(data),
    )
    client.start()
    try:
        connack = connected.result(WAIT).connack_packet
        assert connack.maximum_qos == mqtt5.QoS.AT_LEAST_ONCE
        accepted = f"$aws/things/{thing}/shadow/update/accepted"
        suback = client.subscribe(
            mqtt5.SubscribePacket(
                subscriptions=[mqtt5.Subscription(accepted, mqtt5.QoS.AT_LEAST_ONCE)]
            )
        ).result(WAIT)
        assert suback.reason_codes == [mqtt5.SubackReasonCode.GRANTED_QOS_1]
        puback = client.publish(
            mqtt5.PublishPacket(
                topic=f"$aws/things/{thing}/shadow/update",
                payload=json.dumps({"state": {"reported": {"mode": "eco"}}}).encode(),
                qos=mqtt5.QoS.AT_LEAST_ONCE,
            )
        ).result(WAIT)
        assert puback.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
        publish = received.result(WAIT).publish_packet
        assert publish.topic == accepted
        assert json.loads(publish.payload)["state"] == {"reported": {"mode": "eco"}}
        denied = client.publish(
            mqtt5.PublishPacket(topic="elsewhere", payload=b"{}", qos=mqtt5.QoS.AT_LEAST_ONCE)
        ).result(WAIT)
        assert denied.puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED
    finally:
        client.stop()
        stopped.result(WAIT)
