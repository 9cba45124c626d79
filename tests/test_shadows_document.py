"""Device shadow documents through iot-data: merge, delete, delta, metadata, version,
limits and errors (spec §9)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from freezegun import freeze_time

from iotmock import IotMock


def update(iot_data: Any, thing: str, document: Any, **kwargs: Any) -> dict[str, Any]:
    payload = document if isinstance(document, (bytes, str)) else json.dumps(document)
    response = iot_data.update_thing_shadow(thingName=thing, payload=payload, **kwargs)
    return json.loads(response["payload"].read())  # type: ignore[no-any-return]


def get(iot_data: Any, thing: str, **kwargs: Any) -> dict[str, Any]:
    response = iot_data.get_thing_shadow(thingName=thing, **kwargs)
    return json.loads(response["payload"].read())  # type: ignore[no-any-return]


@freeze_time("2026-01-01 00:00:00")
def test_update_creates_a_shadow_for_an_unregistered_thing(iot_data: Any) -> None:
    response = update(iot_data, "never-registered", {"state": {"reported": {"temp": 21}}})
    assert response == {
        "state": {"reported": {"temp": 21}},
        "metadata": {"reported": {"temp": {"timestamp": 1767225600}}},
        "version": 1,
        "timestamp": 1767225600,
    }
    assert get(iot_data, "never-registered") == {
        "state": {"reported": {"temp": 21}},
        "metadata": {"reported": {"temp": {"timestamp": 1767225600}}},
        "version": 1,
        "timestamp": 1767225600,
    }


def test_update_deep_merges_and_echoes_only_what_was_sent(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"a": 1, "nested": {"x": 1, "y": 2}}}})
    response = update(iot_data, "t", {"state": {"reported": {"nested": {"y": 3, "z": 4}}}})
    assert response["state"] == {"reported": {"nested": {"y": 3, "z": 4}}}
    assert "delta" not in response["state"]
    assert get(iot_data, "t")["state"] == {"reported": {"a": 1, "nested": {"x": 1, "y": 3, "z": 4}}}


def test_null_deletes_keys_and_whole_sections(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"desired": {"a": 1, "b": 2}, "reported": {"a": 1}}})
    update(iot_data, "t", {"state": {"desired": {"a": None}}})
    assert get(iot_data, "t")["state"] == {
        "desired": {"b": 2},
        "reported": {"a": 1},
        "delta": {"b": 2},
    }
    update(iot_data, "t", {"state": {"desired": None}})
    document = get(iot_data, "t")
    assert document["state"] == {"reported": {"a": 1}}
    assert "desired" not in document["metadata"]


def test_a_section_that_becomes_empty_disappears(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"desired": {"a": 1}}})
    update(iot_data, "t", {"state": {"desired": {"a": None}}})
    assert get(iot_data, "t")["state"] == {}


def test_deleting_an_absent_key_is_a_no_op(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    response = update(iot_data, "t", {"state": {"reported": {"missing": None}}})
    assert response["version"] == 2
    assert get(iot_data, "t")["state"] == {"reported": {"a": 1}}


def test_arrays_are_replaced_whole_with_per_element_metadata(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"colors": ["red", "green", "blue"]}}})
    update(iot_data, "t", {"state": {"reported": {"colors": ["white"]}}})
    document = get(iot_data, "t")
    assert document["state"]["reported"]["colors"] == ["white"]
    assert len(document["metadata"]["reported"]["colors"]) == 1
    assert set(document["metadata"]["reported"]["colors"][0]) == {"timestamp"}


def test_arrays_may_not_contain_null(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", {"state": {"reported": {"list": [1, None]}}})
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_empty_top_level_section_stores_nothing_but_nested_empty_objects_stay(
    iot_data: Any,
) -> None:
    update(iot_data, "t", {"state": {"desired": {}, "reported": {"a": 1}}})
    assert get(iot_data, "t")["state"] == {"reported": {"a": 1}}
    update(iot_data, "t", {"state": {"desired": {"d": {}}}})
    assert get(iot_data, "t")["state"] == {
        "desired": {"d": {}},
        "reported": {"a": 1},
        "delta": {"d": {}},
    }


def test_delta_is_recursive_and_ignores_reported_only_keys(iot_data: Any) -> None:
    update(
        iot_data,
        "t",
        {
            "state": {
                "desired": {
                    "light": {"color": "red", "level": 5},
                    "mode": "auto",
                    "list": [1, 2],
                },
                "reported": {
                    "light": {"color": "red", "level": 3},
                    "mode": "auto",
                    "list": [1, 3],
                    "extra": True,
                },
            }
        },
    )
    assert get(iot_data, "t")["state"]["delta"] == {"light": {"level": 5}, "list": [1, 2]}


def test_no_delta_when_desired_matches_reported(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"desired": {"a": 1}, "reported": {"a": 1}}})
    assert "delta" not in get(iot_data, "t")["state"]


def test_metadata_timestamps_change_only_for_written_fields(iot_data: Any) -> None:
    with freeze_time("2026-01-01 00:00:00"):
        update(iot_data, "t", {"state": {"reported": {"a": 1, "b": 1}}})
    with freeze_time("2026-01-01 00:01:00"):
        update(iot_data, "t", {"state": {"reported": {"b": 2}}})
        document = get(iot_data, "t")
    assert document["metadata"]["reported"] == {
        "a": {"timestamp": 1767225600},
        "b": {"timestamp": 1767225660},
    }
    assert document["timestamp"] == 1767225660


def test_get_timestamp_is_the_time_of_the_response(iot_data: Any) -> None:
    # AWS: the document's `timestamp` "indicates when the message was transmitted by AWS
    # IoT"; when a field was last written is in the metadata.
    with freeze_time("2026-01-01 00:00:00"):
        update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    with freeze_time("2026-01-01 00:05:00"):
        document = get(iot_data, "t")
    assert document["timestamp"] == 1767225900
    assert document["metadata"]["reported"]["a"] == {"timestamp": 1767225600}


def test_client_token_is_echoed(iot_data: Any) -> None:
    response = update(iot_data, "t", {"state": {"reported": {"a": 1}}, "clientToken": "tok-1"})
    assert response["clientToken"] == "tok-1"


def test_version_increments_and_mismatch_is_a_conflict(iot_data: Any) -> None:
    assert update(iot_data, "t", {"state": {"reported": {"a": 1}}})["version"] == 1
    assert update(iot_data, "t", {"state": {"reported": {"a": 2}}, "version": 1})["version"] == 2
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", {"state": {"reported": {"a": 3}}, "version": 1})
    assert error_of(exc) == ("ConflictException", 409, "Version conflict")
    assert get(iot_data, "t")["state"]["reported"] == {"a": 2}


def test_state_null_clears_the_document(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    response = update(iot_data, "t", {"state": None})
    assert response["state"] is None
    assert set(response["metadata"]) == {"timestamp"}
    assert response["version"] == 2
    document = get(iot_data, "t")
    assert document["state"] == {}
    assert document["metadata"] == {}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"not json", "Invalid JSON"),
        (b"[1, 2]", "Invalid JSON"),
        (json.dumps({"desired": {}}), "Missing required node: state"),
        (json.dumps({"state": 5}), "State node must be an object"),
        (json.dumps({"state": {"other": {}}}), "State contains an invalid node"),
        (json.dumps({"state": {"desired": 1}}), "Desired node must be an object"),
        (json.dumps({"state": {"reported": "x"}}), "Reported node must be an object"),
        (json.dumps({"state": {}, "version": "one"}), "Invalid version"),
        (json.dumps({"state": {}, "clientToken": "x" * 65}), "Invalid clientToken"),
    ],
)
def test_malformed_documents_are_rejected_with_aws_messages(
    iot_data: Any, payload: Any, message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", payload)
    assert error_of(exc) == ("InvalidRequestException", 400, message)


def test_content_outside_state_sections_is_ignored(iot_data: Any) -> None:
    response = update(iot_data, "t", {"state": {"reported": {"a": 1}}, "other": 1})
    assert response["version"] == 1
    assert "other" not in get(iot_data, "t")


def test_non_utf8_payload_is_unsupported(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", b"\xff\xfe\x00")
    assert error_of(exc) == (
        "UnsupportedDocumentEncodingException",
        415,
        "Unsupported documented encoding; supported encoding is UTF-8",
    )


def _nested(levels: int) -> Any:
    value: Any = 1
    for level in range(levels):
        value = {f"l{level}": value}
    return value


def test_nesting_limit_is_six_levels_below_desired_or_reported(iot_data: Any) -> None:
    assert update(iot_data, "t", {"state": {"desired": _nested(6)}})["version"] == 1
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", {"state": {"reported": _nested(7)}})
    assert error_of(exc) == (
        "InvalidRequestException",
        400,
        "JSON contains too many levels of nesting; maximum is 6",
    )


def test_size_limit_applies_to_the_merged_state(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"desired": {"a": "x" * 4000}}})
    update(iot_data, "t", {"state": {"reported": {"b": "y" * 4000}}})
    with pytest.raises(ClientError) as exc:
        update(iot_data, "t", {"state": {"reported": {"c": "z" * 400}}})
    assert error_of(exc) == (
        "RequestEntityTooLargeException",
        413,
        "The payload exceeds the maximum size allowed",
    )
    assert get(iot_data, "t")["version"] == 2


def test_get_missing_shadow_is_404_with_aws_message(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        get(iot_data, "ghost")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "No shadow exists with name: 'ghost'",
    )
    with pytest.raises(ClientError) as exc:
        get(iot_data, "ghost", shadowName="config")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "No shadow exists with name: 'config'",
    )


def test_delete_returns_version_and_keeps_numbering(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    update(iot_data, "t", {"state": {"reported": {"a": 2}}})
    with freeze_time("2026-01-01 00:00:00"):
        deleted = json.loads(iot_data.delete_thing_shadow(thingName="t")["payload"].read())
    assert deleted == {"version": 2, "timestamp": 1767225600}
    with pytest.raises(ClientError) as exc:
        get(iot_data, "t")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        iot_data.delete_thing_shadow(thingName="t")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with freeze_time("2026-01-02 00:00:00"):
        assert update(iot_data, "t", {"state": {"reported": {"a": 3}}})["version"] == 3


def test_version_restarts_48_hours_after_deletion(iot_data: Any) -> None:
    with freeze_time("2026-01-01 00:00:00"):
        update(iot_data, "t", {"state": {"reported": {"a": 1}}})
        iot_data.delete_thing_shadow(thingName="t")
    with freeze_time("2026-01-03 00:00:01"):
        assert update(iot_data, "t", {"state": {"reported": {"a": 1}}})["version"] == 1


def test_named_shadows_are_independent_of_the_classic_one(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"classic": True}}})
    update(iot_data, "t", {"state": {"reported": {"named": True}}}, shadowName="config")
    update(iot_data, "t", {"state": {"reported": {"named": 2}}}, shadowName="config")
    assert get(iot_data, "t")["version"] == 1
    named = get(iot_data, "t", shadowName="config")
    assert named["state"] == {"reported": {"named": 2}}
    assert named["version"] == 2
    iot_data.delete_thing_shadow(thingName="t", shadowName="config")
    assert get(iot_data, "t")["state"] == {"reported": {"classic": True}}


def test_list_named_shadows_pages_and_omits_the_classic_shadow(iot_data: Any) -> None:
    update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    for name in ("c", "a", "b"):
        update(iot_data, "t", {"state": {"reported": {"a": 1}}}, shadowName=name)
    first = iot_data.list_named_shadows_for_thing(thingName="t", pageSize=2)
    assert first["results"] == ["a", "b"]
    assert isinstance(first["timestamp"], int)
    second = iot_data.list_named_shadows_for_thing(
        thingName="t", pageSize=2, nextToken=first["nextToken"]
    )
    assert second["results"] == ["c"]
    assert "nextToken" not in second


def test_list_named_shadows_of_unknown_thing_is_empty(iot_data: Any) -> None:
    response = iot_data.list_named_shadows_for_thing(thingName="nobody")
    assert response["results"] == []
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_list_named_shadows_rejects_a_foreign_token(iot_data: Any) -> None:
    for name in ("a", "b"):
        update(iot_data, "t1", {"state": {"reported": {"a": 1}}}, shadowName=name)
    token = iot_data.list_named_shadows_for_thing(thingName="t1", pageSize=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        iot_data.list_named_shadows_for_thing(thingName="t2", nextToken=token)
    assert error_of(exc)[0] == "InvalidRequestException"


def test_shadow_state_is_readable_from_the_backend(iot_mock: IotMock, iot_data: Any) -> None:
    from iotmock.shadows.document import ShadowStore

    update(iot_data, "t", {"state": {"reported": {"a": 1}}})
    shadow = iot_mock.backend().store(ShadowStore).classic["t"]
    assert shadow.state == {"reported": {"a": 1}}
    assert shadow.version == 1
