"""Registry outputs compared with what AWS returns (issue 10): ListThingGroups scoping and
the empty properties of groups created without any."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def tree(iot: Any) -> Any:
    """root-a > (mid-a > leaf-a, mid-b), root-b > other: three levels, two roots."""
    iot.create_thing_group(thingGroupName="root-a")
    iot.create_thing_group(thingGroupName="mid-a", parentGroupName="root-a")
    iot.create_thing_group(thingGroupName="mid-b", parentGroupName="root-a")
    iot.create_thing_group(thingGroupName="leaf-a", parentGroupName="mid-a")
    iot.create_thing_group(thingGroupName="root-b")
    iot.create_thing_group(thingGroupName="other", parentGroupName="root-b")
    return iot


def _names(iot: Any, **params: Any) -> list[str]:
    return [g["groupName"] for g in iot.list_thing_groups(**params)["thingGroups"]]


def test_list_thing_groups_without_arguments_lists_every_group(tree: Any) -> None:
    assert _names(tree) == ["leaf-a", "mid-a", "mid-b", "other", "root-a", "root-b"]


def test_recursive_false_without_parent_lists_only_root_groups(tree: Any) -> None:
    assert _names(tree, recursive=False) == ["root-a", "root-b"]
    assert _names(tree, recursive=True) == _names(tree)


def test_parent_group_lists_every_descendant_when_recursive_is_absent(tree: Any) -> None:
    assert _names(tree, parentGroup="root-a") == ["leaf-a", "mid-a", "mid-b"]
    assert _names(tree, parentGroup="root-a", recursive=True) == ["leaf-a", "mid-a", "mid-b"]


def test_parent_group_with_recursive_false_lists_direct_children(tree: Any) -> None:
    assert _names(tree, parentGroup="root-a", recursive=False) == ["mid-a", "mid-b"]
    assert _names(tree, parentGroup="leaf-a", recursive=False) == []


def test_name_prefix_narrows_whichever_set_was_selected(tree: Any) -> None:
    assert _names(tree, namePrefixFilter="mid") == ["mid-a", "mid-b"]
    assert _names(tree, namePrefixFilter="root", recursive=False) == ["root-a", "root-b"]
    assert _names(tree, namePrefixFilter="mid", recursive=False) == []
    assert _names(tree, parentGroup="root-a", namePrefixFilter="leaf") == ["leaf-a"]
    assert _names(tree, parentGroup="root-a", namePrefixFilter="leaf", recursive=False) == []


def test_root_groups_page_with_tokens(tree: Any) -> None:
    first = tree.list_thing_groups(recursive=False, maxResults=1)
    assert [g["groupName"] for g in first["thingGroups"]] == ["root-a"]
    second = tree.list_thing_groups(recursive=False, maxResults=1, nextToken=first["nextToken"])
    assert [g["groupName"] for g in second["thingGroups"]] == ["root-b"]
    assert "nextToken" not in second


def test_thing_group_without_properties_describes_as_empty_properties(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="plain")
    assert iot.describe_thing_group(thingGroupName="plain")["thingGroupProperties"] == {}
    iot.create_thing_group(
        thingGroupName="no-attrs", thingGroupProperties={"attributePayload": {"attributes": {}}}
    )
    assert iot.describe_thing_group(thingGroupName="no-attrs")["thingGroupProperties"] == {}
    iot.create_thing_group(
        thingGroupName="described",
        thingGroupProperties={
            "thingGroupDescription": "d",
            "attributePayload": {"attributes": {"k": "v"}},
        },
    )
    assert iot.describe_thing_group(thingGroupName="described")["thingGroupProperties"] == {
        "thingGroupDescription": "d",
        "attributePayload": {"attributes": {"k": "v"}},
    }


def test_removing_the_last_attribute_drops_the_attribute_payload(iot: Any) -> None:
    iot.create_thing_group(
        thingGroupName="g", thingGroupProperties={"attributePayload": {"attributes": {"k": "v"}}}
    )
    iot.update_thing_group(
        thingGroupName="g",
        thingGroupProperties={"attributePayload": {"attributes": {}, "merge": False}},
    )
    assert iot.describe_thing_group(thingGroupName="g")["thingGroupProperties"] == {}


def test_billing_group_without_properties_describes_as_empty_properties(iot: Any) -> None:
    iot.create_billing_group(billingGroupName="plain")
    assert iot.describe_billing_group(billingGroupName="plain")["billingGroupProperties"] == {}
    iot.create_billing_group(
        billingGroupName="d", billingGroupProperties={"billingGroupDescription": "x"}
    )
    assert iot.describe_billing_group(billingGroupName="d")["billingGroupProperties"] == {
        "billingGroupDescription": "x"
    }
