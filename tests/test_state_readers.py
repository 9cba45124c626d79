"""Reading state without internals: messages of every region, warnings when a reader
looks where nothing happened, shadow/job/rule views, Message values, the log's cap."""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import boto3
import pytest

from iotmock import IotMock, IotMockWarning, Message, ServiceError, mock_iot
from iotmock.views import JobExecutionView, JobView, ShadowView, TopicRuleView

ROLE = "arn:aws:iam::123456789012:role/rules"


def _data(region: str = "us-east-1") -> Any:
    return boto3.client("iot-data", region_name=region)


def test_messages_cover_every_region_and_say_where(iot_mock: IotMock) -> None:
    _data("us-east-1").publish(topic="a/1", payload=b"1")
    _data("eu-west-1").publish(topic="a/2", payload=b"2")
    _data("us-east-1").publish(topic="a/3", payload=b"3")
    found = iot_mock.messages("a/#")
    assert [(m.topic, m.region, m.account_id) for m in found] == [
        ("a/1", "us-east-1", "123456789012"),
        ("a/2", "eu-west-1", "123456789012"),
        ("a/3", "us-east-1", "123456789012"),
    ]
    assert [m.topic for m in iot_mock.messages(region="eu-west-1")] == ["a/2"]


def test_a_reader_of_an_empty_region_warns_naming_where_the_state_is(iot_mock: IotMock) -> None:
    _data("eu-west-1").publish(topic="t", payload=b"x")
    with pytest.warns(IotMockWarning, match="region eu-west-1"):
        assert iot_mock.messages(region="us-east-1") == []
    with pytest.warns(IotMockWarning, match="region eu-west-1"):
        assert iot_mock.shadow("nothing-here") is None


def test_no_warning_when_the_region_read_holds_state_or_nothing_exists(
    iot_mock: IotMock,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert iot_mock.messages(region="us-east-1") == []  # nothing anywhere
        _data().publish(topic="t", payload=b"x")
        assert iot_mock.messages("other", region="us-east-1") == []  # a real "none"
        assert len(iot_mock.messages(region="us-east-1")) == 1


def test_shadow_returns_the_document_as_get_thing_shadow_does(iot_mock: IotMock) -> None:
    data = _data()
    data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"desired": {"on": True}}})
    )
    data.update_thing_shadow(
        thingName="lamp",
        shadowName="cfg",
        payload=json.dumps({"state": {"reported": {"mode": "eco"}}}),
    )
    document = iot_mock.shadow("lamp")
    assert document is not None
    answered = json.loads(data.get_thing_shadow(thingName="lamp")["payload"].read())
    assert (
        document["state"]
        == answered["state"]
        == {
            "desired": {"on": True},
            "delta": {"on": True},
        }
    )
    assert document["version"] == 1
    named = iot_mock.shadow("lamp", "cfg")
    assert named is not None and named["state"] == {"reported": {"mode": "eco"}}
    assert iot_mock.shadow("lamp", "missing") is None
    document["state"]["desired"]["on"] = False  # a copy: the mock does not change
    again = iot_mock.shadow("lamp")
    assert again is not None and again["state"]["desired"] == {"on": True}


def test_shadow_views(iot_mock: IotMock) -> None:
    data = _data()
    for thing, name in (("b", None), ("a", "x"), ("a", None)):
        kwargs = {"shadowName": name} if name else {}
        data.update_thing_shadow(
            thingName=thing, payload=json.dumps({"state": {"reported": {"n": 1}}}), **kwargs
        )
    views = iot_mock.shadows.all()
    assert [(v.thing_name, v.shadow_name) for v in views] == [("a", None), ("a", "x"), ("b", None)]
    view = iot_mock.shadows.get("a", "x")
    assert isinstance(view, ShadowView)
    assert view.reported == {"n": 1} and view.desired is None and view.delta is None
    assert view.version == 1
    with pytest.raises(AttributeError):
        view.version = 2  # type: ignore[misc]


