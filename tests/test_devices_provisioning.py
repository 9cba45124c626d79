"""Device protocols through simulated devices: fleet provisioning by claim over MQTT (JSON
and CBOR), the pre-provisioning hook, just-in-time registration and provisioning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from iotmock import IotMock
from iotmock.devices import cbor
from iotmock.devices.errors import ConnectionRefused
from iotmock.devices.mock_api import SimulatedDevice
from iotmock.identity.crypto import (
    CertificateAuthority,
    make_ca,
    make_csr,
    new_ec_key,
    to_pem,
    verification_certificate,
)

ARN = "arn:aws:iot:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/provisioning"
HOOK = "arn:aws:lambda:us-east-1:123456789012:function:pre-provision"
TEMPLATE = {
    "Parameters": {
        "SerialNumber": {"Type": "String"},
        "AWS::IoT::Certificate::Id": {"Type": "String"},
    },
    "Resources": {
        "certificate": {
            "Type": "AWS::IoT::Certificate",
            "Properties": {
                "CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                "Status": "Active",
            },
        },
        "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "device-policy"}},
        "thing": {
            "Type": "AWS::IoT::Thing",
            "Properties": {
                "ThingName": {"Fn::Join": ["", ["device-", {"Ref": "SerialNumber"}]]},
                "AttributePayload": {"serial": {"Ref": "SerialNumber"}},
            },
        },
    },
    "DeviceConfiguration": {"FallbackUrl": "https://example.com/fallback"},
}


def _policy(iot: Any, name: str, statements: list[dict[str, Any]]) -> None:
    iot.create_policy(
        policyName=name,
        policyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def _setup_fleet(iot: Any, *, hook: bool = False, template: str = "fleet") -> str:
    """A fleet provisioning template, the device policy it attaches, and a claim
    certificate allowed only the provisioning topics; the claim certificate id."""
    extra: dict[str, Any] = {}
    if hook:
        extra["preProvisioningHook"] = {"targetArn": HOOK, "payloadVersion": "2020-04-01"}
    iot.create_provisioning_template(
        templateName=template,
        templateBody=json.dumps(TEMPLATE),
        provisioningRoleArn=ROLE,
        enabled=True,
        **extra,
    )
    _policy(
        iot,
        "device-policy",
        [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/device-*"},
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": f"{ARN}:topic/telemetry/${{iot:ClientId}}",
            },
        ],
    )
    claim = iot.create_keys_and_certificate(setAsActive=True)
    topics = [
        f"{ARN}:topic/$aws/certificates/create*",
        f"{ARN}:topic/$aws/provisioning-templates/*",
    ]
    filters = [
        f"{ARN}:topicfilter/$aws/certificates/create*",
        f"{ARN}:topicfilter/$aws/provisioning-templates/*",
    ]
    _policy(
        iot,
        "claim-policy",
        [
            {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{ARN}:client/*"},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": topics},
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": filters},
        ],
    )
    iot.attach_policy(policyName="claim-policy", target=claim["certificateArn"])
    return str(claim["certificateId"])


def _request(
    device: SimulatedDevice, topic: str, request: dict[str, Any], fmt: str = "json"
) -> tuple[str, Any]:
    """Subscribe to the answers, publish `request`, return (accepted|rejected, answer)."""
    for outcome in ("accepted", "rejected"):
        assert device.subscribe(f"{topic}/{outcome}", qos=1) == 1
    before = len(device.received())
    payload = cbor.encode(request) if fmt == "cbor" else json.dumps(request).encode()
    assert device.publish(topic, payload, qos=1) == 0
    (answer,) = device.received()[before:]
    body = cbor.decode(answer.payload) if fmt == "cbor" else answer.json()
    return answer.topic.rpartition("/")[2], body


@pytest.mark.parametrize("fmt", ["json", "cbor"])
def test_fleet_provisioning_by_claim(iot_mock: IotMock, iot: Any, fmt: str) -> None:
    claim_id = _setup_fleet(iot)
    device = iot_mock.devices.connect("claim-1", certificate_id=claim_id)
    outcome, keys = _request(device, f"$aws/certificates/create/{fmt}", {}, fmt)
    assert outcome == "accepted"
    assert set(keys) == {
        "certificateId",
        "certificatePem",
        "privateKey",
        "certificateOwnershipToken",
    }
    assert "BEGIN RSA PRIVATE KEY" in keys["privateKey"]
    described = iot.describe_certificate(certificateId=keys["certificateId"])
    assert described["certificateDescription"]["status"] == "PENDING_ACTIVATION"
    assert described["certificateDescription"]["certificatePem"] == keys["certificatePem"]

    outcome, registered = _request(
        device,
        f"$aws/provisioning-templates/fleet/provision/{fmt}",
        {
            "certificateOwnershipToken": keys["certificateOwnershipToken"],
            "parameters": {"SerialNumber": "0042"},
        },
        fmt,
    )
    assert outcome == "accepted"
    assert registered == {
        "thingName": "device-0042",
        "deviceConfiguration": {"FallbackUrl": "https://example.com/fallback"},
    }
    thing = iot.describe_thing(thingName="device-0042")
    assert thing["attributes"] == {"serial": "0042"}
    certificate_arn = f"{ARN}:cert/{keys['certificateId']}"
    assert iot.list_thing_principals(thingName="device-0042")["principals"] == [certificate_arn]
    described = iot.describe_certificate(certificateId=keys["certificateId"])
    assert described["certificateDescription"]["status"] == "ACTIVE"
    attached = iot.list_attached_policies(target=certificate_arn)["policies"]
    assert [p["policyName"] for p in attached] == ["device-policy"]
    # The provisioned device connects with its own certificate, held to its own policy.
    provisioned = iot_mock.devices.connect("device-0042", certificate_id=keys["certificateId"])
    assert provisioned.publish("telemetry/device-0042", b"{}") == 0
    # The answers went to the requesting connection only.
    watcher = iot_mock.devices.connect("watcher")
    watcher.subscribe("$aws/certificates/#")
    assert iot_mock.messages("$aws/certificates/#") == []


def test_create_certificate_from_csr(iot_mock: IotMock, iot: Any) -> None:
    claim_id = _setup_fleet(iot)
    device = iot_mock.devices.connect("claim-1", certificate_id=claim_id)
    key = new_ec_key()
    outcome, created = _request(
        device,
        "$aws/certificates/create-from-csr/json",
        {"certificateSigningRequest": make_csr(key, "device-7")},
    )
    assert outcome == "accepted"
    assert set(created) == {"certificateId", "certificatePem", "certificateOwnershipToken"}
    cert = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    outcome, rejected = _request(
        device, "$aws/certificates/create-from-csr/json", {"certificateSigningRequest": "nope"}
    )
    assert outcome == "rejected"
    assert rejected["statusCode"] == 400 and rejected["errorCode"] == "InvalidPayload"


def test_ownership_token_is_required_valid_and_single_use(iot_mock: IotMock, iot: Any) -> None:
    claim_id = _setup_fleet(iot)
    device = iot_mock.devices.connect("claim-1", certificate_id=claim_id)
    provision = "$aws/provisioning-templates/fleet/provision/json"
    outcome, rejected = _request(device, provision, {"parameters": {"SerialNumber": "1"}})
    assert outcome == "rejected"
    assert rejected == {
        "statusCode": 400,
        "errorCode": "InvalidCertificateOwnershipToken",
        "errorMessage": "Certificate ownership token cannot be empty.",
    }
    outcome, rejected = _request(device, provision, {"certificateOwnershipToken": "forged"})
    assert rejected["errorCode"] == "InvalidCertificateOwnershipToken"
    _, keys = _request(device, "$aws/certificates/create/json", {})
    token = keys["certificateOwnershipToken"]
    request = {"certificateOwnershipToken": token, "parameters": {"SerialNumber": "1"}}
    assert _request(device, provision, request)[0] == "accepted"
    outcome, rejected = _request(device, provision, request)
    assert outcome == "rejected" and rejected["errorCode"] == "InvalidCertificateOwnershipToken"
    outcome, rejected = _request(device, "$aws/provisioning-templates/nope/provision/json", request)
    assert rejected["statusCode"] == 404
    device.publish("$aws/certificates/create/json", b"not json")
    (bad,) = device.received("$aws/certificates/create/json/rejected")[-1:]
    assert bad.json()["errorCode"] == "InvalidPayload"


def test_ownership_token_expires_after_an_hour(iot_mock: IotMock, iot: Any) -> None:
    from freezegun import freeze_time

    with freeze_time("2026-05-01 10:00:00") as frozen:
        claim_id = _setup_fleet(iot)
        device = iot_mock.devices.connect("claim-1", certificate_id=claim_id)
        _, keys = _request(device, "$aws/certificates/create/json", {})
        frozen.tick(3601)
        outcome, rejected = _request(
            device,
            "$aws/provisioning-templates/fleet/provision/json",
            {"certificateOwnershipToken": keys["certificateOwnershipToken"]},
        )
    assert outcome == "rejected"
    assert rejected["errorCode"] == "InvalidCertificateOwnershipToken"


def test_pre_provisioning_hook_allows_denies_and_overrides(iot_mock: IotMock, iot: Any) -> None:
    claim_id = _setup_fleet(iot, hook=True)
    events: list[dict[str, Any]] = []

    def hook(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        serial = event["parameters"]["SerialNumber"]
        if serial.startswith("bad"):
            return {"allowProvisioning": False}
        return {"allowProvisioning": True, "parameterOverrides": {"SerialNumber": f"{serial}-x"}}

    iot_mock.devices.register_pre_provisioning_hook(HOOK, hook)
    device = iot_mock.devices.connect("claim-1", certificate_id=claim_id)
    provision = "$aws/provisioning-templates/fleet/provision/json"
    _, keys = _request(device, "$aws/certificates/create/json", {})
    token = keys["certificateOwnershipToken"]
    outcome, rejected = _request(
        device,
        provision,
        {"certificateOwnershipToken": token, "parameters": {"SerialNumber": "bad1"}},
    )
    assert outcome == "rejected" and rejected["statusCode"] == 403
    assert iot.list_things()["things"] == []
    outcome, accepted = _request(
        device, provision, {"certificateOwnershipToken": token, "parameters": {"SerialNumber": "7"}}
    )
    assert outcome == "accepted" and accepted["thingName"] == "device-7-x"
    assert events[1] == {
        "claimCertificateId": claim_id,
        "certificateId": keys["certificateId"],
        "certificatePem": keys["certificatePem"],
        "templateArn": f"{ARN}:provisioningtemplate/fleet",
        "clientId": "claim-1",
        "parameters": {"SerialNumber": "7"},
    }


def test_claim_policy_governs_the_provisioning_topics(iot_mock: IotMock, iot: Any) -> None:
    _setup_fleet(iot)
    other = iot.create_keys_and_certificate(setAsActive=True)
    _policy(iot, "connect-only", [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}])
    iot.attach_policy(policyName="connect-only", target=other["certificateArn"])
    device = iot_mock.devices.connect("claim-2", certificate_id=other["certificateId"])
    assert device.subscribe("$aws/certificates/create/json/accepted") == 0x80
    device.publish("$aws/certificates/create/json", b"{}")
    assert device.disconnect_reason == "AUTH_ERROR"
    assert len(iot.list_certificates()["certificates"]) == 2  # nothing was created


# --------------------------------------------------------------------------- JITR / JITP


def _register_ca(iot: Any, ca: CertificateAuthority, **extra: Any) -> str:
    code = iot.get_registration_code()["registrationCode"]
    return str(
        iot.register_ca_certificate(
            caCertificate=ca.pem,
            verificationCertificate=verification_certificate(ca, code),
            setAsActive=True,
            allowAutoRegistration=True,
            **extra,
        )["certificateId"]
    )


def _device_pem(ca: CertificateAuthority, common_name: str) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return to_pem(ca.issue(new_ec_key().public_key(), subject=subject))


def test_just_in_time_provisioning_passes_the_subject_fields_as_they_are(
    iot_mock: IotMock, iot: Any
) -> None:
    # The AWS::IoT::Certificate::* parameters are the subject's values themselves (no
    # policy-variable escaping), and only the subject's own fields.
    template = {
        "Parameters": {
            "AWS::IoT::Certificate::CommonName": {"Type": "String"},
            "AWS::IoT::Certificate::Organization": {"Type": "String"},
            "AWS::IoT::Certificate::Id": {"Type": "String"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"},
                    "AttributePayload": {"org": {"Ref": "AWS::IoT::Certificate::Organization"}},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "AWS::IoT::Certificate::Id"}},
            },
        },
    }
    ca = make_ca("JITP Org CA")
    _register_ca(
        iot, ca, registrationConfig={"templateBody": json.dumps(template), "roleArn": ROLE}
    )
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "meter-6"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme,Inc."),
        ]
    )
    pem = to_pem(ca.issue(new_ec_key().public_key(), subject=subject))
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("meter-6", certificate_pem=pem)
    assert exc.value.reason == "CERTIFICATE_PROVISIONED", exc.value
    described = iot.describe_thing(thingName="meter-6")
    assert described["attributes"] == {"org": "Acme,Inc."}


def test_just_in_time_registration(iot_mock: IotMock, iot: Any) -> None:
    ca = make_ca("Fleet CA")
    ca_id = _register_ca(iot, ca)
    pem = _device_pem(ca, "sensor-9")
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("sensor-9", certificate_pem=pem)
    assert exc.value.reason == "CERTIFICATE_AUTO_REGISTERED"
    (event,) = iot_mock.messages(f"$aws/events/certificates/registered/{ca_id}")
    body = event.json()
    certificate_id = body["certificateId"]
    assert body["caCertificateId"] == ca_id
    assert body["certificateStatus"] == "PENDING_ACTIVATION"
    assert body["awsAccountId"] == "123456789012"
    described = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert described["status"] == "PENDING_ACTIVATION"
    assert described["caCertificateId"] == ca_id
    assert iot_mock.messages("$aws/events/presence/#") == []
    # Activated, with a policy, the device connects on its next try.
    iot.update_certificate(certificateId=certificate_id, newStatus="ACTIVE")
    _policy(iot, "p", [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}])
    iot.attach_policy(policyName="p", target=described["certificateArn"])
    device = iot_mock.devices.connect("sensor-9", certificate_pem=pem)
    assert device.connected


def test_auto_registration_needs_an_enabled_active_ca(iot_mock: IotMock, iot: Any) -> None:
    ca = make_ca("Closed CA")
    code = iot.get_registration_code()["registrationCode"]
    iot.register_ca_certificate(
        caCertificate=ca.pem,
        verificationCertificate=verification_certificate(ca, code),
        setAsActive=True,
    )
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("d", certificate_pem=_device_pem(ca, "d"))
    assert exc.value.reason == "UNKNOWN_CERTIFICATE"
    with pytest.raises(ConnectionRefused):
        iot_mock.devices.connect("d", certificate_pem=_device_pem(make_ca("Stranger"), "d"))
    assert iot.list_certificates()["certificates"] == []


def test_just_in_time_provisioning(iot_mock: IotMock, iot: Any) -> None:
    template = {
        "Parameters": {
            "AWS::IoT::Certificate::CommonName": {"Type": "String"},
            "AWS::IoT::Certificate::Id": {"Type": "String"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "AWS::IoT::Certificate::CommonName"}},
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {
                    "CertificateId": {"Ref": "AWS::IoT::Certificate::Id"},
                    "Status": "ACTIVE",
                },
            },
            "policy": {
                "Type": "AWS::IoT::Policy",
                "Properties": {
                    "PolicyDocument": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "iot:Connect",
                                    "Resource": f"{ARN}:client/${{iot:Connection.Thing.ThingName}}",
                                }
                            ],
                        }
                    )
                },
            },
        },
    }
    ca = make_ca("JITP CA")
    _register_ca(
        iot, ca, registrationConfig={"templateBody": json.dumps(template), "roleArn": ROLE}
    )
    pem = _device_pem(ca, "meter-5")
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("meter-5", certificate_pem=pem)
    assert exc.value.reason == "CERTIFICATE_PROVISIONED"
    (principal,) = iot.list_thing_principals(thingName="meter-5")["principals"]
    certificate_id = principal.rpartition("/")[2]
    described = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert described["status"] == "ACTIVE"
    assert len(iot.list_attached_policies(target=principal)["policies"]) == 1
    device = iot_mock.devices.connect("meter-5", certificate_pem=pem)
    assert device.session.thing_name == "meter-5"
    with pytest.raises(ConnectionRefused) as refused:
        iot_mock.devices.connect("someone-else", certificate_pem=pem)
    assert refused.value.reason == "NOT_AUTHORIZED"
