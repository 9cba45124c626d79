"""TagResource / UntagResource / ListTagsForResource over every registry taggable type."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock

ARN = "arn:aws:iot:us-east-1:123456789012"


@pytest.fixture
def arns(iot: Any) -> list[str]:
    """One resource of each taggable registry type."""
    return [
        iot.create_thing_group(thingGroupName="g")["thingGroupArn"],
        iot.create_billing_group(billingGroupName="b")["billingGroupArn"],
        iot.create_thing_type(thingTypeName="ty")["thingTypeArn"],
    ]


def test_tag_untag_list_every_registry_type(iot: Any, arns: list[str]) -> None:
    for arn in arns:
        iot.tag_resource(
            resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]
        )
        iot.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "2"}])  # overwrite
        assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [
            {"Key": "a", "Value": "2"},
            {"Key": "b", "Value": ""},
        ]
        iot.untag_resource(resourceArn=arn, tagKeys=["a", "missing"])
        assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": ""}]


def test_tag_keys_are_case_sensitive(iot: Any, arns: list[str]) -> None:
    iot.tag_resource(
        resourceArn=arns[0], tags=[{"Key": "Env", "Value": "1"}, {"Key": "env", "Value": "2"}]
    )
    assert len(iot.list_tags_for_resource(resourceArn=arns[0])["tags"]) == 2


def test_tag_limit_of_fifty(iot: Any, arns: list[str]) -> None:
    arn = arns[1]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as exc:
        iot.tag_resource(resourceArn=arn, tags=[{"Key": "one-more", "Value": "v"}])
    assert code_of(exc) == ("LimitExceededException", 410)
    # Overwriting an existing key stays within the limit.
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "k0", "Value": "new"}])
    assert len(iot.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_reserved_prefix_and_key_length(iot: Any, arns: list[str]) -> None:
    with pytest.raises(ClientError) as exc:
        iot.tag_resource(resourceArn=arns[0], tags=[{"Key": "aws:owner", "Value": "x"}])
    assert code_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.tag_resource(resourceArn=arns[0], tags=[{"Key": "k" * 129, "Value": "x"}])
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "failed to satisfy constraint" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        iot.tag_resource(resourceArn=arns[0], tags=[{"Key": "k", "Value": "v" * 257}])
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_unknown_and_untaggable_arns(iot: Any) -> None:
    for op, kwargs in (
        (iot.tag_resource, {"tags": [{"Key": "k", "Value": "v"}]}),
        (iot.untag_resource, {"tagKeys": ["k"]}),
        (iot.list_tags_for_resource, {}),
    ):
        with pytest.raises(ClientError) as exc:
            op(resourceArn=f"{ARN}:thinggroup/ghost", **kwargs)
        assert code_of(exc) == ("ResourceNotFoundException", 404)
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.tag_resource(resourceArn=f"{ARN}:thing/t", tags=[{"Key": "k", "Value": "v"}])
    assert code_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn="not-an-arn")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_resources_of_other_families_use_the_same_mechanism(iot: Any, iot_mock: IotMock) -> None:
    # Another family registers its ARN type the same way (here a stand-in "rolealias").
    from iotmock.core import tagging

    names = {"alias-1"}
    tagging.taggable("testalias")(lambda backend, name: name in names)
    try:
        arn = f"{ARN}:testalias/alias-1"
        iot.tag_resource(resourceArn=arn, tags=[{"Key": "k", "Value": "v"}])
        assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "k", "Value": "v"}]
        with pytest.raises(ClientError) as exc:
            iot.list_tags_for_resource(resourceArn=f"{ARN}:testalias/alias-2")
        assert code_of(exc) == ("ResourceNotFoundException", 404)
    finally:
        tagging._TAGGABLE.pop("testalias")
