"""TagResource, UntagResource, ListTagsForResource over `iotmock.core.tagging`: every resource
family that declares its ARN type with `tagging.taggable` is covered (spec §13)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iotmock.core import tagging
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import paginate


@operation("iot", "TagResource")
def tag_resource(ctx: RequestContext, params: Params) -> dict[str, Any]:
    arn = params["resourceArn"]
    tagging.check_taggable(ctx.backend, arn)
    tagging.add_tags(ctx.backend, arn, tagging.from_list(params["tags"]))
    return {}


@operation("iot", "UntagResource")
def untag_resource(ctx: RequestContext, params: Params) -> dict[str, Any]:
    arn = params["resourceArn"]
    tagging.check_taggable(ctx.backend, arn)
    tagging.remove_tags(ctx.backend, arn, params["tagKeys"])
    return {}


@operation("iot", "ListTagsForResource")
def list_tags_for_resource(ctx: RequestContext, params: Params) -> dict[str, Any]:
    arn = params["resourceArn"]
    tagging.check_taggable(ctx.backend, arn)
    tags = tagging.tags_of(ctx.backend, arn)

    def source(after: str | None) -> Iterator[tuple[str, dict[str, str]]]:
        # At most 50 tags per resource: sorting them per page is cheap and keeps the
        # token (the last key) valid while tags change between pages.
        for key in sorted(tags):
            if after is None or key > after:
                yield key, {"Key": key, "Value": tags[key]}

    # The operation has no page-size member; one page holds every tag a resource can carry.
    page, token = paginate(
        f"ListTagsForResource:{arn}",
        source,
        params.get("nextToken"),
        None,
        default_limit=tagging.MAX_TAGS,
    )
    return {"tags": page, "nextToken": token}
