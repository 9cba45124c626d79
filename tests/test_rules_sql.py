"""IoT SQL: SELECT expressions, WHERE conditions and functions, evaluated end to end
(a rule with one republish action; the payload it produced is read back)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import boto3
import pytest
from freezegun import freeze_time

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/r"

PAYLOAD = {
    "device": "Sensor-1",
    "temp": 25,
    "humidity": 40.5,
    "ok": True,
    "nothing": None,
    "tags": ["a", "b", "c"],
    "state": {"reported": {"mode": "auto", "levels": [1, 2, 3]}},
    "readings": [{"v": 10}, {"v": 20}],
    "text": "  padded  ",
    "numeric": "12",
}


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any]:
    """Clients shared by the module's many small cases (creating boto3 clients is what
    costs time); each test still runs in its own fresh mock."""
    with IotMock():
        return (
            boto3.client("iot", region_name="us-east-1"),
            boto3.client("iot-data", region_name="us-east-1"),
        )


@pytest.fixture
def iot(iot_mock: IotMock, clients: tuple[Any, Any]) -> Any:
    return clients[0]


@pytest.fixture
def iot_data(iot_mock: IotMock, clients: tuple[Any, Any]) -> Any:
    return clients[1]


@pytest.fixture
def run(iot_mock: IotMock, iot: Any, iot_data: Any) -> Any:
    """run(sql, payload=PAYLOAD, topic="dev/kitchen/temp") -> the produced payload
    (parsed JSON), or None when the rule did not fire."""
    counter = iter(range(1000))

    def run_sql(
        sql: str, payload: Any = PAYLOAD, topic: str = "dev/kitchen/temp", raw: bool = False
    ) -> Any:
        name = f"rule_{next(counter)}"
        iot.create_topic_rule(
            ruleName=name,
            topicRulePayload={
                "sql": sql,
                "actions": [{"republish": {"roleArn": ROLE, "topic": "out"}}],
            },
        )
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        iot_data.publish(topic=topic, payload=body)
        iot.delete_topic_rule(ruleName=name)
        fired = iot_mock.rules.invocations(name)
        if not fired:
            return None
        return fired[0].payload if raw else fired[0].json()

    return run_sql


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        ("*", PAYLOAD),
        ("temp", {"temp": 25}),
        ("temp AS t, humidity h", {"t": 25, "h": 40.5}),
        ("state.reported.mode", {"mode": "auto"}),
        ("state.reported.levels[1] AS l", {"l": 2}),
        ("readings[1].v AS v", {"v": 20}),
        ("tags[5] AS missing, temp", {"temp": 25}),
        ("nothing", {"nothing": None}),
        ("no_such_field, temp", {"temp": 25}),
        ("*, topic() AS t", {**PAYLOAD, "t": "dev/kitchen/temp"}),
        (
            "'text' AS s, 12 AS i, 1.5 AS d, true AS b, null AS n",
            {"s": "text", "i": 12, "d": 1.5, "b": True, "n": None},
        ),
        ("[1, temp] AS arr, {'k': temp} AS obj", {"arr": [1, 25], "obj": {"k": 25}}),
        (
            "temp + 1 AS a, temp - 30 AS b, temp * 2 AS c, temp / 2 AS d, temp % 7 AS e",
            {"a": 26, "b": -5, "c": 50, "d": 12, "e": 4},
        ),
        ("humidity * 2 AS x, -temp AS neg, (temp + 5) * 2 AS p", {"x": 81.0, "neg": -25, "p": 60}),
        ("numeric + 1 AS n", {"n": 13}),
        ("device + 1 AS n", {}),
        ("temp / 0 AS z", {}),
        (
            "temp > 20 AS hot, temp = 25 AS eq, temp <> 25 AS ne, temp != 3 AS ne2",
            {"hot": True, "eq": True, "ne": False, "ne2": True},
        ),
        (
            "device = 'Sensor-1' AND ok AS both, NOT ok AS neg, ok OR false AS either",
            {"both": True, "neg": False, "either": True},
        ),
        ("temp + 1", {"_1": 26}),
        ("upper(device)", {"upper": "SENSOR-1"}),
        ("CASE temp WHEN 25 THEN 'yes' ELSE 'no' END AS c", {"c": "yes"}),
        ("CASE WHEN temp > 30 THEN 'hot' WHEN temp > 20 THEN 'warm' END AS c", {"c": "warm"}),
        ("'b' IN tags AS has_b, 'z' IN tags AS has_z", {"has_b": True, "has_z": False}),
    ],
)
def test_select_expressions(run: Any, select: str, expected: Any) -> None:
    assert run(f"SELECT {select} FROM 'dev/#'") == expected


def test_select_value(run: Any) -> None:
    assert run("SELECT VALUE state.reported FROM 'dev/#'") == {
        "mode": "auto",
        "levels": [1, 2, 3],
    }
    assert run("SELECT VALUE missing FROM 'dev/#'") is None


@pytest.mark.parametrize(
    ("where", "fires"),
    [
        ("temp > 20", True),
        ("temp > 30", False),
        ("temp >= 25 AND humidity < 50", True),
        ("temp < 0 OR ok", True),
        ("NOT ok", False),
        ("device = 'Sensor-1'", True),
        ("missing = 1", False),
        ("missing <> 1", False),
        ("isUndefined(missing)", True),
        ("isNull(nothing)", True),
        ("numeric > 10", True),
        ("state.reported.mode = 'auto'", True),
        ("get(tags, 0) = 'a'", True),
        ("topic(2) = 'kitchen'", True),
        ("temp", False),
        ("startswith(device, 'Sens')", True),
        ("regexp_matches(device, '^S.*-[0-9]$')", True),
    ],
)
def test_where_conditions(run: Any, where: str, fires: bool) -> None:
    assert (run(f"SELECT temp FROM 'dev/#' WHERE {where}") is not None) is fires


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("topic()", "dev/kitchen/temp"),
        ("topic(1)", "dev"),
        ("topic(3)", "temp"),
        ("clientid()", "n/a"),
        ("principal()", "123456789012"),
        ("accountid()", "123456789012"),
        ("lower(device)", "sensor-1"),
        ("upper(device)", "SENSOR-1"),
        ("concat(device, '-', temp)", "Sensor-1-25"),
        ("concat(tags, [1])", ["a", "b", "c", 1]),
        ("abs(-4.5)", 4.5),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(2.4)", 2),
        ("floor(humidity)", 40),
        ("ceil(humidity)", 41),
        ("get(state.reported, 'mode')", "auto"),
        ("get(readings, 1)", {"v": 20}),
        ("cast(temp AS String)", "25"),
        ("cast(numeric AS Int)", 12),
        ("cast(humidity AS Int)", 40),
        ("cast('true' AS Boolean)", True),
        ("cast(temp AS Decimal)", 25.0),
        ("trim(text)", "padded"),
        ("ltrim(text)", "padded  "),
        ("rtrim(text)", "  padded"),
        ("substring(device, 0, 6)", "Sensor"),
        ("replace(device, 'Sensor', 'S')", "S-1"),
        ("regexp_replace(device, '([A-Za-z]+)-(\\d)', '$2:$1')", "1:Sensor"),
        ("regexp_substr(device, '[0-9]+')", "1"),
        ("indexof(device, '-')", 6),
        ("endswith(device, '-1')", True),
        ("numbytes(device)", 8),
        ("mod(-7, 3)", -1),
        ("mod(7, 3)", 1),
        ("remainder(-7, 3)", -1),
        ("power(2, 10)", 1024),
        ("sqrt(16)", 4.0),
        ("sign(-3)", -1),
        ("bitand(12, 10)", 8),
        ("bitor(12, 10)", 14),
        ("bitxor(12, 10)", 6),
        ("trunc(2.567, 2)", 2.56),
        ("isString(device)", True),
        ("isNumber(temp)", True),
        ("isBoolean(ok)", True),
        ("isArray(tags)", True),
        ("isObject(state)", True),
        ("isEmpty('')", True),
        ("encode(device, 'base64')", base64.b64encode(b"Sensor-1").decode()),
        ("decode('eyJhIjogMX0=', 'base64')", {"a": 1}),
        ("md5(device)", hashlib.md5(b"Sensor-1").hexdigest()),
        ("sha256(device)", hashlib.sha256(b"Sensor-1").hexdigest()),
        ("chr(65)", "A"),
        ("ISUNDEFINED(missing)", True),
    ],
)
def test_functions(run: Any, expression: str, expected: Any) -> None:
    assert run(f"SELECT {expression} AS v FROM 'dev/#'") == {"v": expected}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # The examples of the AWS IoT SQL reference (substring, lpad, rpad): non-string
        # values convert to strings and Decimal positions are rounded down.
        ("substring('012345', 2.745)", "2345"),
        ("substring(123, 2)", "3"),
        ("substring(true, 1.2)", "rue"),
        ("substring(false, -2.411E247)", "false"),
        ("substring('012345', -50, 50)", "012345"),
        ("substring('012345', 3, 1)", ""),
        ("lpad(1, 3)", "   1"),
        ("lpad(45, -3)", "45"),
        ("rpad('hi', 2.7)", "hi  "),
    ],
)
def test_string_functions_convert_their_arguments(run: Any, expression: str, expected: str) -> None:
    assert run(f"SELECT {expression} AS v FROM 'dev/#'") == {"v": expected}


def test_power_is_a_decimal_and_undefined_when_not_real(run: Any) -> None:
    result = run("SELECT power(2, 5) AS a, power(-8, 0.5) AS b, power(10, 400) AS c FROM 'dev/#'")
    assert result == {"a": 32.0}
    assert isinstance(result["a"], float)


def test_functions_with_wrong_argument_types_are_undefined(run: Any) -> None:
    assert run("SELECT lower(temp) AS a, abs(device) AS b, unknown_fn(1) AS c FROM 'dev/#'") == {}


def test_timestamp_and_newuuid(run: Any) -> None:
    with freeze_time("2026-01-01 00:00:00"):
        result = run("SELECT timestamp() AS ts, newuuid() AS id FROM 'dev/#'")
    assert result["ts"] == 1767225600000
    assert re.fullmatch(r"[0-9a-f-]{36}", result["id"])


def test_encode_star_base64_of_a_binary_payload(run: Any) -> None:
    result = run("SELECT encode(*, 'base64') AS data FROM 'dev/#'", payload=b"\x00\x01\xff")
    assert result == {"data": base64.b64encode(b"\x00\x01\xff").decode()}


def test_select_star_forwards_a_binary_payload_untouched(run: Any) -> None:
    assert run("SELECT * FROM 'dev/#'", payload=b"\x00\x01\xff", raw=True) == b"\x00\x01\xff"


def test_fields_of_a_non_json_payload_are_undefined(run: Any) -> None:
    assert run("SELECT temp, topic() AS t FROM 'dev/#'", payload=b"\xff") == {
        "t": "dev/kitchen/temp"
    }


def test_get_thing_shadow_reads_the_classic_shadow(run: Any, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"on": True}}})
    )
    result = run(
        "SELECT get_thing_shadow('lamp', 'arn:aws:iam::1:role/r').state.reported.on AS on "
        "FROM 'dev/#'"
    )
    assert result == {"on": True}


def test_get_thing_shadow_with_a_shadow_name_reads_the_named_shadow(
    run: Any, iot_data: Any
) -> None:
    # AWS: get_thing_shadow(thingName, shadowName, roleARN) for named shadows.
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"on": True}}})
    )
    iot_data.update_thing_shadow(
        thingName="lamp",
        shadowName="cfg",
        payload=json.dumps({"state": {"reported": {"on": False}}}),
    )
    result = run(
        "SELECT get_thing_shadow('lamp', 'cfg', 'arn:aws:iam::1:role/r').state.reported.on"
        " AS named, get_thing_shadow('lamp', 'arn:aws:iam::1:role/r').state.reported.on"
        " AS classic, get_thing_shadow('lamp', 'nope', 'arn:aws:iam::1:role/r') AS missing"
        " FROM 'dev/#'"
    )
    assert result == {"named": False, "classic": True}


@pytest.mark.parametrize(
    ("topic_filter", "topic", "fires"),
    [
        ("dev/+/temp", "dev/kitchen/temp", True),
        ("dev/#", "dev/kitchen/temp", True),
        ("dev/#", "dev", True),
        ("#", "dev/kitchen/temp", True),
        ("+/kitchen/+", "dev/kitchen/temp", True),
        ("dev/+", "dev/kitchen/temp", False),
        ("other/#", "dev/kitchen/temp", False),
        ("dev/kitchen/temp", "dev/kitchen/temp", True),
    ],
)
def test_from_topic_filter_matching(run: Any, topic_filter: str, topic: str, fires: bool) -> None:
    assert (run(f"SELECT * FROM '{topic_filter}'", topic=topic) is not None) is fires


def test_keywords_are_case_insensitive_and_strings_escape_quotes(run: Any) -> None:
    result = run("select 'it''s' as s from 'dev/#' where temp > 1")
    assert result == {"s": "it's"}
