"""What simulated devices cost: message fan-out to subscribed devices, publishes from a
certificate-connected device (policy checks on publish and receive), and fleet
provisioning by claim.

Run from the project root: `python benchmarks/bench_devices.py`. It prints the numbers
and exits non-zero when a budget is exceeded.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import boto3

from iotmock import IotMock, mock_iot

DEVICES = 100
MESSAGES = 200
PROVISIONED = 20
# Budgets per operation, well above the measured cost on a 2-core CI machine.
FANOUT_BUDGET_MS = 20.0  # one iot-data Publish delivered to 100 subscribed devices
POLICY_PUBLISH_BUDGET_MS = 5.0  # one device publish, policy-checked, received by one device
PROVISION_BUDGET_MS = 100.0  # create keys + RegisterThing over MQTT, per device

ARN = "arn:aws:iot:us-east-1:123456789012"


def _policy(iot: Any, name: str, statements: list[dict[str, Any]]) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    iot.create_policy(policyName=name, policyDocument=json.dumps(document))


def fanout() -> float:
    """ms per iot-data Publish reaching DEVICES subscribed devices."""
    with mock_iot() as m:
        data = boto3.client("iot-data", region_name="us-east-1")
        devices = [m.devices.connect(f"d{n}") for n in range(DEVICES)]
        for device in devices:
            device.subscribe("fleet/+/cmd", qos=1)
        data.publish(topic="warm/up", payload=b"x")
        start = time.perf_counter()
        for n in range(MESSAGES):
            data.publish(topic=f"fleet/{n}/cmd", payload=b"go", qos=1)
        elapsed = time.perf_counter() - start
        assert all(len(d.received()) == MESSAGES for d in devices)
    return elapsed / MESSAGES * 1000


def policy_publish() -> float:
    """ms per publish from a certificate-connected device to a certificate-connected one."""
    with mock_iot() as m:
        iot = boto3.client("iot", region_name="us-east-1")
        _policy(
            iot,
            "device",
            [
                {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/*"},
                {
                    "Effect": "Allow",
                    "Action": ["iot:Publish", "iot:Receive"],
                    "Resource": f"{ARN}:topic/room/*",
                },
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{ARN}:topicfilter/*"},
            ],
        )
        ids = []
        for _ in range(2):
            created = iot.create_keys_and_certificate(setAsActive=True)
            iot.attach_policy(policyName="device", target=created["certificateArn"])
            ids.append(created["certificateId"])
        sender = m.devices.connect("sender", certificate_id=ids[0])
        receiver = m.devices.connect("receiver", certificate_id=ids[1])
        receiver.subscribe("room/#")
        start = time.perf_counter()
        for n in range(MESSAGES):
            assert sender.publish(f"room/{n}", b"t", qos=1) == 0
        elapsed = time.perf_counter() - start
        assert len(receiver.received()) == MESSAGES
    return elapsed / MESSAGES * 1000


def provision(m: IotMock, iot: Any) -> float:
    """ms per device provisioned by claim (CreateKeysAndCertificate + RegisterThing)."""
    template = {
        "Parameters": {"Serial": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "Serial"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                    "Status": "ACTIVE",
                },
            },
        },
    }
    iot.create_provisioning_template(
        templateName="fleet",
        templateBody=json.dumps(template),
        provisioningRoleArn="arn:aws:iam::123456789012:role/p",
        enabled=True,
    )
    device = m.devices.connect("claim")
    device.subscribe("$aws/certificates/create/json/accepted")
    device.subscribe("$aws/provisioning-templates/fleet/provision/json/accepted")
    start = time.perf_counter()
    for n in range(PROVISIONED):
        device.publish("$aws/certificates/create/json", b"{}")
        token = device.received()[-1].json()["certificateOwnershipToken"]
        request = {"certificateOwnershipToken": token, "parameters": {"Serial": f"s{n}"}}
        device.publish("$aws/provisioning-templates/fleet/provision/json", json.dumps(request))
        assert device.received()[-1].json()["thingName"] == f"s{n}"
    return (time.perf_counter() - start) / PROVISIONED * 1000


def main() -> int:
    fan = fanout()
    checked = policy_publish()
    with mock_iot() as m:
        iot = boto3.client("iot", region_name="us-east-1")
        iot.create_keys_and_certificate()  # fill the key pool outside the timing
        provisioned = provision(m, iot)
    print(f"Publish to {DEVICES} subscribed devices: {fan:.2f} ms/message")
    print(f"policy-checked device publish + receive: {checked:.3f} ms/message")
    print(f"fleet provisioning by claim over MQTT: {provisioned:.2f} ms/device")
    over = [
        name
        for name, value, budget in (
            ("fan-out", fan, FANOUT_BUDGET_MS),
            ("policy publish", checked, POLICY_PUBLISH_BUDGET_MS),
            ("provisioning", provisioned, PROVISION_BUDGET_MS),
        )
        if value > budget
    ]
    if over:
        print(f"over budget: {', '.join(over)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
