"""Provision a device inside mock_iot(): a thing, a certificate, a policy and a shadow.

python -m pip install . boto3 && python examples/provision_device.py

Everything it prints is read back from the mock (the registry, the certificate, the
attachments, the shadow, the MQTT messages the shadow service published).
"""

from __future__ import annotations

import json

import boto3

from iotmock import mock_iot
from iotmock.registry.records import registry_of

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["iot:Connect", "iot:Publish"],
            "Resource": "arn:aws:iot:us-east-1:123456789012:*",
        }
    ],
}


def main() -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name="us-east-1")
        data = boto3.client("iot-data", region_name="us-east-1")

        iot.create_thing(
            thingName="kitchen-sensor", attributePayload={"attributes": {"room": "kitchen"}}
        )
        cert = iot.create_keys_and_certificate(setAsActive=True)
        iot.create_policy(policyName="sensor-policy", policyDocument=json.dumps(POLICY))
        iot.attach_policy(policyName="sensor-policy", target=cert["certificateArn"])
        iot.attach_thing_principal(thingName="kitchen-sensor", principal=cert["certificateArn"])
        state = {"desired": {"temperature": 21}, "reported": {"temperature": 19}}
        data.update_thing_shadow(thingName="kitchen-sensor", payload=json.dumps({"state": state}))

        # Everything below is read back from the mock.
        thing = registry_of(mock.backend()).things["kitchen-sensor"]
        print(f"thing        {thing.name}  {thing.arn}  attributes {thing.attributes}")
        described = iot.describe_certificate(certificateId=cert["certificateId"])
        status = described["certificateDescription"]["status"]
        print(f"certificate  {cert['certificateId'][:16]}...  {status}")
        policies = iot.list_attached_policies(target=cert["certificateArn"])["policies"]
        principals = iot.list_thing_principals(thingName="kitchen-sensor")["principals"]
        print(
            f"attached     {len(principals)} principal(s) to {thing.name}, "
            f"policies {[p['policyName'] for p in policies]}"
        )
        shadow = mock.shadow("kitchen-sensor")
        assert shadow is not None
        print(f"shadow       version {shadow['version']}, delta {shadow['state']['delta']}")
        for message in mock.messages("$aws/things/kitchen-sensor/shadow/#"):
            print(f"message      {message.topic}  {len(message.payload)} bytes")


if __name__ == "__main__":
    main()
