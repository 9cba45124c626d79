"""Who may connect to the MQTT endpoint, and IoT policies enforced on the wire."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mqtt_devices import REGION, Credentials, Device, provision

from iotmock import IotMock
from iotmock.identity.crypto import (
    make_ca,
    new_ec_key,
    private_key_pem,
    to_pem,
    verification_certificate,
)

NOT_AUTHORIZED = 0x87
V3_FAILURE = 0x80


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


ARN = "arn:aws:iot:us-east-1:123456789012"


def assert_refused(device: Device) -> None:
    """The server ends the connection without a CONNACK (or fails the TLS handshake)."""
    try:
        device.connect()
    except (AssertionError, ssl.SSLError, ConnectionError, OSError):
        device.client.loop_stop()
        return
    raise AssertionError("the connection was accepted")


def _own_credentials(directory: Path, pem: str, key: ec.EllipticCurvePrivateKey) -> Credentials:
    cert_file = directory / "own.pem"
    key_file = directory / "own.key"
    cert_file.write_text(pem)
    key_file.write_text(private_key_pem(key))
    return Credentials("", "", str(cert_file), str(key_file))


def _attach_allow_all(certificate_arn: str) -> None:
    iot = boto3.client("iot", region_name=REGION)
    iot.create_policy(policyName="all", policyDocument=json.dumps(policy(allow("iot:*", "*"))))
    iot.attach_policy(policyName="all", target=certificate_arn)


# --------------------------------------------------------------------------- certificates


def test_unknown_certificate_is_refused(iot_mqtt: IotMock, tmp_path: Path) -> None:
    stranger_ca = make_ca("Stranger CA")
    key = new_ec_key()
    pem = to_pem(stranger_ca.issue(key.public_key()))
    assert_refused(Device(iot_mqtt, _own_credentials(tmp_path, pem, key), "stranger"))
    # The listener still serves known devices.
    Device(iot_mqtt, provision(tmp_path), "friend").connect()


@pytest.mark.parametrize("status", ["INACTIVE", "REVOKED"])
def test_certificate_must_be_active(iot_mqtt: IotMock, tmp_path: Path, status: str) -> None:
    credentials = provision(tmp_path)
    iot = boto3.client("iot", region_name=REGION)
    iot.update_certificate(certificateId=credentials.certificate_id, newStatus=status)
    assert_refused(Device(iot_mqtt, credentials, "device-1", version=5))
    assert_refused(Device(iot_mqtt, credentials, "device-1", version=4))
    if status == "INACTIVE":  # a revoked certificate cannot be made active again
        iot.update_certificate(certificateId=credentials.certificate_id, newStatus="ACTIVE")
        _flags, reason, _ = Device(iot_mqtt, credentials, "device-1").connect()
        assert reason.value == 0


def test_certificate_registered_without_ca_connects(iot_mqtt: IotMock, tmp_path: Path) -> None:
    maker = make_ca("Device Maker")
    key = new_ec_key()
    pem = to_pem(maker.issue(key.public_key()))
    iot = boto3.client("iot", region_name=REGION)
    registered = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")
    _attach_allow_all(registered["certificateArn"])
    device = Device(iot_mqtt, _own_credentials(tmp_path, pem, key), "maker-1")
    _flags, reason, _ = device.connect()
    assert reason.value == 0
    event = iot_mqtt.messages("$aws/events/presence/connected/maker-1")[-1].json()
    assert event["principalIdentifier"] == registered["certificateId"]
    device.close()


def test_certificate_of_a_registered_ca_follows_the_ca_status(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    iot = boto3.client("iot", region_name=REGION)
    ca = make_ca("Fleet CA")
    code = iot.get_registration_code()["registrationCode"]
    ca_id = iot.register_ca_certificate(
        caCertificate=ca.pem,
        verificationCertificate=verification_certificate(ca, code),
        setAsActive=True,
    )["certificateId"]
    key = new_ec_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleet-7")])
    pem = to_pem(ca.issue(key.public_key(), subject=subject))
    registered = iot.register_certificate(
        certificatePem=pem, caCertificatePem=ca.pem, status="ACTIVE"
    )
    _attach_allow_all(registered["certificateArn"])
    credentials = _own_credentials(tmp_path, pem, key)

    device = Device(iot_mqtt, credentials, "fleet-7")
    assert device.connect()[1].value == 0
    device.close()

    iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    assert_refused(Device(iot_mqtt, credentials, "fleet-7"))


# --------------------------------------------------------------------------- connect


def test_connect_denied_by_policy(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(
        tmp_path, policy=policy(allow("iot:Connect", f"{ARN}:client/allowed-*"))
    )
    # MQTT 3.1.1: the connection is closed, no CONNACK.
    assert_refused(Device(iot_mqtt, credentials, "other", version=4))
    # MQTT 5: CONNACK 0x87 Not authorized.
    device = Device(iot_mqtt, credentials, "other", version=5)
    _flags, reason, _ = device.connect()
    assert reason.value == NOT_AUTHORIZED
    device.client.loop_stop()
    # An allowed client id connects.
    assert Device(iot_mqtt, credentials, "allowed-1", version=4).connect()[1].value == 0
    # The denied attempts left connect_failed events, no connected event.
    events = [m.json() for m in iot_mqtt.messages("$aws/events/presence/+/+")]
    assert [(e["eventType"], e["clientId"]) for e in events] == [
        ("connect_failed", "other"),
        ("connect_failed", "other"),
        ("connected", "allowed-1"),
    ]
    assert events[0]["failureType"] == "AUTHORIZATION_FAILURE"
    assert events[0]["principalIdentifier"] == credentials.certificate_id


def test_policy_variables_thing_name_and_client_id(iot_mqtt: IotMock, tmp_path: Path) -> None:
    document = policy(
        allow("iot:Connect", f"{ARN}:client/${{iot:Connection.Thing.ThingName}}"),
        allow("iot:Subscribe", f"{ARN}:topicfilter/things/${{iot:ClientId}}/*"),
        allow(
            "iot:Subscribe",
            f"{ARN}:topicfilter/models/${{iot:Connection.Thing.Attributes[model]}}",
        ),
    )
    credentials = provision(tmp_path, thing="boiler", policy=document)
    boto3.client("iot", region_name=REGION).update_thing(
        thingName="boiler", attributePayload={"attributes": {"model": "b200"}}
    )
    # A client id that is not the attached thing's name has no thing name to match.
    assert Device(iot_mqtt, credentials, "kettle").connect()[1].value == NOT_AUTHORIZED
    device = Device(iot_mqtt, credentials, "boiler")
    assert device.connect()[1].value == 0
    assert device.subscribe("things/boiler/temperature") == [1]
    assert device.subscribe("things/kettle/temperature") == [NOT_AUTHORIZED]
    assert device.subscribe("models/b200") == [1]
    assert device.subscribe("models/x9") == [NOT_AUTHORIZED]
    device.close()


# --------------------------------------------------------------------------- subscribe


@pytest.mark.parametrize(("version", "denied"), [(4, V3_FAILURE), (5, NOT_AUTHORIZED)])
def test_subscribe_denied_per_filter(
    iot_mqtt: IotMock, tmp_path: Path, version: int, denied: int
) -> None:
    document = policy(
        allow("iot:Connect", "*"),
        allow("iot:Subscribe", f"{ARN}:topicfilter/sensors/*"),
    )
    device = Device(iot_mqtt, provision(tmp_path, policy=document), "s1", version=version)
    device.connect()
    device.client.subscribe([("sensors/+/temp", 1), ("actuators/#", 1), ("sensors/a", 0)])
    assert device.subacks.get(timeout=5) == [1, denied, 0]
    # Subscribing again later works for allowed filters: the connection stays.
    assert device.subscribe("sensors/b") == [1]
    device.close()


# --------------------------------------------------------------------------- publish


def test_publish_denied_mqtt311_closes_the_connection(iot_mqtt: IotMock, tmp_path: Path) -> None:
    document = policy(allow("iot:Connect", "*"), allow("iot:Publish", f"{ARN}:topic/ok/*"))
    device = Device(iot_mqtt, provision(tmp_path, policy=document), "p3", version=4)
    device.connect()
    assert device.publish("ok/1", b"fine") == 0
    device.client.publish("forbidden/1", b"no", qos=1)
    assert device.disconnected.wait(5)
    device.client.loop_stop()
    assert [m.topic for m in iot_mqtt.messages("ok/#")] == ["ok/1"]
    assert iot_mqtt.messages("forbidden/#") == []
    event = iot_mqtt.messages("$aws/events/presence/disconnected/p3")[-1].json()
    assert event["disconnectReason"] == "AUTH_ERROR"


def test_publish_denied_mqtt5_puback_not_authorized(iot_mqtt: IotMock, tmp_path: Path) -> None:
    document = policy(allow("iot:Connect", "*"), allow("iot:Publish", f"{ARN}:topic/ok/*"))
    device = Device(iot_mqtt, provision(tmp_path, policy=document), "p5", version=5)
    device.connect()
    assert device.publish("forbidden/1", b"no") == NOT_AUTHORIZED
    assert device.publish("ok/1", b"fine") == 0
    assert not device.disconnected.is_set()
    assert [m.topic for m in iot_mqtt.messages("#") if not m.topic.startswith("$")] == ["ok/1"]
    device.close()


def test_retained_publish_needs_retain_publish(iot_mqtt: IotMock, tmp_path: Path) -> None:
    document = policy(allow(["iot:Connect", "iot:Publish"], "*"))
    device = Device(iot_mqtt, provision(tmp_path, policy=document), "r5", version=5)
    device.connect()
    assert device.publish("status/r5", b"up", retain=True) == NOT_AUTHORIZED
    assert device.publish("status/r5", b"up") == 0
    data = boto3.client("iot-data", region_name=REGION)
    assert data.list_retained_messages()["retainedTopics"] == []
    device.close()


def test_receive_is_checked_per_message(iot_mqtt: IotMock, tmp_path: Path) -> None:
    document = policy(
        allow(["iot:Connect", "iot:Subscribe"], "*"),
        allow("iot:Receive", f"{ARN}:topic/public/*"),
    )
    device = Device(iot_mqtt, provision(tmp_path, policy=document), "listener")
    device.connect()
    assert device.subscribe("+/news") == [1]
    data = boto3.client("iot-data", region_name=REGION)
    data.publish(topic="secret/news", payload=b"hidden", qos=1)
    data.publish(topic="public/news", payload=b"shared", qos=1)
    assert device.expect("public/news").payload == b"shared"
    device.expect_nothing()
    device.close()


def test_detaching_the_policy_applies_to_a_connected_device(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "d1")
    device.connect()
    assert device.publish("a/b", b"1") == 0
    iot = boto3.client("iot", region_name=REGION)
    for attached in iot.list_attached_policies(target=credentials.certificate_arn)["policies"]:
        iot.detach_policy(policyName=attached["policyName"], target=credentials.certificate_arn)
    assert device.publish("a/b", b"2") == NOT_AUTHORIZED
    device.close()


def test_deactivating_the_certificate_disconnects_its_devices(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "revoked-soon")
    device.connect(will=("status/revoked-soon", b"gone", False))
    assert device.subscribe("news/#") == [1]
    boto3.client("iot", region_name=REGION).update_certificate(
        certificateId=credentials.certificate_id, newStatus="REVOKED"
    )
    # The next message for the device (or from it) ends the connection.
    boto3.client("iot-data", region_name=REGION).publish(topic="news/1", payload=b"x")
    assert device.disconnected.wait(5)
    assert device.disconnect_reason.value == NOT_AUTHORIZED
    device.client.loop_stop()
    assert device.messages.empty()
    event = iot_mqtt.messages("$aws/events/presence/disconnected/revoked-soon")[-1].json()
    assert event["disconnectReason"] == "AUTH_ERROR"
    assert [m.payload for m in iot_mqtt.messages("status/revoked-soon")] == [b"gone"]


def test_certificate_policy_variables(iot_mqtt: IotMock, tmp_path: Path) -> None:
    """`${iot:Certificate.Subject.CommonName}` comes from the certificate presented."""
    maker = make_ca("Meter Maker")
    key = new_ec_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meter-42")])
    pem = to_pem(maker.issue(key.public_key(), subject=subject))
    iot = boto3.client("iot", region_name=REGION)
    registered = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")
    document = policy(
        allow("iot:Connect", f"{ARN}:client/${{iot:Certificate.Subject.CommonName}}"),
        allow("iot:Publish", f"{ARN}:topic/meters/${{iot:Certificate.Subject.CommonName}}/*"),
    )
    iot.create_policy(policyName="by-cn", policyDocument=json.dumps(document))
    iot.attach_policy(policyName="by-cn", target=registered["certificateArn"])
    credentials = _own_credentials(tmp_path, pem, key)
    assert Device(iot_mqtt, credentials, "meter-7").connect()[1].value == NOT_AUTHORIZED
    device = Device(iot_mqtt, credentials, "meter-42")
    assert device.connect()[1].value == 0
    assert device.publish("meters/meter-42/kwh", b"12.5") == 0
    assert device.publish("meters/meter-7/kwh", b"99") == NOT_AUTHORIZED
    device.close()
