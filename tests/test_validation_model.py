"""Every documented constraint of the three models, at its limit and one past it.

For each operation, every constrained member (nested structure members, list items and
map values included) is set, in an otherwise valid request, to a value at the limit
(which must pass validation) and to one just past it (which must fail with the AWS
message naming the member path and the constraint). Calls go through real boto3 clients
with botocore's own client-side validation switched off, as a raw HTTP caller would send.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import Shape
from modelgen import matches, string_of_length, valid_value

from iotmock import mock_iot
from iotmock.core.model import all_operations, operation_model
from iotmock.core.protocol import router
from iotmock.core.validation import HANDLER_CHECKED, validation_error_code

pytestmark = pytest.mark.model_wide

MAX_DEPTH = 3


@dataclass(frozen=True)
class Case:
    service: str
    operation: str
    keys: tuple[str | int, ...]  # where the value goes in the params
    path: str  # how AWS names the member in the message
    value: Any
    valid: bool
    phrase: str

    def __str__(self) -> str:
        verdict = "ok" if self.valid else "bad"
        return f"{self.service}.{self.operation}.{self.path}:{verdict}:{self.phrase[:40]}"


def _sites(
    shape: Shape, keys: tuple[str | int, ...], path: str, depth: int
) -> Iterator[tuple[tuple[str | int, ...], str, Shape]]:
    """(keys, path, shape) for every member below a structure, recursively."""
    if depth > MAX_DEPTH:
        return
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if member.type_name == "blob":
            continue
        member_keys = (*keys, name)
        member_path = f"{path}.{name}" if path else name
        yield member_keys, member_path, member
        if member.type_name == "structure":
            yield from _sites(member, member_keys, member_path, depth + 1)
        elif member.type_name == "list":
            item = member.member
            item_keys = (*member_keys, 0)
            item_path = f"{member_path}.1.member"
            if item.type_name == "structure":
                yield from _sites(item, item_keys, item_path, depth + 1)
            elif item.type_name in ("string", "integer", "long"):
                yield item_keys, item_path, item


def _boundaries(shape: Shape) -> Iterator[tuple[Any, bool, str]]:
    """(value, passes?, constraint phrase) pairs for the constraints of `shape`."""
    meta = shape.metadata
    type_name = shape.type_name
    if type_name == "string":
        enum = getattr(shape, "enum", None)
        if enum:
            phrase = f"Member must satisfy enum value set: [{', '.join(enum)}]"
            yield enum[-1], True, phrase
            yield "NOT_A_VALID_ENUM_VALUE", False, phrase
            return
        if "max" in meta:
            phrase = f"Member must have length less than or equal to {meta['max']}"
            for length, ok in ((meta["max"], True), (meta["max"] + 1, False)):
                value = string_of_length(shape, length)
                if value is not None:
                    yield value, ok, phrase
        if meta.get("min", 0) > 0:
            phrase = f"Member must have length greater than or equal to {meta['min']}"
            for length, ok in ((meta["min"], True), (meta["min"] - 1, False)):
                value = string_of_length(shape, length)
                if value is not None or (not ok and length == 0):
                    yield value if value is not None else "", ok, phrase
        if "pattern" in meta:
            phrase = f"Member must satisfy regular expression pattern: {meta['pattern']}"
            low = max(meta.get("min", 0), 1)
            for bad in ("\u0000", "\t", " ", "\u00e9", "!", "\u200b"):
                value = (bad * low)[: meta.get("max", 10**9)]
                if not matches(shape, value):
                    yield value, False, phrase
                    break
    elif type_name in ("integer", "long"):
        if "max" in meta:
            phrase = f"Member must have value less than or equal to {meta['max']}"
            yield meta["max"], True, phrase
            yield meta["max"] + 1, False, phrase
        if "min" in meta:
            phrase = f"Member must have value greater than or equal to {meta['min']}"
            yield meta["min"], True, phrase
            yield meta["min"] - 1, False, phrase
    elif type_name == "list":
        item = valid_value(shape.member, full=False)  # type: ignore[attr-defined]
        if "max" in meta and meta["max"] <= 1000:
            phrase = f"Member must have length less than or equal to {meta['max']}"
            yield [item] * meta["max"], True, phrase
            yield [item] * (meta["max"] + 1), False, phrase
        if meta.get("min", 0) > 0:
            phrase = f"Member must have length greater than or equal to {meta['min']}"
            yield [item] * meta["min"], True, phrase
            yield [item] * (meta["min"] - 1), False, phrase


def _cases() -> list[Case]:
    cases = []
    for service, operation in all_operations():
        shape = operation_model(service, operation).input_shape
        if shape is None:
            continue
        for keys, path, member in _sites(shape, (), "", 0):
            for value, ok, phrase in _boundaries(member):
                cases.append(Case(service, operation, keys, path, value, ok, phrase))
    return cases


CASES = _cases()


def test_the_sweep_covers_thousands_of_constraints() -> None:
    assert len({(c.service, c.operation) for c in CASES}) > 200
    assert len(CASES) > 2000


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, Any]]:
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    with mock_iot():
        yield {
            service: boto3.client(service, region_name="us-east-1", config=config)
            for service in ("iot", "iot-data", "iot-jobs-data")
        }


def _place(params: dict[str, Any], keys: tuple[str | int, ...], value: Any) -> None:
    target: Any = params
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_constraint_at_and_past_its_limit(case: Case, clients: dict[str, Any]) -> None:
    model = operation_model(case.service, case.operation)
    params = copy.deepcopy(valid_value(model.input_shape))
    _place(params, case.keys, case.value)
    method = getattr(clients[case.service], _snake(case.operation))
    code = validation_error_code(case.service, case.operation)
    expected_clause = f"at '{case.path}' failed to satisfy constraint: {case.phrase}"
    if case.value == "" and _routes_elsewhere(case):
        pytest.skip("with this label empty, the URL is another operation's URL")
    if not case.valid and _handler_checked(case):
        # The handler judges this member and answers `valid: false` (docs/validation.md).
        answer = method(**params)
        assert answer["valid"] is False
        assert any(str(case.keys[-1]) in e["errorMessage"] for e in answer["validationErrors"])
        return
    try:
        method(**params)
    except ClientError as error:
        message = error.response["Error"]["Message"]
        failed = error.response["Error"]["Code"] == code and "validation error" in message
        if case.valid:
            assert not (failed and expected_clause in message), message
        else:
            assert failed, error.response
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            assert expected_clause in message
        return
    assert case.valid, f"{case} was accepted"


def _handler_checked(case: Case) -> bool:
    deferred = HANDLER_CHECKED.get((case.service, case.operation))
    return deferred is not None and case.keys[-1] in deferred[1]


def _routes_elsewhere(case: Case) -> bool:
    """Whether emptying this URI label turns the URL into another operation's."""
    model = operation_model(case.service, case.operation)
    member = model.input_shape.members[str(case.keys[0])]
    if len(case.keys) != 1 or member.serialization.get("location") != "uri":
        return False
    label = member.serialization.get("name", case.keys[0])
    path = re.sub(
        r"\{([^}+]+)\+?\}", lambda m: "" if m.group(1) == label else "x", model.http["requestUri"]
    )
    routed, _ = router(case.service).route(model.http["method"], path, {})
    return routed != case.operation


def _snake(name: str) -> str:
    from botocore import xform_name

    return xform_name(name)
