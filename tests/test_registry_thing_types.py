"""Thing types: properties, idempotency, deprecation, the 5-minute delete wait, updates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import code_of

START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)

MQTT5 = {
    "propagatingAttributes": [
        {"userPropertyKey": "serial", "thingAttribute": "serialNumber"},
        {"userPropertyKey": "client", "connectionAttribute": "iot:ClientId"},
    ]
}


def message_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


def test_create_and_describe_thing_type(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        created = iot.create_thing_type(
            thingTypeName="lamp",
            thingTypeProperties={
                "thingTypeDescription": "A lamp",
                "searchableAttributes": ["color", "room"],
                "mqtt5Configuration": MQTT5,
            },
            tags=[{"Key": "team", "Value": "home"}],
        )
    assert created["thingTypeArn"] == "arn:aws:iot:us-east-1:123456789012:thingtype/lamp"
    described = iot.describe_thing_type(thingTypeName="lamp")
    assert described["thingTypeId"] == created["thingTypeId"]
    assert described["thingTypeProperties"] == {
        "thingTypeDescription": "A lamp",
        "searchableAttributes": ["color", "room"],
        "mqtt5Configuration": MQTT5,
    }
    metadata = described["thingTypeMetadata"]
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    assert metadata["creationDate"] == START
    tags = iot.list_tags_for_resource(resourceArn=created["thingTypeArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "home"}]


def test_create_thing_type_idempotency(iot: Any) -> None:
    first = iot.create_thing_type(
        thingTypeName="t", thingTypeProperties={"thingTypeDescription": "d"}
    )
    again = iot.create_thing_type(
        thingTypeName="t", thingTypeProperties={"thingTypeDescription": "d"}
    )
    assert again["thingTypeId"] == first["thingTypeId"]
    with pytest.raises(ClientError) as exc:
        iot.create_thing_type(thingTypeName="t", thingTypeProperties={"thingTypeDescription": "x"})
    assert code_of(exc) == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"] == first["thingTypeArn"]


def test_searchable_attributes_limit(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_thing_type(
            thingTypeName="t", thingTypeProperties={"searchableAttributes": ["a", "b", "c", "d"]}
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "at most 3 searchable attributes" in message_of(exc)


def test_mqtt5_configuration_is_checked(iot: Any) -> None:
    both = {"userPropertyKey": "k", "thingAttribute": "a", "connectionAttribute": "iot:ClientId"}
    with pytest.raises(ClientError) as exc:
        iot.create_thing_type(
            thingTypeName="t",
            thingTypeProperties={"mqtt5Configuration": {"propagatingAttributes": [both]}},
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    unknown = {"userPropertyKey": "k", "connectionAttribute": "iot:Other"}
    with pytest.raises(ClientError) as exc:
        iot.create_thing_type(
            thingTypeName="t",
            thingTypeProperties={"mqtt5Configuration": {"propagatingAttributes": [unknown]}},
        )
    assert "iot:Other is not supported" in message_of(exc)


def test_update_thing_type_only_changes_mqtt5_configuration(iot: Any) -> None:
    iot.create_thing_type(
        thingTypeName="t",
        thingTypeProperties={"thingTypeDescription": "d", "searchableAttributes": ["a"]},
    )
    iot.update_thing_type(thingTypeName="t", thingTypeProperties={"mqtt5Configuration": MQTT5})
    properties = iot.describe_thing_type(thingTypeName="t")["thingTypeProperties"]
    assert properties["mqtt5Configuration"] == MQTT5
    assert properties["thingTypeDescription"] == "d"
    with pytest.raises(ClientError) as exc:
        iot.update_thing_type(
            thingTypeName="t", thingTypeProperties={"thingTypeDescription": "new"}
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert message_of(exc) == "Can only update mqtt5Configuration."
    with pytest.raises(ClientError) as exc:
        iot.update_thing_type(thingTypeName="t", thingTypeProperties={"searchableAttributes": []})
    assert message_of(exc) == "Can only update mqtt5Configuration."
    with pytest.raises(ClientError) as exc:
        iot.update_thing_type(thingTypeName="ghost", thingTypeProperties={})
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_deprecate_and_undeprecate(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="t")
    iot.create_thing(thingName="existing", thingTypeName="t")
    with time_machine.travel(START, tick=False):
        iot.deprecate_thing_type(thingTypeName="t")
    metadata = iot.describe_thing_type(thingTypeName="t")["thingTypeMetadata"]
    assert metadata["deprecated"] is True
    assert metadata["deprecationDate"] == START
    # Existing things keep the type.
    assert iot.describe_thing(thingName="existing")["thingTypeName"] == "t"
    iot.deprecate_thing_type(thingTypeName="t", undoDeprecate=True)
    metadata = iot.describe_thing_type(thingTypeName="t")["thingTypeMetadata"]
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    iot.create_thing(thingName="new", thingTypeName="t")
    with pytest.raises(ClientError) as exc:
        iot.deprecate_thing_type(thingTypeName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_delete_thing_type_requires_deprecation_and_five_minutes(iot: Any) -> None:
    with time_machine.travel(START, tick=False) as clock:
        arn = iot.create_thing_type(thingTypeName="t", tags=[{"Key": "k", "Value": "v"}])[
            "thingTypeArn"
        ]
        with pytest.raises(ClientError) as exc:
            iot.delete_thing_type(thingTypeName="t")
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "not deprecated" in message_of(exc)
        iot.deprecate_thing_type(thingTypeName="t")
        clock.shift(dt.timedelta(minutes=4, seconds=59))
        with pytest.raises(ClientError) as exc:
            iot.delete_thing_type(thingTypeName="t")
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "Please wait for 5 minutes after deprecation and then retry" in message_of(exc)
        clock.shift(dt.timedelta(seconds=1))
        iot.delete_thing_type(thingTypeName="t")
    with pytest.raises(ClientError) as exc:
        iot.describe_thing_type(thingTypeName="t")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.delete_thing_type(thingTypeName="t")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    # The tags went with the type: a new type of the same name starts untagged.
    iot.create_thing_type(thingTypeName="t")
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


def test_delete_thing_type_in_use_is_refused(iot: Any) -> None:
    with time_machine.travel(START, tick=False) as clock:
        iot.create_thing_type(thingTypeName="t")
        iot.create_thing(thingName="x", thingTypeName="t")
        iot.deprecate_thing_type(thingTypeName="t")
        clock.shift(dt.timedelta(minutes=6))
        with pytest.raises(ClientError) as exc:
            iot.delete_thing_type(thingTypeName="t")
        assert code_of(exc) == ("InvalidRequestException", 400)
        assert "still use it" in message_of(exc)
        iot.update_thing(thingName="x", removeThingType=True)
        iot.delete_thing_type(thingTypeName="t")


def test_list_thing_types(iot: Any) -> None:
    for name in ("c", "a", "b"):
        iot.create_thing_type(
            thingTypeName=name, thingTypeProperties={"thingTypeDescription": name}
        )
    iot.deprecate_thing_type(thingTypeName="b")
    listed = iot.list_thing_types()["thingTypes"]
    assert [t["thingTypeName"] for t in listed] == ["a", "b", "c"]
    assert listed[1]["thingTypeMetadata"]["deprecated"] is True
    assert listed[0]["thingTypeProperties"]["thingTypeDescription"] == "a"
    assert listed[0]["thingTypeArn"].endswith(":thingtype/a")
    only = iot.list_thing_types(thingTypeName="c")["thingTypes"]
    assert [t["thingTypeName"] for t in only] == ["c"]
    first = iot.list_thing_types(maxResults=2)
    assert [t["thingTypeName"] for t in first["thingTypes"]] == ["a", "b"]
    rest = iot.list_thing_types(maxResults=2, nextToken=first["nextToken"])
    assert [t["thingTypeName"] for t in rest["thingTypes"]] == ["c"]
    assert "nextToken" not in rest
