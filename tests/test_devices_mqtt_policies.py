"""Who may connect to the MQTT endpoint, and IoT policies enforced on the wire."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mqtt_devices import REGION, Credentials, Device, provision

from iotmock import IotMock
from iotmock.identity.crypto import (
    CertificateAuthority,
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


def _certificate_with_alternative_names(
    maker: CertificateAuthority, key: ec.EllipticCurvePrivateKey, subject: x509.Name
) -> str:
    """A device certificate with subject and issuer alternative names of every kind
    (DG:use-policy-variables' example, with a wildcard third DNS name)."""
    subject_names = [
        x509.DNSName("meter-9.example.com"),
        x509.DNSName("backup.example.com"),
        x509.DNSName("*.wild.example.com"),
        x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
        x509.UniformResourceIdentifier("urn:meter:9"),
        x509.RFC822Name("ops@example.com"),
        x509.DirectoryName(
            x509.Name.from_rfc4514_string("CN=LightBulbCert,OU=SmartHome,O=IoT,C=US")
        ),
    ]
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(maker.name)
        .public_key(key.public_key())
        .serial_number(0x921285CBB7A5E086)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(subject_names), critical=False)
        .add_extension(
            x509.IssuerAlternativeName([x509.DNSName("issuer.example.com")]), critical=False
        )
        .sign(maker.key, hashes.SHA256())
    )
    return to_pem(certificate)


def test_certificate_alternative_names_lists_and_serial_on_the_wire(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    """DG:cert-policy-variables: Subject/Issuer AlternativeName.* (first value, `.N` for
    the next ones), SerialNumber in decimal, `.List` keys with ForAllValues/ForAnyValue;
    absent, out-of-range, multivalued and wildcard-holding variables never match."""
    maker = make_ca("Meter Maker")
    key = new_ec_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "meter-9"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AnyCompany"),
        ]
    )
    pem = _certificate_with_alternative_names(maker, key, subject)
    iot = boto3.client("iot", region_name=REGION)
    arn = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")["certificateArn"]
    san = "iot:Certificate.Subject.AlternativeName"
    by_variables = policy(
        allow("iot:Connect", f"{ARN}:client/${{{san}.DNSName}}"),
        allow(
            "iot:Publish",
            [
                f"{ARN}:topic/dns/${{{san}.DNSName.1}}",
                f"{ARN}:topic/wild/${{{san}.DNSName.2}}",
                f"{ARN}:topic/beyond/${{{san}.DNSName.5}}",
                f"{ARN}:topic/ip/${{{san}.IPAddress}}",
                f"{ARN}:topic/mail/${{{san}.RFC822Name}}",
                f"{ARN}:topic/dn/${{{san}.DirectoryName}}",
                f"{ARN}:topic/issuer/${{iot:Certificate.Issuer.AlternativeName.DNSName}}",
                f"{ARN}:topic/absent/${{iot:Certificate.Issuer.AlternativeName.RFC822Name}}",
                f"{ARN}:topic/serial/${{iot:Certificate.SerialNumber}}",
                f"{ARN}:topic/list/${{iot:Certificate.Subject.Organization.List}}",
            ],
        ),
    )

    def when(topic: str, operator: str, key: str, values: list[str]) -> dict[str, Any]:
        statement = allow("iot:Publish", f"{ARN}:topic/{topic}/*")
        statement["Condition"] = {operator: {key: values}}
        return statement

    organizations = "iot:Certificate.Subject.Organization.List"
    by_conditions = policy(
        when("orgs", "ForAllValues:StringEquals", organizations, ["Example Corp", "AnyCompany"]),
        when("only-example", "ForAllValues:StringEquals", organizations, ["Example Corp"]),
        when("any-backup", "ForAnyValue:StringLike", f"{san}.DNSName.List", ["backup.*"]),
        when("any-other", "ForAnyValue:StringLike", f"{san}.DNSName.List", ["other.*"]),
        when(
            "dir",
            "StringEquals",
            f"{san}.DirectoryName",
            ["cn=LightBulbCert,ou=SmartHome,o=IoT,c=US"],
        ),
        when(
            "keys",
            "ForAnyValue:StringEquals",
            "iot:Certificate.AvailableKeys",
            [f"{san}.UniformResourceIdentifier"],
        ),
        when(
            "no-issuer-mail",
            "ForAllValues:StringEquals",
            "iot:Certificate.Issuer.AlternativeName.RFC822Name.List",
            ["x@y"],
        ),
        when("subject-mail", "ForAllValues:StringEquals", f"{san}.RFC822Name.List", ["x@y"]),
    )
    for name, document in (("by-variables", by_variables), ("by-conditions", by_conditions)):
        iot.create_policy(policyName=name, policyDocument=json.dumps(document))
        iot.attach_policy(policyName=name, target=arn)
    credentials = _own_credentials(tmp_path, pem, key)
    assert Device(iot_mqtt, credentials, "meter-9").connect()[1].value == NOT_AUTHORIZED
    device = Device(iot_mqtt, credentials, "meter-9.example.com")
    assert device.connect()[1].value == 0
    expected = {
        "dns/backup.example.com": 0,
        "dns/meter-9.example.com": NOT_AUTHORIZED,
        "wild/*.wild.example.com": NOT_AUTHORIZED,  # a wildcard value is not substituted
        "wild/${iot:Certificate.Subject.AlternativeName.DNSName.2}": 0,  # the text stays
        "ip/10.1.2.3": 0,
        "mail/ops@example.com": 0,
        # The guide's distinguished-name form, separators not escaped.
        "dn/cn=LightBulbCert,ou=SmartHome,o=IoT,c=US": 0,
        "issuer/issuer.example.com": 0,
        "serial/10525622389124227206": 0,  # 92:12:85:cb:b7:a5:e0:86 in decimal
        "list/Example Corp": NOT_AUTHORIZED,  # a multivalued key is no policy variable
        "orgs/x": 0,
        "only-example/x": NOT_AUTHORIZED,
        "any-backup/x": 0,
        "any-other/x": NOT_AUTHORIZED,
        "dir/x": 0,
        "keys/x": 0,
        "no-issuer-mail/x": 0,  # ForAllValues holds for a key without values (IAM)
        "subject-mail/x": NOT_AUTHORIZED,  # ops@example.com is not x@y
    }
    assert {topic: device.publish(topic, b"1") for topic in expected} == expected
    device.close()


