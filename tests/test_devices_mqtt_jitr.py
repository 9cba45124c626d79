"""Just-in-time registration over the wire: a device certificate signed by a registered
CA with auto-registration connects to the MQTT endpoint, is registered (in the account
and region of its CA) and refused; activated and given a policy, it connects."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from mqtt_devices import WAIT, Credentials, Device, wait_until
from test_devices_mqtt_policies import _own_credentials, allow, assert_refused, policy

from iotmock import IotMock
from iotmock.identity.crypto import make_ca, new_ec_key, to_pem, verification_certificate


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_jitr_registers_the_certificate_of_a_first_connection(
    iot_mqtt: IotMock, tmp_path: Path, region: str
) -> None:
    iot = boto3.client("iot", region_name=region)
    maker = make_ca(f"Maker {region}")
    code = iot.get_registration_code()["registrationCode"]
    ca_id = iot.register_ca_certificate(
        caCertificate=maker.pem,
        verificationCertificate=verification_certificate(maker, code),
        setAsActive=True,
        allowAutoRegistration=True,
    )["certificateId"]
    key = new_ec_key()
    credentials: Credentials = _own_credentials(
        tmp_path, to_pem(maker.issue(key.public_key())), key
    )
    # The first connection registers the certificate PENDING_ACTIVATION and is closed.
    assert_refused(Device(iot_mqtt, credentials, "new-device"))
    (registered,) = iot.list_certificates_by_ca(caCertificateId=ca_id)["certificates"]
    assert registered["status"] == "PENDING_ACTIVATION"
    events = iot_mqtt.messages(f"$aws/events/certificates/registered/{ca_id}", region=region)
    assert [e.json()["certificateId"] for e in events] == [registered["certificateId"]]
    # What a JITR rule's Lambda does: activate, attach a policy; the device reconnects.
    iot.update_certificate(certificateId=registered["certificateId"], newStatus="ACTIVE")
    iot.create_policy(policyName="all", policyDocument=json.dumps(policy(allow("iot:*", "*"))))
    iot.attach_policy(policyName="all", target=registered["certificateArn"])
    device = Device(iot_mqtt, credentials, "new-device")
    assert device.connect()[1].value == 0
    device.close()
    wait_until(
        lambda: len(iot_mqtt.messages("$aws/events/presence/+/new-device", region=region)) == 2,
        WAIT,
    )