def test_job_and_execution_views(iot_mock: IotMock) -> None:
    iot = boto3.client("iot", region_name="us-east-1")
    jobs = boto3.client("iot-jobs-data", region_name="us-east-1")
    arn = iot.create_thing(thingName="dev")["thingArn"]
    iot.create_job(jobId="j1", targets=[arn], document='{"op":"reboot"}')
    jobs.update_job_execution(jobId="j1", thingName="dev", status="IN_PROGRESS")
    (job,) = iot_mock.jobs.all()
    assert isinstance(job, JobView)
    assert (job.job_id, job.status, job.targets) == ("j1", "IN_PROGRESS", (arn,))
    assert job.execution_counts == {"IN_PROGRESS": 1}
    (execution,) = iot_mock.jobs.executions("j1")
    assert isinstance(execution, JobExecutionView)
    assert (execution.thing_name, execution.status, execution.version) == ("dev", "IN_PROGRESS", 2)
    assert iot_mock.jobs.executions(status="QUEUED") == []
    assert iot_mock.jobs.get("missing") is None


def test_topic_rule_views_and_invocations(iot_mock: IotMock) -> None:
    iot = boto3.client("iot", region_name="us-east-1")
    iot.create_topic_rule(
        ruleName="fwd",
        topicRulePayload={
            "sql": "SELECT * FROM 'in/#'",
            "actions": [{"republish": {"roleArn": ROLE, "topic": "out"}}],
        },
    )
    (rule,) = iot_mock.rules.topic_rules()
    assert isinstance(rule, TopicRuleView)
    assert (rule.name, rule.topic_filter, rule.disabled) == ("fwd", "in/#", False)
    assert rule.actions == ({"republish": {"roleArn": ROLE, "topic": "out"}},)
    _data().publish(topic="in/x", payload=b'{"v":1}')
    (invocation,) = iot_mock.rules.invocations("fwd")
    assert invocation.target_topic == "out" and invocation.json() == {"v": 1}


def test_message_repr_and_value_equality(iot_mock: IotMock) -> None:
    _data().publish(topic="big", payload=b"x" * 500, qos=1)
    (message,) = iot_mock.messages("big")
    text = repr(message)
    assert "topic='big'" in text and "(500 bytes)" in text and len(text) < 200
    assert message == Message("big", b"x" * 500, qos=1)
    assert message != Message("big", b"x" * 500, qos=0)
    assert message in {Message("big", b"x" * 500, qos=1)}


def test_clear_messages_keeps_resources(iot_mock: IotMock) -> None:
    data = _data()
    data.publish(topic="t", payload=b"1")
    data.update_thing_shadow(thingName="s", payload=b'{"state":{"reported":{"a":1}}}')
    iot_mock.clear_messages()
    assert iot_mock.messages() == []
    assert iot_mock.shadow("s") is not None
    data.publish(topic="t", payload=b"2")
    assert [m.payload for m in iot_mock.messages("t")] == [b"2"]


def test_the_log_cap_keeps_the_most_recent_messages() -> None:
    with mock_iot(max_messages=3) as mock:
        data = _data()
        for n in range(5):
            data.publish(topic=f"t/{n % 2}", payload=str(n).encode())
        assert [m.payload for m in mock.messages()] == [b"2", b"3", b"4"]
        assert [m.payload for m in mock.messages("t/0")] == [b"2", b"4"]
        assert [m.payload for m in mock.messages("t/+")] == [b"2", b"3", b"4"]


def test_reading_one_topic_costs_in_proportion_to_its_messages(iot_mock: IotMock) -> None:
    data = _data()
    data.publish(topic="rare", payload=b"r")
    for n in range(2000):
        data.publish(topic=f"noise/{n % 50}", payload=b"n")

    def best_of(reader: Any) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            reader()
            times.append(time.perf_counter() - started)
        return min(times)

    rare = best_of(lambda: iot_mock.messages("rare"))
    everything = best_of(lambda: iot_mock.messages("noise/+"))
    assert len(iot_mock.messages("rare")) == 1
    # An exact topic is a lookup: far cheaper than selecting the 2000 noise messages.
    assert rare * 20 < everything