def test_certificate_variable_limits_through_test_authorization(iot_mqtt: IotMock) -> None:
    """Values with special characters are escaped where they replace ${...} (conditions
    compare them as they are), values over 1024 characters are not substituted, `.0` is
    the first value, absent keys fail Null and satisfy ForAllValues."""
    maker = make_ca("Limits Maker")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Acme, Inc=1"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "u" * 1025),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"),
        ]
    )
    pem = to_pem(maker.issue(new_ec_key().public_key(), subject=subject))
    iot = boto3.client("iot", region_name=REGION)
    arn = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")["certificateArn"]
    document = policy(
        allow("iot:Publish", f"{ARN}:topic/cn/${{iot:Certificate.Subject.CommonName}}"),
        allow("iot:Publish", f"{ARN}:topic/ou/${{iot:Certificate.Subject.OrganizationalUnit}}"),
        allow("iot:Publish", f"{ARN}:topic/o/${{iot:Certificate.Subject.Organization.0}}"),
        {
            "Effect": "Allow",
            "Action": "iot:Publish",
            "Resource": f"{ARN}:topic/null/*",
            "Condition": {"Null": {"iot:Certificate.Subject.AlternativeName.DNSName": "true"}},
        },
        {
            # A condition compares the certificate's own value: escaping is for ${...}.
            "Effect": "Allow",
            "Action": "iot:Publish",
            "Resource": f"{ARN}:topic/condition/*",
            "Condition": {"StringEquals": {"iot:Certificate.Subject.CommonName": "Acme, Inc=1"}},
        },
    )
    iot.create_policy(policyName="limits", policyDocument=json.dumps(document))
    iot.attach_policy(policyName="limits", target=arn)

    def decision(topic: str) -> str:
        result = iot.test_authorization(
            principal=arn,
            clientId="c",
            authInfos=[{"actionType": "PUBLISH", "resources": [f"{ARN}:topic/{topic}"]}],
        )
        return str(result["authResults"][0]["authDecision"])

    assert decision("cn/Acme\\, Inc\\=1") == "ALLOWED"
    assert decision("cn/Acme, Inc=1") == "IMPLICIT_DENY"
    assert decision("ou/" + "u" * 1025) == "IMPLICIT_DENY"
    assert decision("o/Org") == "ALLOWED"
    assert decision("null/x") == "ALLOWED"
    assert decision("condition/x") == "ALLOWED"
