"""Snapshots through boto3: the whole state saved as JSON and brought back exactly."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import pathlib
import re
import tempfile
import unittest
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import time_machine
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from modelgen import valid_value

import iotmock
from iotmock import IotMock, mock_iot
from iotmock.core.model import all_operations, operation_model
from iotmock.core.snapshot import FORMAT, VERSION, SnapshotError, load_state, save_state
from iotmock.identity import crypto

REGION = "us-east-1"
PACKAGE = pathlib.Path(iotmock.__file__).parent
_READ = re.compile(r"(List|Describe|Get)[A-Z]")
# Operations that change nothing a read would show, or undo what the sweep created.
_SKIP_WRITES = re.compile(r"(Delete|Cancel|Remove|Detach|Reject|Clear|Stop|Untag|Deprecate)")
_ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
_FROZEN = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


def _clients(region: str = REGION) -> dict[str, Any]:
    return {
        service: boto3.client(service, region_name=region, config=_ONE_ATTEMPT)
        for service in ("iot", "iot-data", "iot-jobs-data")
    }


def _populate(mock: IotMock, clients: dict[str, Any]) -> None:
    """State in every family: each writing operation of the three models called with
    model-generated inputs (required members only, then every member), plus a thing of
    a type, certificates and a shadow."""
    for full in (False, True):
        for service, operation in all_operations():
            if _READ.match(operation) or _SKIP_WRITES.match(operation):
                continue
            shape = operation_model(service, operation).input_shape
            params = valid_value(shape, full=full) if shape is not None else {}
            with contextlib.suppress(ClientError):
                getattr(clients[service], xform_name(operation))(**params)
    iot = clients["iot"]
    iot.create_thing_type(thingTypeName="sensor")
    iot.create_thing(thingName="typed", thingTypeName="sensor")
    iot.create_keys_and_certificate(setAsActive=True)
    # Fleet provisioning by claim: a device asks for keys over MQTT (an ownership token).
    device = mock.devices.connect("claim-device")
    device.publish("$aws/certificates/create/json", b"{}")
    clients["iot-data"].update_thing_shadow(
        thingName="typed", payload=json.dumps({"state": {"reported": {"t": 21}}}).encode()
    )


def _reads(clients: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Every List*/Describe*/Get* operation's answer to model-generated inputs (which
    name the resources `_populate` created)."""
    answers: dict[tuple[str, str], Any] = {}
    for service, operation in all_operations():
        if not _READ.match(operation):
            continue
        shape = operation_model(service, operation).input_shape
        params = valid_value(shape, full=False) if shape is not None else {}
        try:
            answer = getattr(clients[service], xform_name(operation))(**params)
        except ClientError as error:
            answer = {"error": error.response["Error"]}
        answer.pop("ResponseMetadata", None)
        for key, value in list(answer.items()):
            if hasattr(value, "read"):
                answer[key] = value.read()
        answers[(service, operation)] = answer
    return answers


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(_FROZEN, tick=False):
        yield


def test_every_read_answers_exactly_as_before_after_a_json_round_trip(frozen: None) -> None:
    with mock_iot() as mock:
        clients = _clients()
        _populate(mock, clients)
        before = _reads(clients)
        text = json.dumps(mock.snapshot())
        kinds = {kind.__name__ for b in mock._backends.values() for kind in b._stores}

    with mock_iot(state=json.loads(text)):
        after = _reads(_clients())

    answered = [key for key, answer in before.items() if "error" not in answer]
    assert len(answered) > 70, "the sweep must leave state that most reads find"
    assert {key: after[key] for key in before if after[key] != before[key]} == {}
    # Every store type of the package held state, so the round trip covered it.
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r"\.store\(([A-Z]\w+)\)", path.read_text()))
    assert used - {"Kind"} - kinds == set()


def test_snapshot_is_versioned_json_of_every_account_and_region() -> None:
    with mock_iot() as mock:
        boto3.client("iot", region_name=REGION).create_thing(thingName="east")
        boto3.client("iot", region_name="eu-west-1").create_thing(thingName="west")
        with mock.as_account("111122223333"):
            boto3.client("iot", region_name=REGION).create_thing(thingName="other")
        document = mock.snapshot()
    assert document["format"] == FORMAT and document["version"] == VERSION
    assert json.loads(json.dumps(document)) == document
    assert sorted((b["account_id"], b["region"]) for b in document["backends"]) == [
        ("111122223333", REGION),
        ("123456789012", "eu-west-1"),
        ("123456789012", REGION),
    ]
    with mock_iot() as mock:
        mock.restore(document)
        west = boto3.client("iot", region_name="eu-west-1")
        assert [t["thingName"] for t in west.list_things()["things"]] == ["west"]
        with mock.as_account("111122223333"):
            iot = boto3.client("iot", region_name=REGION)
            assert [t["thingName"] for t in iot.list_things()["things"]] == ["other"]


