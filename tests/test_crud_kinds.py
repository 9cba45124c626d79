"""What every simple resource kind does the same way (iotmock.core.crud), through boto3:
refused tags leave nothing behind, create-time tags are listed and forgotten on delete,
the list is empty again after delete, and a page token of one kind's list is refused by
another's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of
from tag_checks import assert_untaggable, listed_tags

ROLE = "arn:aws:iam::123456789012:role/device-role"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:signer"


@dataclass(frozen=True)
class Kind:
    """How to drive one kind through boto3."""

    name: str
    # (client, name, tags as a Tag list) -> the create answer
    create: Callable[[Any, str, list[dict[str, str]]], dict[str, Any]]
    arn_member: str
    describe: Callable[[Any, str], Any]
    delete: Callable[[Any, str], Any]
    # (client, page size or None, token or None) -> (names listed, next token)
    listing: Callable[[Any, int | None, str | None], tuple[list[str], str | None]]
    # The error code the kind's operations model for a bad request.
    invalid: str = "InvalidRequestException"


def _tag_map(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _page(
    response: dict[str, Any], member: str, name_of: Callable[[Any], str]
) -> tuple[list[str], str | None]:
    return [name_of(item) for item in response[member]], response.get("nextToken")


def _token(**params: Any) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


KINDS = [
    Kind(
        "custom metric",
        lambda iot, name, tags: iot.create_custom_metric(
            metricName=name, metricType="number", clientRequestToken=name, tags=tags
        ),
        "metricArn",
        lambda iot, name: iot.describe_custom_metric(metricName=name),
        lambda iot, name: iot.delete_custom_metric(metricName=name),
        lambda iot, size, token: _page(
            iot.list_custom_metrics(**_token(maxResults=size, nextToken=token)),
            "metricNames",
            str,
        ),
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
        lambda iot, name: iot.describe_dimension(name=name),
        lambda iot, name: iot.delete_dimension(name=name),
        lambda iot, size, token: _page(
            iot.list_dimensions(**_token(maxResults=size, nextToken=token)),
            "dimensionNames",
            str,
        ),
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
        lambda iot, name: iot.describe_mitigation_action(actionName=name),
        lambda iot, name: iot.delete_mitigation_action(actionName=name),
        lambda iot, size, token: _page(
            iot.list_mitigation_actions(**_token(maxResults=size, nextToken=token)),
            "actionIdentifiers",
            lambda item: item["actionName"],
        ),
    ),
    Kind(
        "role alias",
        lambda iot, name, tags: iot.create_role_alias(roleAlias=name, roleArn=ROLE, tags=tags),
        "roleAliasArn",
        lambda iot, name: iot.describe_role_alias(roleAlias=name),
        lambda iot, name: iot.delete_role_alias(roleAlias=name),
        lambda iot, size, marker: (lambda page: (page["roleAliases"], page.get("nextMarker")))(
            iot.list_role_aliases(**_token(pageSize=size, marker=marker))
        ),
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
        lambda iot, name: iot.describe_certificate_provider(certificateProviderName=name),
        lambda iot, name: iot.delete_certificate_provider(certificateProviderName=name),
        # ListCertificateProviders has no page size (the quota is one provider).
        lambda iot, _size, token: _page(
            iot.list_certificate_providers(**_token(nextToken=token)),
            "certificateProviders",
            lambda item: item["certificateProviderName"],
        ),
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
        lambda iot, name: iot.describe_fleet_metric(metricName=name),
        lambda iot, name: iot.delete_fleet_metric(metricName=name),
        lambda iot, size, token: _page(
            iot.list_fleet_metrics(**_token(maxResults=size, nextToken=token)),
            "fleetMetrics",
            lambda item: item["metricName"],
        ),
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
        lambda iot, name: iot.describe_stream(streamId=name),
        lambda iot, name: iot.delete_stream(streamId=name),
        lambda iot, size, token: _page(
            iot.list_streams(**_token(maxResults=size, nextToken=token)),
            "streams",
            lambda item: item["streamId"],
        ),
    ),
    Kind(
        "package",
        # Packages take tags as a map (TagMap).
        lambda iot, name, tags: iot.create_package(packageName=name, tags=_tag_map(tags)),
        "packageArn",
        lambda iot, name: iot.get_package(packageName=name),
        lambda iot, name: iot.delete_package(packageName=name),
        lambda iot, size, token: _page(
            iot.list_packages(**_token(maxResults=size, nextToken=token)),
            "packageSummaries",
            lambda item: item["packageName"],
        ),
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
        lambda iot, name: iot.get_command(commandId=name),
        # DeleteCommand of a command not deprecated for 12 hours only schedules the
        # deletion (test_commands_definitions covers it): not in the shared delete test.
        lambda iot, name: iot.delete_command(commandId=name),
        lambda iot, size, token: _page(
            iot.list_commands(**_token(maxResults=size, nextToken=token)),
            "commands",
            lambda item: item["commandId"],
        ),
        invalid="ValidationException",
    ),
]
IDS = [kind.name for kind in KINDS]


@pytest.fixture
def client(iot: Any) -> Any:
    # Fleet metrics aggregate over the fleet index.
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
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


DELETED_AT_ONCE = [kind for kind in KINDS if kind.name != "command"]


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
