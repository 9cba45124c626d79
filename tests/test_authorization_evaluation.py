"""TestAuthorization through boto3: what the policy engine allows and denies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from identity_state import make_certificate_pem, register_certificate

ARN = "arn:aws:iot:us-east-1:123456789012"
COGNITO = "us-east-1:7b1a6e4c-0d2f-4e21-9b43-6c5b1f0a8e11"


def statement(effect: str, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def policy(iot: Any, name: str, *statements: dict[str, Any]) -> None:
    iot.create_policy(
        policyName=name,
        policyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


def check(iot: Any, principal: str | None, action: str, *resources: str, **kwargs: Any) -> Any:
    """The single authResult of a TestAuthorization call."""
    if principal is not None:
        kwargs["principal"] = principal
    response = iot.test_authorization(
        authInfos=[{"actionType": action, "resources": list(resources)}], **kwargs
    )
    [result] = response["authResults"]
    return result


def names(policies: list[dict[str, str]]) -> list[str]:
    return [p["policyName"] for p in policies]


@pytest.fixture
def cert(iot: Any) -> str:
    return register_certificate(iot, make_certificate_pem(common_name="device-cn"))


def attach(iot: Any, target: str, *policy_names: str) -> None:
    for name in policy_names:
        iot.attach_policy(policyName=name, target=target)


# --------------------------------------------------------------------------- decisions


def test_allowed_with_client_id_variable(iot: Any, cert: str) -> None:
    policy(iot, "connect", statement("Allow", "iot:Connect", f"{ARN}:client/${{iot:ClientId}}"))
    attach(iot, cert, "connect")
    result = check(iot, cert, "CONNECT", f"{ARN}:client/sensor-1", clientId="sensor-1")
    assert result["authDecision"] == "ALLOWED"
    assert names(result["allowed"]["policies"]) == ["connect"]
    assert result["allowed"]["policies"][0]["policyArn"].endswith(":policy/connect")
    assert result["denied"]["explicitDeny"]["policies"] == []
    assert result["denied"]["implicitDeny"]["policies"] == []
    assert result["authInfo"] == {
        "actionType": "CONNECT",
        "resources": [f"{ARN}:client/sensor-1"],
    }
    assert result["missingContextValues"] == []


def test_implicit_deny_lists_the_silent_policies(iot: Any, cert: str) -> None:
    policy(iot, "connect", statement("Allow", "iot:Connect", f"{ARN}:client/${{iot:ClientId}}"))
    attach(iot, cert, "connect")
    result = check(iot, cert, "CONNECT", f"{ARN}:client/other", clientId="sensor-1")
    assert result["authDecision"] == "IMPLICIT_DENY"
    assert result["allowed"]["policies"] == []
    assert names(result["denied"]["implicitDeny"]["policies"]) == ["connect"]


def test_no_policies_is_implicit_deny(iot: Any, cert: str) -> None:
    result = check(iot, cert, "PUBLISH", f"{ARN}:topic/a")
    assert result["authDecision"] == "IMPLICIT_DENY"
    assert result["denied"]["implicitDeny"]["policies"] == []


def test_explicit_deny_wins_over_allow(iot: Any, cert: str) -> None:
    policy(iot, "all", statement("Allow", "iot:*", "*"))
    policy(iot, "no-secrets", statement("Deny", "iot:Publish", f"{ARN}:topic/secret/*"))
    attach(iot, cert, "all", "no-secrets")
    denied = check(iot, cert, "PUBLISH", f"{ARN}:topic/secret/launch-codes")
    assert denied["authDecision"] == "EXPLICIT_DENY"
    assert names(denied["denied"]["explicitDeny"]["policies"]) == ["no-secrets"]
    assert names(denied["allowed"]["policies"]) == ["all"]
    allowed = check(iot, cert, "PUBLISH", f"{ARN}:topic/public")
    assert allowed["authDecision"] == "ALLOWED"
    assert names(allowed["allowed"]["policies"]) == ["all"]


def test_deny_in_the_same_policy_wins(iot: Any, cert: str) -> None:
    policy(
        iot,
        "mixed",
        statement("Allow", "iot:Subscribe", "*"),
        statement("Deny", "iot:Subscribe", f"{ARN}:topicfilter/$aws/*"),
    )
    attach(iot, cert, "mixed")
    assert check(iot, cert, "SUBSCRIBE", f"{ARN}:topicfilter/a/b")["authDecision"] == "ALLOWED"
    result = check(iot, cert, "SUBSCRIBE", f"{ARN}:topicfilter/$aws/things/x/shadow/get")
    assert result["authDecision"] == "EXPLICIT_DENY"


def test_every_resource_must_be_allowed(iot: Any, cert: str) -> None:
    policy(iot, "a-only", statement("Allow", "iot:Receive", f"{ARN}:topic/a"))
    attach(iot, cert, "a-only")
    assert check(iot, cert, "RECEIVE", f"{ARN}:topic/a")["authDecision"] == "ALLOWED"
    both = check(iot, cert, "RECEIVE", f"{ARN}:topic/a", f"{ARN}:topic/b")
    assert both["authDecision"] == "IMPLICIT_DENY"
    assert names(both["denied"]["implicitDeny"]["policies"]) == ["a-only"]


def test_each_auth_info_gets_its_own_result(iot: Any, cert: str) -> None:
    policy(iot, "pub", statement("Allow", "iot:Publish", "*"))
    attach(iot, cert, "pub")
    response = iot.test_authorization(
        principal=cert,
        authInfos=[
            {"actionType": "PUBLISH", "resources": [f"{ARN}:topic/x"]},
            {"actionType": "SUBSCRIBE", "resources": [f"{ARN}:topicfilter/x"]},
        ],
    )
    assert [r["authDecision"] for r in response["authResults"]] == ["ALLOWED", "IMPLICIT_DENY"]


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("pattern", "resource", "decision"),
    [
        ("topic/sensors/*", "topic/sensors/a/b/c", "ALLOWED"),  # * crosses '/'
        ("topic/sensors/*", "topic/other/a", "IMPLICIT_DENY"),
        ("topic/room-?", "topic/room-7", "ALLOWED"),
        ("topic/room-?", "topic/room-17", "IMPLICIT_DENY"),
        ("topic/a+b", "topic/a+b", "ALLOWED"),  # MQTT + is literal in policies
        ("topic/a/+", "topic/a/x", "IMPLICIT_DENY"),
        ("topic/a/#", "topic/a/x/y", "IMPLICIT_DENY"),
        ("topic/Case", "topic/case", "IMPLICIT_DENY"),  # resources are case-sensitive
        ("topic/${*}", "topic/*", "ALLOWED"),  # ${*} is a literal star
        ("topic/${*}", "topic/x", "IMPLICIT_DENY"),
    ],
)
def test_resource_wildcards(
    iot: Any, cert: str, pattern: str, resource: str, decision: str
) -> None:
    policy(iot, "p", statement("Allow", "iot:Publish", f"{ARN}:{pattern}"))
    attach(iot, cert, "p")
    assert check(iot, cert, "PUBLISH", f"{ARN}:{resource}")["authDecision"] == decision


@pytest.mark.parametrize(
    ("action", "decision"),
    [
        ("iot:Pub*", "ALLOWED"),
        ("IOT:PUBLISH", "ALLOWED"),  # actions are case-insensitive
        ("iot:Publis?", "ALLOWED"),
        ("iot:Subscribe", "IMPLICIT_DENY"),
        (["iot:Connect", "iot:Publish"], "ALLOWED"),
        ("*", "ALLOWED"),
    ],
)
def test_action_matching(iot: Any, cert: str, action: Any, decision: str) -> None:
    policy(iot, "p", statement("Allow", action, "*"))
    attach(iot, cert, "p")
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/t")["authDecision"] == decision


def test_not_action_and_not_resource(iot: Any, cert: str) -> None:
    policy(
        iot,
        "p",
        {"Effect": "Allow", "NotAction": "iot:Connect", "NotResource": f"{ARN}:topic/private"},
    )
    attach(iot, cert, "p")
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/open")["authDecision"] == "ALLOWED"
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/private")["authDecision"] == "IMPLICIT_DENY"
    assert check(iot, cert, "CONNECT", f"{ARN}:client/c")["authDecision"] == "IMPLICIT_DENY"


def test_variable_values_are_literal(iot: Any, cert: str) -> None:
    policy(iot, "p", statement("Allow", "iot:Publish", f"{ARN}:topic/${{iot:ClientId}}/*"))
    attach(iot, cert, "p")
    sneaky = check(iot, cert, "PUBLISH", f"{ARN}:topic/victim/x", clientId="*")
    assert sneaky["authDecision"] == "IMPLICIT_DENY"
    own = check(iot, cert, "PUBLISH", f"{ARN}:topic/*/x", clientId="*")
    assert own["authDecision"] == "ALLOWED"


def test_uses_the_default_version(iot: Any, cert: str) -> None:
    policy(iot, "p", statement("Allow", "iot:Publish", "*"))
    attach(iot, cert, "p")
    deny_all = json.dumps({"Version": "2012-10-17", "Statement": [statement("Deny", "iot:*", "*")]})
    iot.create_policy_version(policyName="p", policyDocument=deny_all)
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/t")["authDecision"] == "ALLOWED"
    iot.set_default_policy_version(policyName="p", policyVersionId="2")
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/t")["authDecision"] == "EXPLICIT_DENY"


# --------------------------------------------------------------------------- variables


def test_thing_variables_resolve_for_the_attached_thing(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="lamp-1", attributePayload={"attributes": {"site": "paris"}})
    iot.attach_thing_principal(thingName="lamp-1", principal=cert)
    policy(
        iot,
        "things",
        statement(
            "Allow",
            "iot:Publish",
            f"{ARN}:topic/${{iot:Connection.Thing.ThingName}}/"
            "${iot:Connection.Thing.Attributes[site]}",
        ),
    )
    attach(iot, cert, "things")
    ok = check(iot, cert, "PUBLISH", f"{ARN}:topic/lamp-1/paris", clientId="lamp-1")
    assert ok["authDecision"] == "ALLOWED"
    wrong = check(iot, cert, "PUBLISH", f"{ARN}:topic/lamp-1/rome", clientId="lamp-1")
    assert wrong["authDecision"] == "IMPLICIT_DENY"


def test_thing_type_variable(iot: Any, cert: str) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing(thingName="lamp-1", thingTypeName="lamp")
    iot.attach_thing_principal(thingName="lamp-1", principal=cert)
    policy(
        iot,
        "by-type",
        statement(
            "Allow", "iot:Publish", f"{ARN}:topic/types/${{iot:Connection.Thing.ThingTypeName}}"
        ),
    )
    attach(iot, cert, "by-type")
    ok = check(iot, cert, "PUBLISH", f"{ARN}:topic/types/lamp", clientId="lamp-1")
    assert ok["authDecision"] == "ALLOWED"
    other = check(iot, cert, "PUBLISH", f"{ARN}:topic/types/fan", clientId="lamp-1")
    assert other["authDecision"] == "IMPLICIT_DENY"


def test_unresolved_thing_variable_is_reported_missing(iot: Any, cert: str) -> None:
    policy(
        iot,
        "things",
        statement("Allow", "iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.ThingName}}"),
    )
    attach(iot, cert, "things")
    # No thing is attached to the certificate: the variable has no value.
    result = check(iot, cert, "PUBLISH", f"{ARN}:topic/lamp-1", clientId="lamp-1")
    assert result["authDecision"] == "IMPLICIT_DENY"
    assert result["missingContextValues"] == ["iot:Connection.Thing.ThingName"]


def test_missing_variable_never_grants_through_deny(iot: Any, cert: str) -> None:
    policy(iot, "allow", statement("Allow", "iot:Publish", "*"))
    policy(
        iot,
        "deny",
        statement("Deny", "iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.ThingTypeName}}"),
    )
    attach(iot, cert, "allow", "deny")
    result = check(iot, cert, "PUBLISH", f"{ARN}:topic/x")
    assert result["authDecision"] == "ALLOWED"
    assert result["missingContextValues"] == ["iot:Connection.Thing.ThingTypeName"]


def test_client_id_must_name_the_attached_thing(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="lamp-1")
    iot.attach_thing_principal(thingName="lamp-1", principal=cert)
    policy(
        iot,
        "things",
        statement("Allow", "iot:Connect", f"{ARN}:client/${{iot:Connection.Thing.ThingName}}"),
    )
    attach(iot, cert, "things")
    other = check(iot, cert, "CONNECT", f"{ARN}:client/lamp-1", clientId="impostor")
    assert other["authDecision"] == "IMPLICIT_DENY"
    assert other["missingContextValues"] == ["iot:Connection.Thing.ThingName"]


def test_exclusive_thing_resolves_whatever_the_client_id(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="lamp-1")
    iot.attach_thing_principal(
        thingName="lamp-1", principal=cert, thingPrincipalType="EXCLUSIVE_THING"
    )
    policy(
        iot,
        "things",
        statement("Allow", "iot:Publish", f"{ARN}:topic/${{iot:Connection.Thing.ThingName}}"),
    )
    attach(iot, cert, "things")
    result = check(iot, cert, "PUBLISH", f"{ARN}:topic/lamp-1", clientId="anything")
    assert result["authDecision"] == "ALLOWED"


def test_is_attached_condition(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="lamp-1")
    iot.attach_thing_principal(thingName="lamp-1", principal=cert)
    policy(
        iot,
        "attached-only",
        statement(
            "Allow",
            "iot:Connect",
            "*",
            Condition={"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
        ),
    )
    attach(iot, cert, "attached-only")
    resource = f"{ARN}:client/lamp-1"
    assert check(iot, cert, "CONNECT", resource, clientId="lamp-1")["authDecision"] == "ALLOWED"
    stranger = check(iot, cert, "CONNECT", f"{ARN}:client/x", clientId="x")
    assert stranger["authDecision"] == "IMPLICIT_DENY"


def test_string_conditions(iot: Any, cert: str) -> None:
    policy(
        iot,
        "p",
        statement(
            "Allow",
            "iot:Connect",
            "*",
            Condition={"StringLike": {"iot:ClientId": ["sensor-*", "probe-?"]}},
        ),
        statement(
            "Deny",
            "iot:Connect",
            "*",
            Condition={"StringEquals": {"iot:ClientId": "sensor-banned"}},
        ),
    )
    attach(iot, cert, "p")
    resource = f"{ARN}:client/c"
    for client_id, decision in [
        ("sensor-1", "ALLOWED"),
        ("probe-7", "ALLOWED"),
        ("probe-77", "IMPLICIT_DENY"),
        ("sensor-banned", "EXPLICIT_DENY"),
    ]:
        result = check(iot, cert, "CONNECT", resource, clientId=client_id)
        assert result["authDecision"] == decision, client_id
    no_client = check(iot, cert, "CONNECT", resource)
    assert no_client["authDecision"] == "IMPLICIT_DENY"
    assert no_client["missingContextValues"] == ["iot:ClientId"]


def test_policy_variables_in_string_condition_values(iot: Any, cert: str) -> None:
    # The usual "client id must be the thing name" guard: IAM substitutes variables in
    # the values of string conditions, not only in resources.
    iot.create_thing(thingName="lamp-1")
    iot.attach_thing_principal(
        thingName="lamp-1", principal=cert, thingPrincipalType="EXCLUSIVE_THING"
    )
    policy(
        iot,
        "same-name",
        statement(
            "Allow",
            "iot:Connect",
            "*",
            Condition={"StringEquals": {"iot:Connection.Thing.ThingName": "${iot:ClientId}"}},
        ),
    )
    attach(iot, cert, "same-name")
    resource = f"{ARN}:client/c"
    assert check(iot, cert, "CONNECT", resource, clientId="lamp-1")["authDecision"] == "ALLOWED"
    other = check(iot, cert, "CONNECT", resource, clientId="lamp-2")
    assert other["authDecision"] == "IMPLICIT_DENY"
    unresolved = check(iot, cert, "CONNECT", resource)
    assert unresolved["authDecision"] == "IMPLICIT_DENY"
    assert unresolved["missingContextValues"] == ["iot:ClientId"]


def test_unresolved_variable_in_a_negated_condition_does_not_deny(iot: Any, cert: str) -> None:
    policy(
        iot,
        "p",
        statement("Allow", "iot:Connect", "*"),
        statement(
            "Deny",
            "iot:Connect",
            "*",
            Condition={"StringNotLike": {"iot:ClientId": "${iot:Connection.Thing.ThingName}*"}},
        ),
    )
    attach(iot, cert, "p")
    # No thing is attached: the Deny's variable has no value, so the Deny does not apply.
    result = check(iot, cert, "CONNECT", f"{ARN}:client/c", clientId="c")
    assert result["authDecision"] == "ALLOWED"
    assert result["missingContextValues"] == ["iot:Connection.Thing.ThingName"]


def test_certificate_variables(iot: Any, cert: str) -> None:
    policy(
        iot,
        "cn",
        statement("Allow", "iot:Publish", f"{ARN}:topic/${{iot:Certificate.Subject.CommonName}}/*"),
    )
    attach(iot, cert, "cn")
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/device-cn/x")["authDecision"] == "ALLOWED"
    assert check(iot, cert, "PUBLISH", f"{ARN}:topic/other/x")["authDecision"] == "IMPLICIT_DENY"


# --------------------------------------------------------------------------- policy sources


def test_thing_group_policies_apply_to_the_connected_thing(iot: Any, cert: str) -> None:
    policy(iot, "group-p", statement("Allow", "iot:Publish", f"{ARN}:topic/fleet/*"))
    root = iot.create_thing_group(thingGroupName="root")["thingGroupArn"]
    iot.create_thing_group(thingGroupName="leaf", parentGroupName="root")
    iot.attach_policy(policyName="group-p", target=root)
    iot.create_thing(thingName="lamp-1")
    iot.add_thing_to_thing_group(thingGroupName="leaf", thingName="lamp-1")
    iot.attach_thing_principal(thingName="lamp-1", principal=cert)
    through_group = check(iot, cert, "PUBLISH", f"{ARN}:topic/fleet/x", clientId="lamp-1")
    assert through_group["authDecision"] == "ALLOWED"
    assert names(through_group["allowed"]["policies"]) == ["group-p"]
    not_the_thing = check(iot, cert, "PUBLISH", f"{ARN}:topic/fleet/x", clientId="other")
    assert not_the_thing["authDecision"] == "IMPLICIT_DENY"


def test_policy_names_to_add_and_skip(iot: Any, cert: str) -> None:
    policy(iot, "allow", statement("Allow", "iot:Publish", "*"))
    policy(iot, "deny", statement("Deny", "iot:Publish", "*"))
    attach(iot, cert, "deny")
    resource = f"{ARN}:topic/t"
    assert check(iot, cert, "PUBLISH", resource)["authDecision"] == "EXPLICIT_DENY"
    result = check(
        iot, cert, "PUBLISH", resource, policyNamesToAdd=["allow"], policyNamesToSkip=["deny"]
    )
    assert result["authDecision"] == "ALLOWED"
    assert names(result["allowed"]["policies"]) == ["allow"]
    with pytest.raises(ClientError) as exc:
        check(iot, cert, "PUBLISH", resource, policyNamesToAdd=["ghost"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_without_principal_only_added_policies_count(iot: Any) -> None:
    policy(iot, "allow", statement("Allow", "iot:Publish", "*"))
    result = check(iot, None, "PUBLISH", f"{ARN}:topic/t", policyNamesToAdd=["allow"])
    assert result["authDecision"] == "ALLOWED"


def test_cognito_identity_principal(iot: Any) -> None:
    policy(
        iot,
        "own-topic",
        statement("Allow", "iot:Publish", f"{ARN}:topic/${{cognito-identity.amazonaws.com:sub}}"),
    )
    iot.attach_policy(policyName="own-topic", target=COGNITO)
    result = check(iot, COGNITO, "PUBLISH", f"{ARN}:topic/{COGNITO}")
    assert result["authDecision"] == "ALLOWED"


def test_principal_errors(iot: Any) -> None:
    group = iot.create_thing_group(thingGroupName="g")["thingGroupArn"]
    resource = f"{ARN}:topic/t"
    with pytest.raises(ClientError) as exc:
        check(iot, group, "PUBLISH", resource)
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        check(iot, f"{ARN}:cert/{'a' * 64}", "PUBLISH", resource)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_missing_action_type_is_refused(iot: Any, cert: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.test_authorization(principal=cert, authInfos=[{"resources": [f"{ARN}:topic/t"]}])
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "actionType" in exc.value.response["Error"]["Message"]


def test_numeric_null_and_if_exists_conditions(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="lift-1", attributePayload={"attributes": {"floor": "7"}})
    iot.attach_thing_principal(thingName="lift-1", principal=cert)
    policy(
        iot,
        "p",
        statement(
            "Allow",
            "iot:Publish",
            f"{ARN}:topic/high",
            Condition={
                "NumericGreaterThan": {"iot:Connection.Thing.Attributes[floor]": 5},
                "Null": {"iot:Connection.Thing.ThingName": "false"},
            },
        ),
        statement(
            "Allow",
            "iot:Publish",
            f"{ARN}:topic/anyone",
            Condition={"StringEqualsIfExists": {"iot:Connection.Thing.ThingTypeName": "lift"}},
        ),
    )
    attach(iot, cert, "p")
    high = check(iot, cert, "PUBLISH", f"{ARN}:topic/high", clientId="lift-1")
    assert high["authDecision"] == "ALLOWED"
    no_thing = check(iot, cert, "PUBLISH", f"{ARN}:topic/high", clientId="other")
    assert no_thing["authDecision"] == "IMPLICIT_DENY"
    # The thing has no type: ...IfExists lets the statement apply.
    anyone = check(iot, cert, "PUBLISH", f"{ARN}:topic/anyone", clientId="lift-1")
    assert anyone["authDecision"] == "ALLOWED"
