"""Device protocols through the MQTT endpoint with paho-mqtt: fleet provisioning by claim
(MQTT 5 with JSON, MQTT 3.1.1 with CBOR) under a claim policy that allows nothing else,
and just-in-time provisioning (the first connection is closed, the next one connects)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from mqtt_devices import (
    REGION,
    Credentials,
    Device,
    provision,
    subscribed_device,
    wait_until,
)
from test_devices_mqtt_policies import _own_credentials, assert_refused
from test_devices_provisioning import ROLE, TEMPLATE, _register_ca

from iotmock import IotMock
from iotmock.devices import cbor
from iotmock.identity.crypto import make_ca, new_ec_key, to_pem

ARN = "arn:aws:iot:us-east-1:123456789012"
NOT_AUTHORIZED = 0x87


def _fleet(directory: Path) -> Credentials:
    """The `fleet` template, the device policy it attaches, and a claim certificate whose
    policy allows only the provisioning topics (files for paho)."""
    iot = boto3.client("iot", region_name=REGION)
    iot.create_provisioning_template(
        templateName="fleet",
        templateBody=json.dumps(TEMPLATE),
        provisioningRoleArn=ROLE,
        enabled=True,
    )
    device_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/device-*"},
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": f"{ARN}:topic/telemetry/${{iot:ClientId}}",
            },
        ],
    }
    iot.create_policy(policyName="device-policy", policyDocument=json.dumps(device_policy))
    topics = ["$aws/certificates/create/*", "$aws/provisioning-templates/fleet/provision/*"]
    claim_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/claim-*"},
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Receive"],
                "Resource": [f"{ARN}:topic/{topic}" for topic in topics],
            },
            {
                "Effect": "Allow",
                "Action": "iot:Subscribe",
                "Resource": [f"{ARN}:topicfilter/{topic}" for topic in topics],
            },
        ],
    }
    return provision(directory, policy=claim_policy)


@pytest.mark.parametrize(("version", "fmt"), [(5, "json"), (4, "cbor")])
def test_fleet_provisioning_by_claim_over_the_endpoint(
    iot_mqtt: IotMock, tmp_path: Path, version: int, fmt: str
) -> None:
    def encode(request: dict[str, Any]) -> bytes:
        return cbor.encode(request) if fmt == "cbor" else json.dumps(request).encode()

    def answer(topic: str) -> Any:
        payload = device.expect(topic).payload
        return cbor.decode(payload) if fmt == "cbor" else json.loads(payload)

    claim = _fleet(tmp_path)
    watcher = subscribed_device(
        iot_mqtt,
        provision(tmp_path),
        "watcher",
        "$aws/certificates/#",
        "$aws/provisioning-templates/#",
    )
    device = Device(iot_mqtt, claim, "claim-1", version=version)
    assert device.connect()[1].value == 0
    create = f"$aws/certificates/create/{fmt}"
    register = f"$aws/provisioning-templates/fleet/provision/{fmt}"
    for topic in (create, register):
        for outcome in ("accepted", "rejected"):
            assert device.subscribe(f"{topic}/{outcome}") == [1]
    # The claim policy allows the provisioning topics only.
    assert device.subscribe("telemetry/#") == [NOT_AUTHORIZED if version == 5 else 0x80]

    assert device.publish(create, encode({})) == 0
    keys = answer(f"{create}/accepted")
    assert set(keys) == {
        "certificateId",
        "certificatePem",
        "privateKey",
        "certificateOwnershipToken",
    }
    assert device.publish(register, encode({"certificateOwnershipToken": "forged"})) == 0
    rejected = answer(f"{register}/rejected")
    assert rejected["statusCode"] == 400
    assert rejected["errorCode"] == "InvalidCertificateOwnershipToken"
    request = {
        "certificateOwnershipToken": keys["certificateOwnershipToken"],
        "parameters": {"SerialNumber": "0042"},
    }
    assert device.publish(register, encode(request)) == 0
    assert answer(f"{register}/accepted") == {
        "thingName": "device-0042",
        "deviceConfiguration": {"FallbackUrl": "https://example.com/fallback"},
    }
    device.close()
    # Only the requester got the answers; they are not in the message log either.
    watcher.expect_nothing()
    watcher.close()
    assert iot_mqtt.messages("$aws/certificates/#") == []
    assert iot_mqtt.messages("$aws/provisioning-templates/#") == []

    # The provisioned device connects with its new certificate, held to its own policy.
    cert_file, key_file = tmp_path / "device.pem", tmp_path / "device.key"
    cert_file.write_text(keys["certificatePem"])
    key_file.write_text(keys["privateKey"])
    arn = f"{ARN}:cert/{keys['certificateId']}"
    own = Credentials(arn, keys["certificateId"], str(cert_file), str(key_file))
    provisioned = Device(iot_mqtt, own, "device-0042", version=version)
    assert provisioned.connect()[1].value == 0
    assert provisioned.publish("telemetry/device-0042", b"{}") == 0
    provisioned.close()
    iot = boto3.client("iot", region_name=REGION)
    assert iot.list_thing_principals(thingName="device-0042")["principals"] == [arn]


def test_jitp_over_the_endpoint_closes_the_first_connection(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    device_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": f"{ARN}:client/${{iot:Connection.Thing.ThingName}}",
            },
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": f"{ARN}:topic/meters/${{iot:Connection.Thing.ThingName}}/*",
            },
        ],
    }
    # The fleet template turned into a JITP one: the thing is named after the subject's
    # common name, the certificate activated, an existing policy attached.
    template = copy.deepcopy(TEMPLATE)
    template.pop("DeviceConfiguration")
    template["Parameters"] = {
        "AWS::IoT::Certificate::CommonName": {"Type": "String"},
        "AWS::IoT::Certificate::Id": {"Type": "String"},
    }
    resources = template["Resources"]
    resources["thing"]["Properties"] = {"ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"}}
    resources["policy"]["Properties"] = {"PolicyName": "meter-policy"}
    iot = boto3.client("iot", region_name=REGION)
    iot.create_policy(policyName="meter-policy", policyDocument=json.dumps(device_policy))
    ca = make_ca("JITP CA")
    _register_ca(
        iot, ca, registrationConfig={"templateBody": json.dumps(template), "roleArn": ROLE}
    )
    key = new_ec_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meter-5")])
    credentials = _own_credentials(
        tmp_path, to_pem(ca.issue(key.public_key(), subject=subject)), key
    )
    # The first connection provisions the certificate and is closed without a CONNACK.
    assert_refused(Device(iot_mqtt, credentials, "meter-5"))
    (principal,) = iot.list_thing_principals(thingName="meter-5")["principals"]
    certificate_id = principal.rpartition("/")[2]
    described = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    assert iot_mqtt.messages("$aws/events/presence/connected/meter-5") == []
    # The device connects again, held to the provisioned policy.
    device = Device(iot_mqtt, credentials, "meter-5")
    assert device.connect()[1].value == 0
    assert device.publish("meters/meter-5/kwh", b"1.5") == 0
    assert device.publish("meters/meter-6/kwh", b"1.5") == NOT_AUTHORIZED
    device.close()
    wait_until(lambda: len(iot_mqtt.messages("$aws/events/presence/+/meter-5")) == 2)
