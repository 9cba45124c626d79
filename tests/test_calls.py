"""Call recording through boto3: `m.calls` lists every call the mock answered."""

from __future__ import annotations

import boto3
import pytest

from iotmock import IotMock, mock_iot

REGION = "us-east-1"


def test_every_call_is_recorded_with_params_response_and_outcome(iot_mock: IotMock) -> None:
    iot = boto3.client("iot", region_name=REGION)
    data = boto3.client("iot-data", region_name=REGION)
    created = iot.create_thing(thingName="lamp", attributePayload={"attributes": {"a": "1"}})
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_thing(thingName="missing")
    data.publish(topic="home/lamp", payload=b'{"on": true}', qos=1)

    calls = iot_mock.calls.all()
    assert calls.operations() == ["CreateThing", "DescribeThing", "Publish"]
    create, describe, publish = calls
    assert create.service == "iot"
    assert create.params == {"thingName": "lamp", "attributePayload": {"attributes": {"a": "1"}}}
    assert create.response is not None
    assert create.response["thingArn"] == created["thingArn"]
    assert (create.error, create.status, create.attempt, create.ok) == (None, 200, 1, True)
    assert (create.account_id, create.region) == ("123456789012", REGION)
    assert describe.error == "ResourceNotFoundException"
    assert describe.status == 404 and describe.response is None
    assert publish.service == "iot-data"
    assert publish.params["topic"] == "home/lamp"
    assert publish.params["payload"] == b'{"on": true}'
    assert create.time <= describe.time <= publish.time
    assert len(iot_mock.calls) == 3 and iot_mock.calls[-1] is publish


def test_filter_and_last(iot_mock: IotMock) -> None:
    iot = boto3.client("iot", region_name=REGION)
    west = boto3.client("iot", region_name="eu-west-1")
    for name in ("a", "b"):
        iot.create_thing(thingName=name)
    west.create_thing(thingName="c")
    with iot_mock.as_account("111122223333"):
        iot.create_thing(thingName="d")

    assert [c.params["thingName"] for c in iot_mock.calls.filter("CreateThing")] == [
        "a",
        "b",
        "c",
        "d",
    ]
    assert iot_mock.calls.filter(region="eu-west-1")[0].params == {"thingName": "c"}
    assert iot_mock.calls.filter(account_id="111122223333")[0].params == {"thingName": "d"}
    assert iot_mock.calls.filter(params={"thingName": "b"})[0].operation == "CreateThing"
    assert iot_mock.calls.filter(ok=False) == []
    assert iot_mock.calls.last("CreateThing", params={"thingName": "a"}).params["thingName"] == "a"
    assert iot_mock.calls.last().params == {"thingName": "d"}


def test_last_without_a_match_explains_what_was_called(iot_mock: IotMock) -> None:
    iot = boto3.client("iot", region_name=REGION)
    iot.create_thing(thingName="lamp")
    with pytest.raises(AssertionError) as caught:
        iot_mock.calls.last("DeleteThing", params={"thingName": "lamp"})
    message = str(caught.value)
    assert "no call to DeleteThing with {'thingName': 'lamp'} was recorded" in message
    assert "1 call(s):" in message
    assert "0: <iot CreateThing(thingName='lamp') -> ok [123456789012 us-east-1]>" in message


def test_a_failed_assert_on_a_filter_prints_one_call_a_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import boto3
        from iotmock import mock_iot

        def test_it():
            with mock_iot() as m:
                iot = boto3.client("iot", region_name="us-east-1")
                iot.create_thing(thingName="x")
                iot.list_things()
                assert m.calls.filter(operation="DeleteThing") == m.calls.all()
        """
    )
    result = pytester.runpytest("-vv")
    result.assert_outcomes(failed=1)
    # fnmatch patterns: "[" would open a character class, so stop before the account.
    result.stdout.fnmatch_lines(
        ["*-   0: <iot CreateThing(thingName='x') -> ok *", "*-   1: <iot ListThings() -> ok *"]
    )


def test_calls_start_empty_at_each_activation_and_clear() -> None:
    mock = mock_iot()
    with mock:
        boto3.client("iot", region_name=REGION).list_things()
        assert len(mock.calls) == 1
        mock.calls.clear()
        assert len(mock.calls) == 0
        boto3.client("iot", region_name=REGION).list_things()
    with mock:
        assert list(mock.calls) == []


def test_a_recorded_response_is_what_the_client_parsed_and_does_not_change_later(
    iot_mock: IotMock,
) -> None:
    iot = boto3.client("iot", region_name=REGION)
    data = boto3.client("iot-data", region_name=REGION)
    iot.create_thing(thingName="lamp", attributePayload={"attributes": {"color": "red"}})
    described = iot.describe_thing(thingName="lamp")
    iot.update_thing(thingName="lamp", attributePayload={"attributes": {"color": "blue"}})
    data.update_thing_shadow(thingName="lamp", payload=b'{"state": {"reported": {"on": 1}}}')
    shadow = data.get_thing_shadow(thingName="lamp")["payload"].read()

    recorded = iot_mock.calls.last("DescribeThing").response
    assert recorded is not None
    assert recorded["attributes"] == {"color": "red"}, "the answer as it was"
    described.pop("ResponseMetadata")
    assert recorded == described
    payload = iot_mock.calls.last("GetThingShadow").response
    assert payload is not None and payload["payload"] == shadow