def test_restore_keeps_ids_arns_versions_and_dates_whatever_the_clock() -> None:
    with time_machine.travel(_FROZEN, tick=False), mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        created = iot.create_thing(thingName="lamp", attributePayload={"attributes": {"a": "1"}})
        iot.update_thing(thingName="lamp", attributePayload={"attributes": {"a": "2"}})
        iot.create_policy(policyName="p", policyDocument=json.dumps(_ALLOW_ALL))
        iot.create_policy_version(policyName="p", policyDocument=json.dumps(_ALLOW_ALL))
        before = (
            iot.describe_thing(thingName="lamp"),
            iot.get_policy(policyName="p"),
            iot.list_policy_versions(policyName="p")["policyVersions"],
        )
        document = mock.snapshot()
    # A year later, the restored state answers the same ids, versions and dates.
    with time_machine.travel(_FROZEN + dt.timedelta(days=365), tick=False), mock_iot() as mock:
        mock.restore(document)
        iot = boto3.client("iot", region_name=REGION)
        after = (
            iot.describe_thing(thingName="lamp"),
            iot.get_policy(policyName="p"),
            iot.list_policy_versions(policyName="p")["policyVersions"],
        )
    for answer in (*before[:2], *after[:2]):
        answer.pop("ResponseMetadata")
    assert after == before
    assert after[0]["thingId"] == created["thingId"] and after[0]["version"] == 2
    assert after[1]["creationDate"] == _FROZEN


_ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
}


def test_shared_records_stay_shared_after_a_restore() -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        certificate_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
        document = mock.snapshot()
    with mock_iot(state=document):
        iot = boto3.client("iot", region_name=REGION)
        iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
        described = iot.describe_certificate(certificateId=certificate_id)
        listed = iot.list_certificates()["certificates"]
    assert described["certificateDescription"]["status"] == "INACTIVE"
    assert [(c["certificateId"], c["status"]) for c in listed] == [(certificate_id, "INACTIVE")]


def test_restored_certificates_verify_against_the_restored_mock_ca(
    tmp_path: pathlib.Path,
) -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        created = iot.create_keys_and_certificate(setAsActive=True)
        path = tmp_path / "state.json"
        save_state(mock, path)
    # A new process has no mock CA yet, or another one: simulate it.
    saved_cas = dict(crypto._MOCK_CAS)
    crypto._MOCK_CAS.clear()
    try:
        crypto.mock_ca("123456789012", REGION)  # this "process" made its own CA
        with mock_iot() as mock:
            load_state(mock, path)
            iot = boto3.client("iot", region_name=REGION)
            pem = iot.describe_certificate(certificateId=created["certificateId"])[
                "certificateDescription"
            ]["certificatePem"]
            ca = x509.load_pem_x509_certificate(mock.certificates.ca_pem().encode())
    finally:
        crypto._MOCK_CAS.clear()
        crypto._MOCK_CAS.update(saved_cas)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert pem == created["certificatePem"]
    ca.public_key().verify(  # type: ignore[union-attr]
        certificate.signature,
        certificate.tbs_certificate_bytes,
        padding.PKCS1v15(),
        certificate.signature_hash_algorithm,  # type: ignore[arg-type]
    )


def test_each_activation_starts_from_the_snapshot(tmp_path: pathlib.Path) -> None:
    with mock_iot() as mock:
        boto3.client("iot", region_name=REGION).create_thing(thingName="base")
        path = tmp_path / "fleet.json"
        save_state(mock, path)

    fixture = mock_iot(state=str(path))
    for name in ("one", "two"):
        with fixture:
            iot = boto3.client("iot", region_name=REGION)
            iot.create_thing(thingName=name)
            assert sorted(t["thingName"] for t in iot.list_things()["things"]) == ["base", name]


def test_registered_callables_are_left_out_and_can_be_registered_again() -> None:
    events: list[Any] = []
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
        mock.rules.register_lambda(arn, lambda event, context: events.append(event))
        iot.create_topic_rule(
            ruleName="r",
            topicRulePayload={
                "sql": "SELECT * FROM 'a/b'",
                "actions": [{"lambda": {"functionArn": arn}}],
            },
        )
        document = mock.snapshot()
    assert "$skip" in json.dumps(document)
    with mock_iot(state=document) as mock:
        data = boto3.client("iot-data", region_name=REGION)
        data.publish(topic="a/b", payload=b'{"n": 1}')
        assert events == [], "the callable was not restored"
        mock.rules.register_lambda(arn, lambda event, context: events.append(event))
        data.publish(topic="a/b", payload=b'{"n": 2}')
    assert events == [{"n": 2}]


def test_foreign_or_unknown_documents_are_refused() -> None:
    mock = IotMock()
    with pytest.raises(SnapshotError, match="not an iotmock snapshot"):
        mock.restore({"backends": []})
    with pytest.raises(SnapshotError, match="version 99 is not supported"):
        mock.restore({"format": FORMAT, "version": 99, "backends": []})
    hostile = {
        "format": FORMAT,
        "version": VERSION,
        "backends": [
            {
                "account_id": "1",
                "region": REGION,
                "tags": {"$m": {}},
                "stores": {"os:system": {"$m": {}}},
            }
        ],
    }
    with pytest.raises(SnapshotError, match="only name iotmock modules"):
        mock.restore(hostile)