def test_reading_an_empty_region_does_not_silence_later_readers(iot_mock: IotMock) -> None:
    _data("eu-west-1").publish(topic="t", payload=b"x")
    for _ in range(2):
        with pytest.warns(IotMockWarning):
            assert iot_mock.rules.invocations() == []
    _data("us-east-1").publish(topic="t", payload=b"y")  # now something happened here
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert iot_mock.rules.invocations() == []
        assert iot_mock.shadow("missing") is None


def test_the_warning_names_the_test_line(iot_mock: IotMock) -> None:
    _data("eu-west-1").publish(topic="t", payload=b"x")
    with pytest.warns(IotMockWarning) as caught:
        iot_mock.shadows.all()
    assert caught[0].filename == __file__


# --------------------------------------------------------------------------- activity
# Only AWS calls and a simulated device's actions count as activity in an account and
# region; setup calls (stand-ins, switches) and readers do not, so a reader that looks
# where nothing happened warns whatever was registered or read there before.

EU_FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:f"
US_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"

SETUP_CALLS: dict[str, Any] = {
    "rules.register_lambda": lambda m: m.rules.register_lambda(US_FUNCTION, print),
    "authorizers.register name": lambda m: m.authorizers.register("auth", dict),
    "authorizers.register ARN": lambda m: m.authorizers.register(US_FUNCTION, dict),
    "devices.register_pre_provisioning_hook": (
        lambda m: m.devices.register_pre_provisioning_hook(US_FUNCTION, dict)
    ),
    "registration.put_input": lambda m: m.registration.put_input("b", "k", [{"a": "1"}]),
    "registration.hold": lambda m: m.registration.hold(),
    "defender.hold_mitigation_tasks": lambda m: m.defender.hold_mitigation_tasks(),
    "audit.hold_tasks": lambda m: m.audit.hold_tasks(),
    "audit.revoke_at_issuer": lambda m: m.audit.revoke_at_issuer("c" * 64),
}


