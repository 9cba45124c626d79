"""What every simple resource kind does the same way (iotmock.core.crud), through boto3:
refused tags leave nothing behind, create-time tags are listed and forgotten on delete,
the list is empty again after delete, and a page token of one kind's list is refused by
another's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of
from tag_checks import assert_untaggable, listed_tags

ROLE = "arn:aws:iam::123456789012:role/device-role"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:signer"
DEVICE = "device-1"


Listing = Callable[[Any, int | None, str | None], tuple[list[str], str | None]]


@dataclass(frozen=True)
class Kind:
    """How to drive one kind through boto3."""

    name: str
    # (client, name, tags as a Tag list) -> the create answer
    create: Callable[[Any, str, list[dict[str, str]]], dict[str, Any]]
    arn_member: str
    # The request member naming a record, and the client methods that take it.
    name_member: str
    describe_method: str
    delete_method: str
    # (client, page size or None, token or None) -> (names listed, next token)
    listing: Listing
    # The error code the kind's operations model for a bad request.
    invalid: str = "InvalidRequestException"
    # False where DeleteX needs more than the record (a wait, a schedule).
    deleted_at_once: bool = True
    # What DeleteX takes besides the name.
    delete_params: dict[str, Any] = field(default_factory=dict)

    def describe(self, client: Any, name: str) -> Any:
        return getattr(client, self.describe_method)(**{self.name_member: name})

    def delete(self, client: Any, name: str) -> Any:
        return getattr(client, self.delete_method)(**{self.name_member: name}, **self.delete_params)


def _tag_map(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _listing(
    method: str, member: str, name_of: Callable[[Any], str] = str, *, markers: bool = False
) -> Listing:
    """A list operation paged by nextToken/maxResults, or marker/pageSize (`markers`)."""
    size_member, token_member, next_member = (
        ("pageSize", "marker", "nextMarker")
        if markers
        else ("maxResults", "nextToken", "nextToken")
    )

    def listing(iot: Any, size: int | None, token: str | None) -> tuple[list[str], str | None]:
        given = {size_member: size, token_member: token}
        response = getattr(iot, method)(**{k: v for k, v in given.items() if v is not None})
        return [name_of(item) for item in response[member]], response.get(next_member)

    return listing


def _member(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda item: str(item[name])


KINDS = [
    Kind(
        "custom metric",
        lambda iot, name, tags: iot.create_custom_metric(
            metricName=name, metricType="number", clientRequestToken=name, tags=tags
        ),
        "metricArn",
        "metricName",
        "describe_custom_metric",
        "delete_custom_metric",
        _listing("list_custom_metrics", "metricNames"),
    ),
    Kind(
        "dimension",
        lambda iot, name, tags: iot.create_dimension(
            name=name,
            type="TOPIC_FILTER",
            stringValues=["sensors/#"],
            clientRequestToken=name,
            tags=tags,
        ),
        "arn",
        "name",
        "describe_dimension",
        "delete_dimension",
        _listing("list_dimensions", "dimensionNames"),
    ),
    Kind(
        "mitigation action",
        lambda iot, name, tags: iot.create_mitigation_action(
            actionName=name,
            roleArn=ROLE,
            actionParams={"addThingsToThingGroupParams": {"thingGroupNames": ["quarantine"]}},
            tags=tags,
        ),
        "actionArn",
        "actionName",
        "describe_mitigation_action",
        "delete_mitigation_action",
        _listing("list_mitigation_actions", "actionIdentifiers", _member("actionName")),
    ),
    Kind(
        "role alias",
        lambda iot, name, tags: iot.create_role_alias(roleAlias=name, roleArn=ROLE, tags=tags),
        "roleAliasArn",
        "roleAlias",
        "describe_role_alias",
        "delete_role_alias",
        _listing("list_role_aliases", "roleAliases", markers=True),
    ),
    Kind(
        "certificate provider",
        lambda iot, name, tags: iot.create_certificate_provider(
            certificateProviderName=name,
            lambdaFunctionArn=LAMBDA,
            accountDefaultForOperations=["CreateCertificateFromCsr"],
            tags=tags,
        ),
        "certificateProviderArn",
        "certificateProviderName",
        "describe_certificate_provider",
        "delete_certificate_provider",
        # ListCertificateProviders has no page size (the quota is one provider).
        lambda iot, _size, token: _listing(
            "list_certificate_providers", "certificateProviders", _member("certificateProviderName")
        )(iot, None, token),
    ),
    Kind(
        "fleet metric",
        lambda iot, name, tags: iot.create_fleet_metric(
            metricName=name,
            queryString="thingName:*",
            aggregationType={"name": "Statistics", "values": ["count"]},
            period=60,
            aggregationField="registry.version",
            tags=tags,
        ),
        "metricArn",
        "metricName",
        "describe_fleet_metric",
        "delete_fleet_metric",
        _listing("list_fleet_metrics", "fleetMetrics", _member("metricName")),
    ),
    Kind(
        "stream",
        lambda iot, name, tags: iot.create_stream(
            streamId=name,
            files=[{"fileId": 0, "s3Location": {"bucket": "b", "key": "firmware.bin"}}],
            roleArn=ROLE,
            tags=tags,
        ),
        "streamArn",
        "streamId",
        "describe_stream",
        "delete_stream",
        _listing("list_streams", "streams", _member("streamId")),
    ),
    Kind(
        "package",
        # Packages take tags as a map (TagMap).
        lambda iot, name, tags: iot.create_package(packageName=name, tags=_tag_map(tags)),
        "packageArn",
        "packageName",
        "get_package",
        "delete_package",
        _listing("list_packages", "packageSummaries", _member("packageName")),
        invalid="ValidationException",
    ),
    Kind(
        "command",
        lambda iot, name, tags: iot.create_command(
            commandId=name,
            payload={"content": b"{}", "contentType": "application/json"},
            tags=tags,
        ),
        "commandArn",
        "commandId",
        "get_command",
        "delete_command",
        _listing("list_commands", "commands", _member("commandId")),
        invalid="ValidationException",
        # DeleteCommand of a command not deprecated for 12 hours only schedules the
        # deletion (test_commands_definitions covers it).
        deleted_at_once=False,
    ),
    Kind(
        "authorizer",
        # INACTIVE: an ACTIVE authorizer cannot be deleted.
        lambda iot, name, tags: iot.create_authorizer(
            authorizerName=name,
            authorizerFunctionArn=LAMBDA,
            signingDisabled=True,
            status="INACTIVE",
            tags=tags,
        ),
        "authorizerArn",
        "authorizerName",
        "describe_authorizer",
        "delete_authorizer",
        _listing("list_authorizers", "authorizers", _member("authorizerName"), markers=True),
    ),
    Kind(
        "thing type",
        lambda iot, name, tags: iot.create_thing_type(thingTypeName=name, tags=tags),
        "thingTypeArn",
        "thingTypeName",
        "describe_thing_type",
        "delete_thing_type",
        _listing("list_thing_types", "thingTypes", _member("thingTypeName")),
        # DeleteThingType needs the type deprecated five minutes before.
        deleted_at_once=False,
    ),
    Kind(
        "scheduled audit",
        lambda iot, name, tags: iot.create_scheduled_audit(
            scheduledAuditName=name,
            frequency="DAILY",
            targetCheckNames=["LOGGING_DISABLED_CHECK"],
            tags=tags,
        ),
        "scheduledAuditArn",
        "scheduledAuditName",
        "describe_scheduled_audit",
        "delete_scheduled_audit",
        _listing("list_scheduled_audits", "scheduledAudits", _member("scheduledAuditName")),
    ),
    Kind(
        "OTA update",
        lambda iot, name, tags: iot.create_ota_update(
            otaUpdateId=name,
            targets=[f"arn:aws:iot:us-east-1:123456789012:thing/{DEVICE}"],
            files=[{"fileName": "fw.bin", "fileLocation": {"stream": {"streamId": "s"}}}],
            roleArn=ROLE,
            tags=tags,
        ),
        "otaUpdateArn",
        "otaUpdateId",
        "get_ota_update",
        "delete_ota_update",
        _listing("list_ota_updates", "otaUpdates", _member("otaUpdateId")),
        # Its job is IN_PROGRESS: deleting the update deletes the job only when forced.
        delete_params={"forceDeleteAWSJob": True},
    ),
]
IDS = [kind.name for kind in KINDS]


@pytest.fixture
def client(iot: Any) -> Any:
    # Fleet metrics aggregate over the fleet index.
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    # Scheduled audits run enabled checks only.
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}}
    )
    # OTA updates target a thing.
    iot.create_thing(thingName=DEVICE)
    return iot


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_refused_tags_leave_nothing(client: Any, kind: Kind) -> None:
    with pytest.raises(ClientError) as exc:
        kind.create(client, "k1", [{"Key": "aws:reserved", "Value": "v"}])
    assert code_of(exc) == (kind.invalid, 400)
    with pytest.raises(ClientError) as exc:
        kind.describe(client, "k1")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert kind.listing(client, None, None) == ([], None)


DELETED_AT_ONCE = [kind for kind in KINDS if kind.deleted_at_once]


@pytest.mark.parametrize("kind", DELETED_AT_ONCE, ids=[k.name for k in DELETED_AT_ONCE])
def test_tags_are_listed_and_forgotten_on_delete(client: Any, kind: Kind) -> None:
    arn = kind.create(client, "k1", [{"Key": "team", "Value": "fleet"}])[kind.arn_member]
    assert listed_tags(client, arn) == {"team": "fleet"}
    assert kind.listing(client, None, None)[0] == ["k1"]
    kind.delete(client, "k1")
    assert_untaggable(client, arn)
    assert kind.listing(client, None, None) == ([], None)
    with pytest.raises(ClientError) as exc:
        kind.describe(client, "k1")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


PAGED = [kind for kind in KINDS if kind.name != "certificate provider"]


@pytest.mark.parametrize("kind", PAGED, ids=[k.name for k in PAGED])
def test_pages_cover_every_record_once(client: Any, kind: Kind) -> None:
    names = ["k1", "k2", "k3"]
    for name in names:
        kind.create(client, name, [{"Key": "name", "Value": name}])
    seen: list[str] = []
    page, token = kind.listing(client, 2, None)
    seen += page
    assert len(page) == 2 and token is not None
    page, token = kind.listing(client, 2, token)
    seen += page
    assert token is None
    assert sorted(seen) == names


@pytest.mark.parametrize("kind", PAGED, ids=[k.name for k in PAGED])
def test_a_token_of_another_list_is_refused(client: Any, kind: Kind) -> None:
    other = PAGED[(PAGED.index(kind) + 1) % len(PAGED)]
    for name in ("k1", "k2"):
        other.create(client, name, [{"Key": "name", "Value": name}])
    _, token = other.listing(client, 1, None)
    assert token is not None
    with pytest.raises(ClientError) as exc:
        kind.listing(client, 1, token)
    assert code_of(exc) == (kind.invalid, 400)


def test_refused_tags_create_no_ota_job(client: Any) -> None:
    # The tags are checked before the OTA update makes its job.
    ota = next(kind for kind in KINDS if kind.name == "OTA update")
    with pytest.raises(ClientError) as exc:
        ota.create(client, "k1", [{"Key": "aws:reserved", "Value": "v"}])
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert client.list_jobs()["jobs"] == []