def test_records_that_gained_fields_since_the_snapshot_restore_with_defaults() -> None:
    # A snapshot of an earlier iotmock lacks the fields records gained since (here the
    # InfluxDB configuration of topic rule destinations, added for botocore 1.44).
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        arn = iot.create_topic_rule_destination(
            destinationConfiguration={
                "httpUrlConfiguration": {"confirmationUrl": "https://example.com/hook"}
            }
        )["topicRuleDestination"]["arn"]
        document = json.loads(json.dumps(mock.snapshot()))

    def drop_field(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("$o", "")).endswith(":TopicRuleDestination"):
                del node["f"]["influxdb"]
            for item in node.values():
                drop_field(item)
        elif isinstance(node, list):
            for item in node:
                drop_field(item)

    drop_field(document)
    assert "influxdb" not in json.dumps(document)
    with mock_iot(state=document):
        iot = boto3.client("iot", region_name=REGION)
        found = iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]
        assert found["httpUrlProperties"] == {"confirmationUrl": "https://example.com/hook"}
        assert "influxDBProperties" not in found


def test_a_snapshot_that_fails_to_restore_changes_nothing() -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        iot.create_thing(thingName="kept")
        iot.create_keys_and_certificate(setAsActive=True)
        ca_before = mock.certificates.ca_pem()
        document = json.loads(json.dumps(mock.snapshot()))
        # Another process's CA for this account and region, then a broken backend.
        other = _another_authority(mock.account_id)
        document["process"]["iotmock.identity.snapshot_state"]["mock_cas"][0] = other
        broken = json.loads(json.dumps(document["backends"][0]))
        broken["stores"] = {"iotmock.registry.records:NoSuchStore": {"$m": {}}}
        document["backends"].append(broken)
        with pytest.raises(SnapshotError, match="unknown class"):
            mock.restore(document)
        assert mock.certificates.ca_pem() == ca_before
        assert [t["thingName"] for t in iot.list_things()["things"]] == ["kept"]


def _another_authority(account_id: str) -> dict[str, str]:
    """A snapshot's mock CA entry for a CA this process never made."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return {
        "account_id": account_id,
        "region": REGION,
        "key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda backend: backend.update(tags="garbage"),
        lambda backend: backend.update(tags={"$m": []}),
        lambda backend: backend.update(stores="garbage"),
        lambda backend: backend.update(account_id=12),
        lambda backend: backend["stores"].update(
            {"iotmock.registry.records:RegistryState": {"$m": {}}}
        ),
    ],
    ids=["tags-string", "tags-list", "stores-string", "account-number", "store-of-wrong-kind"],
)
def test_a_malformed_snapshot_is_refused_with_a_snapshot_error(damage: Any) -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name=REGION)
        iot.create_thing(thingName="kept")
        document = json.loads(json.dumps(mock.snapshot()))
        damage(document["backends"][0])
        with pytest.raises(SnapshotError):
            mock.restore(document)
        assert [t["thingName"] for t in iot.list_things()["things"]] == ["kept"]


def test_a_test_case_class_decorated_with_a_state_starts_each_test_from_it() -> None:
    with mock_iot() as mock:
        boto3.client("iot", region_name=REGION).create_thing(thingName="base")
        document = mock.snapshot()
    seen: list[list[str]] = []

    @mock_iot(state=document)
    class Fleet(unittest.TestCase):
        def test_one(self) -> None:
            iot = boto3.client("iot", region_name=REGION)
            iot.create_thing(thingName="one")
            seen.append(sorted(t["thingName"] for t in iot.list_things()["things"]))

        def test_two(self) -> None:
            iot = boto3.client("iot", region_name=REGION)
            seen.append(sorted(t["thingName"] for t in iot.list_things()["things"]))

    result = unittest.TextTestRunner(stream=io.StringIO()).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(Fleet)
    )
    assert result.wasSuccessful()
    assert seen == [["base", "one"], ["base"]]


_FLEET_FILE = pathlib.Path(tempfile.gettempdir()) / f"iotmock-fleet-{os.getpid()}.json"


@pytest.fixture
def fleet_file() -> Iterator[pathlib.Path]:
    with mock_iot() as mock:
        boto3.client("iot", region_name=REGION).create_thing(thingName="from-marker")
        save_state(mock, _FLEET_FILE)
    yield _FLEET_FILE
    _FLEET_FILE.unlink()


@pytest.mark.iot_mock(state=str(_FLEET_FILE))
def test_the_fixture_takes_a_state_from_its_marker(
    fleet_file: pathlib.Path, iot_mock: IotMock
) -> None:
    listed = boto3.client("iot", region_name=REGION).list_things()["things"]
    assert [t["thingName"] for t in listed] == ["from-marker"]
