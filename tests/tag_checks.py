"""Tag assertions through the tagging API (ListTagsForResource), shared by the families'
create-time tag tests."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def listed_tags(iot: Any, arn: str) -> dict[str, str]:
    """ListTagsForResource as a key -> value dict (which also proves the ARN's resource type
    is taggable and the resource exists)."""
    response = iot.list_tags_for_resource(resourceArn=arn)
    assert "nextToken" not in response
    return {tag["Key"]: tag.get("Value", "") for tag in response["tags"]}


def assert_untaggable(iot: Any, arn: str) -> None:
    """The resource is gone: the tagging API no longer knows its ARN."""
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=arn)
    response: Any = exc.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert arn in response["Error"]["Message"]
