"""Provision a device inside mock_iot(): a thing, a certificate, a policy and a shadow.

pip install . && python examples/provision_device.py
"""

from __future__ import annotations

import json

import boto3

from iotmock import mock_iot

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

        thing = iot.create_thing(thingName="kitchen-sensor")
        print(f"thing        {thing['thingName']}  {thing['thingArn']}")

        cert = iot.create_keys_and_certificate(setAsActive=True)
        print(f"certificate  {cert['certificateId'][:16]}...  ACTIVE, key pair returned")

        iot.create_policy(policyName="sensor-policy", policyDocument=json.dumps(POLICY))
        iot.attach_policy(policyName="sensor-policy", target=cert["certificateArn"])
        iot.attach_thing_principal(thingName="kitchen-sensor", principal=cert["certificateArn"])
        principals = iot.list_thing_principals(thingName="kitchen-sensor")["principals"]
        print(
            f"attached     {len(principals)} principal(s) to kitchen-sensor, policy sensor-policy"
        )

        state = {"desired": {"temperature": 21}, "reported": {"temperature": 19}}
        data.update_thing_shadow(thingName="kitchen-sensor", payload=json.dumps({"state": state}))
        shadow = json.loads(data.get_thing_shadow(thingName="kitchen-sensor")["payload"].read())
        print(f"shadow       version {shadow['version']}, delta {shadow['state']['delta']}")

        published = mock.messages("$aws/things/kitchen-sensor/shadow/#")
        print(f"messages     {len(published)} on the thing's shadow topics")


if __name__ == "__main__":
    main()
