"""Fleet indexing: the indexing configuration, DescribeIndex, ListIndices and
GetThingConnectivityData, through boto3."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock
from iotmock.core.model import service_model


def thing_config(iot: Any) -> dict[str, Any]:
    config: dict[str, Any] = iot.get_indexing_configuration()["thingIndexingConfiguration"]
    return config


def test_default_configuration_is_off(iot: Any) -> None:
    result = iot.get_indexing_configuration()
    assert result["thingIndexingConfiguration"] == {
        "thingIndexingMode": "OFF",
        "thingConnectivityIndexingMode": "OFF",
        "deviceDefenderIndexingMode": "OFF",
        "namedShadowIndexingMode": "OFF",
    }
    assert result["thingGroupIndexingConfiguration"] == {"thingGroupIndexingMode": "OFF"}
    assert iot.list_indices()["indexNames"] == []


def test_enable_registry_and_shadow_with_custom_fields(iot: Any) -> None:
    response = iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY_AND_SHADOW",
            "thingConnectivityIndexingMode": "STATUS",
            "customFields": [
                {"name": "attributes.temp", "type": "Number"},
                {"name": "shadow.reported.mode", "type": "String"},
            ],
        }
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    config = thing_config(iot)
    assert config["thingIndexingMode"] == "REGISTRY_AND_SHADOW"
    assert config["thingConnectivityIndexingMode"] == "STATUS"
    managed = {f["name"]: f["type"] for f in config["managedFields"]}
    assert managed["thingName"] == "String"
    assert managed["registry.version"] == "Number"
    assert managed["shadow.hasDelta"] == "Boolean"
    assert managed["connectivity.connected"] == "Boolean"
    assert managed["connectivity.timestamp"] == "Number"
    assert config["customFields"] == [
        {"name": "attributes.temp", "type": "Number"},
        {"name": "shadow.reported.mode", "type": "String"},
    ]
    # Updating the mode alone keeps the custom fields.
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    config = thing_config(iot)
    assert config["thingConnectivityIndexingMode"] == "OFF"
    assert "shadow.hasDelta" not in {f["name"] for f in config["managedFields"]}
    assert len(config["customFields"]) == 2


def test_turning_off_deletes_the_index(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "customFields": [{"name": "attributes.temp", "type": "Number"}],
        }
    )
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "OFF"})
    config = thing_config(iot)
    assert config["thingIndexingMode"] == "OFF"
    assert "customFields" not in config and "managedFields" not in config
    with pytest.raises(ClientError) as exc:
        iot.describe_index(indexName="AWS_Things")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (
            {"thingIndexingMode": "OFF", "thingConnectivityIndexingMode": "STATUS"},
            "thingIndexingMode must not be OFF",
        ),
        (
            {"thingIndexingMode": "OFF", "namedShadowIndexingMode": "ON"},
            "thingIndexingMode must not be OFF",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "customFields": [{"name": "thingName", "type": "String"}],
            },
            "managed field",
        ),
        (
            {"thingIndexingMode": "REGISTRY", "customFields": [{"name": "attributes.a"}]},
            "name and a type",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "customFields": [{"name": "foo.bar", "type": "String"}],
            },
            "must start with",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "customFields": [
                    {"name": "attributes.a", "type": "String"},
                    {"name": "attributes.a", "type": "Number"},
                ],
            },
            "twice",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "customFields": [{"name": f"attributes.a{i}", "type": "String"} for i in range(6)],
            },
            "At most 5 custom fields",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "namedShadowIndexingMode": "ON",
                "filter": {"namedShadowNames": [f"s{i}" for i in range(11)]},
            },
            "At most 10 named shadows",
        ),
        (
            {
                "thingIndexingMode": "REGISTRY",
                "managedFields": [{"name": "shadow.version", "type": "Number"}],
            },
            "can't modify managed fields",
        ),
    ],
)
def test_invalid_configurations(iot: Any, config: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_indexing_configuration(thingIndexingConfiguration=config)
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert fragment in exc.value.response["Error"]["Message"]
    assert thing_config(iot)["thingIndexingMode"] == "OFF"  # nothing changed


def test_a_refused_half_changes_nothing(iot: Any) -> None:
    with pytest.raises(ClientError):
        iot.update_indexing_configuration(
            thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"},
            thingGroupIndexingConfiguration={
                "thingGroupIndexingMode": "ON",
                "customFields": [{"name": "thingGroupName", "type": "String"}],
            },
        )
    assert thing_config(iot)["thingIndexingMode"] == "OFF"
    with pytest.raises(ClientError) as exc:
        iot.update_indexing_configuration()
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_managed_fields_may_be_echoed(iot: Any) -> None:
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    config = thing_config(iot)
    iot.update_indexing_configuration(thingIndexingConfiguration=config)
    assert thing_config(iot) == config
    for wrong in ({"name": "thingName", "type": "Number"}, {"name": "attributes.x"}):
        with pytest.raises(ClientError) as exc:
            iot.update_indexing_configuration(
                thingIndexingConfiguration={
                    "thingIndexingMode": "REGISTRY",
                    "managedFields": [wrong],
                }
            )
        assert code_of(exc) == ("InvalidRequestException", 400)


def test_named_shadow_filter_is_returned(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY_AND_SHADOW",
            "namedShadowIndexingMode": "ON",
            "filter": {"namedShadowNames": ["cfg", "ota"]},
        }
    )
    config = thing_config(iot)
    assert config["filter"] == {"namedShadowNames": ["cfg", "ota"]}
    assert {"name": "shadow.name.*.hasDelta", "type": "Boolean"} in config["managedFields"]
    assert iot.describe_index(indexName="AWS_Things")["schema"] == "MULTI_INDEXING_MODE"


def test_thing_group_indexing(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingGroupIndexingConfiguration={
            "thingGroupIndexingMode": "ON",
            "customFields": [{"name": "attributes.floor", "type": "Number"}],
        }
    )
    config = iot.get_indexing_configuration()["thingGroupIndexingConfiguration"]
    assert config["thingGroupIndexingMode"] == "ON"
    assert {"name": "thingGroupName", "type": "String"} in config["managedFields"]
    assert config["customFields"] == [{"name": "attributes.floor", "type": "Number"}]
    assert iot.list_indices()["indexNames"] == ["AWS_ThingGroups"]
    described = iot.describe_index(indexName="AWS_ThingGroups")
    assert described["indexStatus"] == "ACTIVE"
    iot.update_indexing_configuration(
        thingGroupIndexingConfiguration={"thingGroupIndexingMode": "OFF"}
    )
    assert iot.list_indices()["indexNames"] == []


@pytest.mark.parametrize(
    ("config", "schema"),
    [
        ({"thingIndexingMode": "REGISTRY"}, "REGISTRY"),
        ({"thingIndexingMode": "REGISTRY_AND_SHADOW"}, "REGISTRY_AND_SHADOW"),
        (
            {"thingIndexingMode": "REGISTRY", "thingConnectivityIndexingMode": "STATUS"},
            "REGISTRY_AND_CONNECTIVITY_STATUS",
        ),
        (
            {"thingIndexingMode": "REGISTRY_AND_SHADOW", "thingConnectivityIndexingMode": "STATUS"},
            "REGISTRY_AND_SHADOW_AND_CONNECTIVITY_STATUS",
        ),
        (
            {"thingIndexingMode": "REGISTRY", "deviceDefenderIndexingMode": "VIOLATIONS"},
            "MULTI_INDEXING_MODE",
        ),
    ],
)
def test_describe_index_schema(iot: Any, config: dict[str, Any], schema: str) -> None:
    iot.update_indexing_configuration(thingIndexingConfiguration=config)
    described = iot.describe_index(indexName="AWS_Things")
    assert described["indexName"] == "AWS_Things"
    assert described["indexStatus"] == "ACTIVE"  # the mock's index is ready at once
    assert described["schema"] == schema


def test_describe_unknown_index(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.describe_index(indexName="Nope")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert "Index 'Nope' does not exist" in exc.value.response["Error"]["Message"]


def test_list_indices_pages(iot: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"},
        thingGroupIndexingConfiguration={"thingGroupIndexingMode": "ON"},
    )
    first = iot.list_indices(maxResults=1)
    assert first["indexNames"] == ["AWS_ThingGroups"]
    second = iot.list_indices(maxResults=1, nextToken=first["nextToken"])
    assert second["indexNames"] == ["AWS_Things"]
    assert "nextToken" not in second
    with pytest.raises(ClientError) as exc:
        iot.list_indices(nextToken="garbage")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_thing_connectivity_data(iot: Any, iot_data: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev")
    assert iot.get_thing_connectivity_data(thingName="dev")["connected"] is False
    iot_mock.devices.connect("dev")
    live = iot.get_thing_connectivity_data(thingName="dev")
    assert live["thingName"] == "dev"
    assert live["connected"] is True
    assert isinstance(live["timestamp"], dt.datetime)
    assert "disconnectReason" not in live
    iot_data.delete_connection(clientId="dev")
    gone = iot.get_thing_connectivity_data(thingName="dev")
    assert gone["connected"] is False
    assert gone["timestamp"] >= live["timestamp"]
    # DeleteConnection's API_INITIATED_DISCONNECT is outside this operation's enum before
    # botocore 1.44; it then reads as the service's own disconnect.
    output = service_model("iot").operation_model("GetThingConnectivityData").output_shape
    assert output is not None
    modeled = "API_INITIATED_DISCONNECT" in output.members["disconnectReason"].enum
    expected = "API_INITIATED_DISCONNECT" if modeled else "SERVER_INITIATED_DISCONNECT"
    assert gone["disconnectReason"] == expected
    iot_mock.devices.connect("dev")
    iot_mock.devices.connect("dev")  # the older session is dropped as DUPLICATE_CLIENTID
    assert iot.get_thing_connectivity_data(thingName="dev")["connected"] is True


def test_thing_connectivity_data_of_a_missing_thing(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.get_thing_connectivity_data(thingName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert exc.value.response["Error"]["Message"] == "Thing ghost cannot be found."