def _ignoring_warnings(call: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except Exception as error:  # a reader of a missing resource may raise
            return error


READERS: dict[str, Any] = {
    "m.backend()": lambda m: m.backend(),
    "m.shadow()": lambda m: m.shadow("t"),
    "m.shadows.get()": lambda m: m.shadows.get("t"),
    "m.shadows.all()": lambda m: m.shadows.all(),
    "m.jobs.get()": lambda m: m.jobs.get("j"),
    "m.jobs.all()": lambda m: m.jobs.all(),
    "m.jobs.executions()": lambda m: m.jobs.executions(),
    "m.rules.invocations()": lambda m: m.rules.invocations(),
    "m.rules.topic_rules()": lambda m: m.rules.topic_rules(),
    "m.rules.destination_token()": lambda m: m.rules.destination_token("arn:x"),
    "m.audit.notifications()": lambda m: m.audit.notifications(),
    "m.audit.run_tasks()": lambda m: m.audit.run_tasks(),
    "m.defender.run_mitigation_tasks()": lambda m: m.defender.run_mitigation_tasks(),
    "m.registration.report()": lambda m: _ignoring_warnings(lambda: m.registration.report("x")),
    "m.registration.run()": lambda m: m.registration.run(),
    "m.certificates.ca_pem()": lambda m: m.certificates.ca_pem(),
}


@pytest.mark.parametrize("setup", sorted(SETUP_CALLS))
def test_setup_calls_are_not_activity(setup: str, iot_mock: IotMock) -> None:
    SETUP_CALLS[setup](iot_mock)  # the mock's own region, before anything happened
    _data("eu-west-1").publish(topic="t", payload=b"x")
    with pytest.warns(IotMockWarning, match="m.shadow\\(\\) found nothing .*region eu-west-1"):
        assert iot_mock.shadow("t") is None


@pytest.mark.parametrize("reader", sorted(READERS))
def test_readers_are_not_activity(reader: str, iot_mock: IotMock) -> None:
    _ignoring_warnings(lambda: READERS[reader](iot_mock))
    _data("eu-west-1").publish(topic="t", payload=b"x")
    for _ in range(2):  # reading does not make the region look used either
        with pytest.warns(IotMockWarning, match="region eu-west-1"):
            assert iot_mock.rules.invocations() == []


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_warns_where_nothing_happened(reader: str, iot_mock: IotMock) -> None:
    _data("eu-west-1").publish(topic="t", payload=b"x")
    if reader == "m.registration.report()":  # a missing task raises, and still warns
        with pytest.warns(IotMockWarning, match="region eu-west-1"), pytest.raises(ServiceError):
            iot_mock.registration.report("x")
        return
    name = reader.replace("(", "\\(").replace(")", "\\)")
    with pytest.warns(IotMockWarning, match=f"{name} found nothing .*region eu-west-1") as caught:
        READERS[reader](iot_mock)
    assert caught[0].filename == __file__
    _data("us-east-1").publish(topic="t", payload=b"y")  # now something happened here
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        READERS[reader](iot_mock)


def test_a_simulated_device_connecting_is_activity(iot_mock: IotMock) -> None:
    _data("us-east-1").publish(topic="t", payload=b"x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        device = iot_mock.devices.connect("dev-1", region="eu-west-1")
        device.publish("d/1", b"1")
        assert [m.topic for m in iot_mock.messages("d/#", region="eu-west-1")] == ["d/1"]
        assert iot_mock.shadows.all(region="eu-west-1") == []


def test_a_lambda_is_registered_for_the_region_and_account_of_its_arn(iot_mock: IotMock) -> None:
    events: list[Any] = []
    iot_mock.rules.register_lambda(EU_FUNCTION, lambda event, context: events.append(event))
    boto3.client("iot", region_name="eu-west-1").create_topic_rule(
        ruleName="r",
        topicRulePayload={
            "sql": "SELECT * FROM 'in'",
            "actions": [{"lambda": {"functionArn": EU_FUNCTION}}],
        },
    )
    _data("eu-west-1").publish(topic="in", payload=b'{"a": 1}')
    assert events == [{"a": 1}]
    (invocation,) = iot_mock.rules.invocations(region="eu-west-1")
    assert invocation.error is None
    with pytest.warns(IotMockWarning, match="region eu-west-1"):
        assert iot_mock.rules.invocations() == []  # the mock's own region: nothing


@pytest.mark.parametrize("registered_in", [None, "123456789012"])
def test_a_lambda_of_another_account_serves_the_rules_that_name_it(
    iot_mock: IotMock, registered_in: str | None
) -> None:
    # Registered where its ARN says (account 111122223333), or where the call says, it
    # serves a rule of the mock's account that names it, as a cross-account Lambda does.
    other = "arn:aws:lambda:us-east-1:111122223333:function:shared"
    events: list[Any] = []
    iot_mock.rules.register_lambda(
        other, lambda event, context: events.append(event), account_id=registered_in
    )
    boto3.client("iot", region_name="us-east-1").create_topic_rule(
        ruleName="r",
        topicRulePayload={
            "sql": "SELECT * FROM 'in'",
            "actions": [{"lambda": {"functionArn": other}}],
        },
    )
    _data().publish(topic="in", payload=b'{"a": 2}')
    assert events == [{"a": 2}]
    assert [i.error for i in iot_mock.rules.invocations()] == [None]


def test_an_authorizer_function_is_registered_for_the_region_of_its_arn(
    iot_mock: IotMock,
) -> None:
    iot = boto3.client("iot", region_name="eu-west-1")
    iot.create_authorizer(
        authorizerName="auth", authorizerFunctionArn=EU_FUNCTION, signingDisabled=True
    )
    response = {
        "isAuthenticated": True,
        "principalId": "p",
        "disconnectAfterInSeconds": 3600,
        "refreshAfterInSeconds": 600,
        "policyDocuments": [],
    }
    iot_mock.authorizers.register(EU_FUNCTION, lambda event: response)
    answer = iot.test_invoke_authorizer(authorizerName="auth", token="t")
    assert answer["isAuthenticated"] is True and answer["principalId"] == "p"


def test_a_pre_provisioning_hook_is_registered_for_the_region_of_its_arn(
    iot_mock: IotMock,
) -> None:
    from iotmock.devices.provisioning import DeviceProvisioningStore

    iot_mock.devices.register_pre_provisioning_hook(EU_FUNCTION, dict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooks = iot_mock.backend(region="eu-west-1").store(DeviceProvisioningStore).hooks
    assert list(hooks) == [EU_FUNCTION]
