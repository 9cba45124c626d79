"""List paging: O(page) pages, stable order, opaque tokens that are checked."""

from __future__ import annotations

from typing import Any

import pytest


def _create(iot: Any, count: int) -> None:
    for index in range(count):
        iot.create_thing(thingName=f"thing-{index:03d}")


def test_pages_cover_everything_once_in_a_stable_order(iot: Any) -> None:
    _create(iot, 23)
    names: list[str] = []
    token = None
    while True:
        kwargs = {"maxResults": 5, **({"nextToken": token} if token else {})}
        page = iot.list_things(**kwargs)
        assert len(page["things"]) <= 5
        names += [t["thingName"] for t in page["things"]]
        token = page.get("nextToken")
        if not token:
            break
    assert names == sorted(names)
    assert len(names) == len(set(names)) == 23


def test_last_page_has_no_token(iot: Any) -> None:
    _create(iot, 4)
    page = iot.list_things(maxResults=4)
    assert len(page["things"]) == 4
    assert "nextToken" not in page


def test_paging_survives_deletes_and_creates_between_pages(iot: Any) -> None:
    _create(iot, 10)
    first = iot.list_things(maxResults=4)
    iot.delete_thing(thingName="thing-003")  # on the first page already
    iot.delete_thing(thingName="thing-004")  # would have opened the next page
    iot.create_thing(thingName="thing-000a")  # sorts before the token: not listed
    rest = iot.list_things(maxResults=100, nextToken=first["nextToken"])
    assert [t["thingName"] for t in rest["things"]] == [f"thing-{i:03d}" for i in range(5, 10)]


@pytest.mark.parametrize("token", ["garbage", "eyJub3QiOiAibGlzdCJ9", "W10="])
def test_malformed_token_is_an_invalid_request(iot: Any, token: str) -> None:
    with pytest.raises(iot.exceptions.InvalidRequestException) as caught:
        iot.list_things(nextToken=token)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_token_of_another_listing_is_refused(iot: Any) -> None:
    _create(iot, 3)
    iot.update_thing(thingName="thing-000", attributePayload={"attributes": {"k": "v"}})
    token = iot.list_things(maxResults=1)["nextToken"]
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.list_things(nextToken=token, attributeName="k", attributeValue="v")


def test_boto3_paginator_walks_all_pages(iot: Any) -> None:
    _create(iot, 12)
    pages = list(iot.get_paginator("list_things").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["things"]) for p in pages] == [5, 5, 2]
