"""iotmock's answers against the JSON AWS really returned in the AWS CLI's example files
(issue 10, item 4): each example that can be replayed (run as is, or after creating what
it describes, under the example's names) is run through boto3, and the key paths of the
two outputs are compared. AWS's output wins unless the model contradicts it; the known
differences are listed below with the reason, so a new one fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from awscli_examples import Example, examples, examples_dir, replay
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from iotmock import IotMock

pytestmark = pytest.mark.skipif(examples_dir() is None, reason="awscli is not installed")

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/example-role"
DOC = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:UpdateCertificate", "Resource": "*"}],
    }
)
BEHAVIORS = [
    {
        "name": "CellularBandwidth",
        "metric": "aws:message-byte-size",
        "criteria": {
            "comparisonOperator": "greater-than",
            "value": {"count": 128},
            "consecutiveDatapointsToAlarm": 1,
            "consecutiveDatapointsToClear": 1,
        },
    },
    {
        "name": "Authorization",
        "metric": "aws:num-authorization-failures",
        "criteria": {
            "comparisonOperator": "greater-than",
            "value": {"count": 10},
            "durationSeconds": 300,
            "consecutiveDatapointsToAlarm": 1,
            "consecutiveDatapointsToClear": 1,
        },
    },
]

Clients = dict[str, Any]
Setup = Callable[[Clients], dict[str, Any]]


def _light_bulbs(c: Clients) -> dict[str, Any]:
    iot = c["iot"]
    iot.create_thing_type(
        thingTypeName="LightBulb",
        thingTypeProperties={
            "thingTypeDescription": "light bulb type",
            "searchableAttributes": ["model", "wattage"],
        },
    )
    iot.create_thing(
        thingName="MyLightBulb",
        thingTypeName="LightBulb",
        attributePayload={"attributes": {"model": "123", "wattage": "75"}},
    )
    return {}


def _groups(c: Clients) -> dict[str, Any]:
    c["iot"].create_thing_group(thingGroupName="LightBulbs")
    c["iot"].create_thing_group(thingGroupName="HalogenBulbs", parentGroupName="LightBulbs")
    return {}


def _billing(c: Clients) -> dict[str, Any]:
    c["iot"].create_billing_group(billingGroupName="GroupOne")
    return {}


def _job(c: Clients, job_id: str = "example-job-01", thing: str = "MyRaspberryPi") -> None:
    c["iot"].create_thing(thingName=thing)
    c["iot"].create_job(
        jobId=job_id,
        targets=[f"arn:aws:iot:us-east-1:{ACCOUNT}:thing/{thing}"],
        document=json.dumps({"operation": "customJob"}),
        description="example job test",
    )


def _example_job(c: Clients) -> dict[str, Any]:
    _job(c)
    return {}


def _sample_job(c: Clients) -> dict[str, Any]:
    _job(c, "SampleJob", "MotionSensor1")
    c["iot"].create_job(
        jobId="timed",
        targets=[f"arn:aws:iot:us-east-1:{ACCOUNT}:thing/MotionSensor1"],
        document="{}",
        timeoutConfig={"inProgressTimeoutInMinutes": 10},
    )
    return {}


def _policy(c: Clients) -> dict[str, Any]:
    c["iot"].create_policy(policyName="UpdateDeviceCertPolicy", policyDocument=DOC)
    return {}


def _role_alias(c: Clients) -> dict[str, Any]:
    c["iot"].create_role_alias(roleAlias="LightBulbRole", roleArn=ROLE)
    return {}


def _authorizer(c: Clients) -> dict[str, Any]:
    key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    c["iot"].create_authorizer(
        authorizerName="CustomAuthorizer",
        authorizerFunctionArn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:CustomAuthorizer",
        tokenKeyName="MyAuthToken",
        tokenSigningPublicKeys={"FIRST_KEY": key},
        status="ACTIVE",
    )
    return {}


def _dimension(c: Clients) -> dict[str, Any]:
    c["iot"].create_dimension(
        name="TopicFilterForAuthMessages",
        type="TOPIC_FILTER",
        stringValues=["device/+/auth"],
        clientRequestToken="token",
    )
    return {}


def _security_profile(c: Clients) -> dict[str, Any]:
    c["iot"].create_security_profile(
        securityProfileName="PossibleIssue",
        securityProfileDescription="check",
        behaviors=BEHAVIORS,
    )
    return {}


def _stream(c: Clients) -> dict[str, Any]:
    c["iot"].create_stream(
        streamId="stream12345",
        description="This stream is used for Amazon FreeRTOS OTA Update 12345.",
        files=[{"fileId": 123, "s3Location": {"bucket": "codesign-ota-bucket", "key": "k"}}],
        roleArn=ROLE,
    )
    return {}


def _mitigation_action(c: Clients) -> dict[str, Any]:
    c["iot"].create_thing_group(thingGroupName="QuarantineGroup1")
    c["iot"].create_mitigation_action(
        actionName="AddThingsToQuarantineGroupAction",
        roleArn=ROLE,
        actionParams={
            "addThingsToThingGroupParams": {
                "thingGroupNames": ["QuarantineGroup1"],
                "overrideDynamicGroups": True,
            }
        },
    )
    return {}


def _domain(c: Clients) -> dict[str, Any]:
    c["iot"].create_domain_configuration(
        domainConfigurationName="additionalDataDomain", serviceType="DATA"
    )
    return {}


def _destination(c: Clients, *, enabled: bool) -> str:
    created = c["iot"].create_topic_rule_destination(
        destinationConfiguration={
            "httpUrlConfiguration": {"confirmationUrl": "https://example.com"}
        }
    )
    arn: str = created["topicRuleDestination"]["arn"]
    token = c["mock"].rules.destination_token(arn)
    c["iot"].confirm_topic_rule_destination(confirmationToken=token)
    if not enabled:  # the get example shows a DISABLED destination
        c["iot"].update_topic_rule_destination(arn=arn, status="DISABLED")
    return arn


def _disabled_destination(c: Clients) -> dict[str, Any]:
    return {"arn": _destination(c, enabled=False)}


def _enabled_destination(c: Clients) -> dict[str, Any]:
    _destination(c, enabled=True)
    return {}


def _audit_configuration(c: Clients) -> dict[str, Any]:
    c["iot"].update_account_audit_configuration(
        roleArn=ROLE,
        auditNotificationTargetConfigurations={
            "SNS": {
                "targetArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:audit",
                "roleArn": ROLE,
                "enabled": True,
            }
        },
        auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}},
    )
    return {}


def _logging(c: Clients) -> dict[str, Any]:
    c["iot"].set_logging_options(loggingOptionsPayload={"roleArn": ROLE, "logLevel": "ERROR"})
    return {}


def _indexed(c: Clients) -> dict[str, Any]:
    c["iot"].update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "thingConnectivityIndexingMode": "STATUS",
        }
    )
    return _light_bulbs(c)


def _audit_checks(c: Clients) -> dict[str, Any]:
    c["iot"].update_account_audit_configuration(
        roleArn=ROLE,
        auditCheckConfigurations={
            name: {"enabled": True}
            for name in ("CA_CERTIFICATE_EXPIRING_CHECK", "DEVICE_CERTIFICATE_EXPIRING_CHECK")
        },
    )
    return {}


def _daily_audit(c: Clients) -> dict[str, Any]:
    _audit_checks(c)
    c["iot"].create_scheduled_audit(
        scheduledAuditName="AWSIoTDeviceDefenderDailyAudit",
        frequency="DAILY",
        targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK", "DEVICE_CERTIFICATE_EXPIRING_CHECK"],
    )
    return {}


def _audits(c: Clients) -> dict[str, Any]:
    _daily_audit(c)
    c["iot"].create_scheduled_audit(
        scheduledAuditName="AWSDeviceDefenderWeeklyAudit",
        frequency="WEEKLY",
        dayOfWeek="SUN",
        targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK"],
    )
    return {}


def _indexed_in_group(c: Clients) -> dict[str, Any]:
    _indexed(c)
    c["iot"].create_thing_group(thingGroupName="LightBulbs")
    c["iot"].add_thing_to_thing_group(thingGroupName="LightBulbs", thingName="MyLightBulb")
    return {}


def _certificate(c: Clients) -> str:
    arn: str = c["iot"].create_keys_and_certificate(setAsActive=True)["certificateArn"]
    return arn


def _thing_principal(c: Clients) -> dict[str, Any]:
    c["iot"].create_thing(thingName="MyRaspberryPi")
    c["iot"].attach_thing_principal(thingName="MyRaspberryPi", principal=_certificate(c))
    return {}


def _policy_targets(c: Clients) -> dict[str, Any]:
    _policy(c)
    c["iot"].attach_policy(policyName="UpdateDeviceCertPolicy", target=_certificate(c))
    return {}


def _group_members(c: Clients) -> dict[str, Any]:
    _light_bulbs(c)
    _groups(c)
    c["iot"].add_thing_to_thing_group(thingGroupName="LightBulbs", thingName="MyLightBulb")
    return {}


def _billing_members(c: Clients) -> dict[str, Any]:
    _billing(c)
    c["iot"].create_thing(thingName="MyLightBulb")
    c["iot"].add_thing_to_billing_group(billingGroupName="GroupOne", thingName="MyLightBulb")
    return {}


def _policy_versions(c: Clients) -> dict[str, Any]:
    c["iot"].create_policy(policyName="LightBulbPolicy", policyDocument=DOC)
    c["iot"].create_policy_version(policyName="LightBulbPolicy", policyDocument=DOC)
    return {}


def _group_policy(c: Clients) -> dict[str, Any]:
    _groups(c)
    _policy(c)
    arn = c["iot"].describe_thing_group(thingGroupName="LightBulbs")["thingGroupArn"]
    c["iot"].attach_policy(policyName="UpdateDeviceCertPolicy", target=arn)
    return {"target": arn}


def _tagged_group(c: Clients) -> dict[str, Any]:
    arn = c["iot"].create_thing_group(
        thingGroupName="LightBulbs", tags=[{"Key": "Assembly", "Value": "Fact1NW"}]
    )["thingGroupArn"]
    return {"resourceArn": arn}


def _unregistered_profile(c: Clients) -> dict[str, Any]:
    target = f"arn:aws:iot:us-east-1:{ACCOUNT}:all/unregistered-things"
    for name in ("Testprofile", "PossibleIssue"):
        c["iot"].create_security_profile(securityProfileName=name, behaviors=BEHAVIORS)
        c["iot"].attach_security_profile(securityProfileName=name, securityProfileTargetArn=target)
    return {}


def _unregistered_target(c: Clients) -> dict[str, Any]:
    _unregistered_profile(c)
    return {"securityProfileTargetArn": f"arn:aws:iot:us-east-1:{ACCOUNT}:all/unregistered-things"}


def _nothing(c: Clients) -> dict[str, Any]:
    return {}


# Example -> what to create first (under the example's names); the answer's overrides
# replace ids AWS generated (an ARN cannot be chosen).
SETUPS: dict[str, Setup] = {
    "iot/create-billing-group#1": _nothing,
    "iot/create-custom-metric#1": _nothing,
    "iot/create-dimension#1": _nothing,
    "iot/create-domain-configuration#1": _nothing,
    "iot/create-role-alias#1": _nothing,
    "iot/create-security-profile#1": _nothing,
    "iot/create-thing#1": _nothing,
    "iot/describe-endpoint#1": _nothing,
    "iot/describe-endpoint#2": _nothing,
    "iot/describe-event-configurations#1": _nothing,
    "iot/get-indexing-configuration#1": _nothing,
    "iot/get-registration-code#1": _nothing,
    "iot/validate-security-profile-behaviors#1": _nothing,
    "iot/validate-security-profile-behaviors#2": _nothing,
    "iot/describe-account-audit-configuration#1": _audit_configuration,
    "iot/get-logging-options#1": _logging,
    "iot/describe-thing#1": _light_bulbs,
    "iot/describe-thing-type#1": _light_bulbs,
    "iot/list-things#1": _light_bulbs,
    "iot/list-thing-types#1": _light_bulbs,
    "iot/describe-thing-group#1": _groups,
    "iot/list-thing-groups#1": _groups,
    "iot/describe-billing-group#1": _billing,
    "iot/list-billing-groups#1": _billing,
    "iot/describe-job#1": _example_job,
    "iot/describe-job-execution#1": _example_job,
    "iot/get-job-document#1": _example_job,
    "iot/list-jobs#1": _example_job,
    "iot/list-job-executions-for-thing#1": _example_job,
    "iot-jobs-data/describe-job-execution#1": _sample_job,
    "iot-jobs-data/get-pending-job-executions#1": _sample_job,
    "iot/get-policy#1": _policy,
    "iot/list-policies#1": _policy,
    "iot/describe-role-alias#1": _role_alias,
    "iot/describe-authorizer#1": _authorizer,
    "iot/list-authorizers#1": _authorizer,
    "iot/describe-dimension#1": _dimension,
    "iot/list-dimensions#1": _dimension,
    "iot/describe-security-profile#1": _security_profile,
    "iot/list-security-profiles#1": _security_profile,
    "iot/describe-stream#1": _stream,
    "iot/list-streams#1": _stream,
    "iot/describe-mitigation-action#1": _mitigation_action,
    "iot/list-mitigation-actions#1": _mitigation_action,
    "iot/describe-domain-configuration#1": _domain,
    "iot/create-dynamic-thing-group#1": _indexed,
    "iot/describe-index#1": _indexed,
    "iot/search-index#1": _indexed_in_group,
    "iot/get-statistics#1": _indexed,
    "iot/create-scheduled-audit#1": _audit_checks,
    "iot/describe-scheduled-audit#1": _daily_audit,
    "iot/list-scheduled-audits#1": _audits,
    "iot/list-thing-principals#1": _thing_principal,
    "iot/list-targets-for-policy#1": _policy_targets,
    "iot/list-thing-groups-for-thing#1": _group_members,
    "iot/list-things-in-thing-group#1": _group_members,
    "iot/list-things-in-billing-group#1": _billing_members,
    "iot/list-policy-versions#1": _policy_versions,
    "iot/list-attached-policies#1": _group_policy,
    "iot/list-tags-for-resource#1": _tagged_group,
    "iot/list-targets-for-security-profile#1": _unregistered_profile,
    "iot/list-security-profiles-for-target#1": _unregistered_target,
    "iot/get-topic-rule-destination#1": _disabled_destination,
    "iot/list-topic-rule-destinations#1": _enabled_destination,
}

# Why iotmock keeps a key AWS's (older) example output lacks: the model added the member
# after the example was recorded, and AWS returns it today.
NEWER_MEMBER = "member added to the model after the example was recorded"

# Key paths that differ from AWS's example output, and why iotmock keeps them
# (docs/validation.md, "AWS CLI examples").
KNOWN: dict[str, dict[str, set[str]]] = {
    # NEWER_MEMBER (2020 example; protocol, authentication and TLS came later)
    "iot/describe-domain-configuration#1": {
        "extra": {
            "applicationProtocol",
            "authenticationType",
            "tlsConfig",
            "tlsConfig.securityPolicy",
        },
    },
    "iot/describe-authorizer#1": {  # NEWER_MEMBER
        "extra": {
            "authorizerDescription.enableCachingForHttp",
            "authorizerDescription.signingDisabled",
        },
    },
    "iot/describe-job#1": {"extra": {"job.isConcurrent"}},  # NEWER_MEMBER
    "iot/list-jobs#1": {"extra": {"jobs[].isConcurrent"}},  # NEWER_MEMBER
    "iot/list-job-executions-for-thing#1": {
        "extra": {"executionSummaries[].jobExecutionSummary.retryAttempt"},  # NEWER_MEMBER
    },
    # NEWER_MEMBER (2019 example; named-shadow and Device Defender indexing came later)
    "iot/get-indexing-configuration#1": {
        "extra": {
            "thingIndexingConfiguration.deviceDefenderIndexingMode",
            "thingIndexingConfiguration.namedShadowIndexingMode",
        },
    },
    "iot/get-topic-rule-destination#1": {  # NEWER_MEMBER
        "extra": {"topicRuleDestination.createdAt", "topicRuleDestination.lastUpdatedAt"},
    },
    "iot/list-topic-rule-destinations#1": {  # NEWER_MEMBER
        "extra": {
            "destinationSummaries[].createdAt",
            "destinationSummaries[].lastUpdatedAt",
        },
    },
    "iot-jobs-data/describe-job-execution#1": {
        # The example shows a QUEUED execution with a countdown, queued after its last
        # update: inconsistent; the timer runs only IN_PROGRESS (docs/jobs.md).
        "missing": {"execution.approximateSecondsBeforeTimedOut"},
        # includeJobDocument defaults to true in the model; statusDetails is {} on both
        # services (issue 10), where the example omits it.
        "extra": {"execution.jobDocument", "execution.statusDetails"},
    },
}


def _replayable() -> list[Example]:
    found = [
        example
        for service in ("iot", "iot-data", "iot-jobs-data")
        for example in examples(service)
        if str(example) in SETUPS
    ]
    return found


@pytest.mark.parametrize("example", _replayable(), ids=str)
def test_output_keys_match_aws_example(example: Example, iot_mock: IotMock) -> None:
    clients: Clients = {
        service: boto3.client(service, region_name="us-east-1")
        for service in ("iot", "iot-data", "iot-jobs-data")
    }
    clients["mock"] = iot_mock
    overrides = SETUPS[str(example)](clients)
    aws, mine = replay(clients[example.service], example, **overrides)
    known = KNOWN.get(str(example), {})
    assert sorted(aws - mine) == sorted(known.get("missing", set())), "keys AWS returns"
    assert sorted(mine - aws) == sorted(known.get("extra", set())), "keys AWS does not return"


def test_every_listed_example_exists() -> None:
    assert {str(e) for e in _replayable()} == set(SETUPS)
