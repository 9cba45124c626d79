"""Bulk registration tasks: input through the mock API, statuses, reports, stop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock
from iotmock.identity.crypto import make_csr, new_ec_key
from iotmock.registry.records import registry_of

ROLE = "arn:aws:iam::123456789012:role/provisioning"

TEMPLATE = json.dumps(
    {
        "Parameters": {
            "ThingName": {"Type": "String"},
            "Color": {"Type": "String", "Default": "white"},
            "Group": {"Type": "String", "Default": "fleet"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Fn::Join": ["-", ["dev", {"Ref": "ThingName"}]]},
                    "AttributePayload": {"color": {"Ref": "Color"}},
                    "ThingGroups": [{"Ref": "Group"}],
                    "BillingGroup": "bills",
                },
            }
        },
    }
)


def start(iot: Any, template: str = TEMPLATE, key: str = "things.json") -> str:
    task_id: str = iot.start_thing_registration_task(
        templateBody=template, inputFileBucket="bucket", inputFileKey=key, roleArn=ROLE
    )["taskId"]
    return task_id


@pytest.fixture
def groups(iot: Any) -> None:
    iot.create_thing_group(thingGroupName="fleet")
    iot.create_billing_group(billingGroupName="bills")


def test_task_provisions_things_from_mock_input(iot: Any, iot_mock: IotMock, groups: None) -> None:
    iot_mock.registration.put_input(
        "bucket",
        "things.json",
        [{"ThingName": "1", "Color": "red"}, {"ThingName": "2"}, '{"Color": "blue"}'],
    )
    task_id = start(iot)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Completed"
    assert task["successCount"] == 2
    assert task["failureCount"] == 1
    assert task["percentageProgress"] == 100
    assert task["templateBody"] == TEMPLATE
    assert (task["inputFileBucket"], task["inputFileKey"], task["roleArn"]) == (
        "bucket",
        "things.json",
        ROLE,
    )
    assert iot.describe_thing(thingName="dev-1")["attributes"] == {"color": "red"}
    assert iot.describe_thing(thingName="dev-2")["attributes"] == {"color": "white"}
    assert iot.describe_thing(thingName="dev-2")["billingGroupName"] == "bills"
    assert iot.list_things_in_thing_group(thingGroupName="fleet")["things"] == ["dev-1", "dev-2"]
    results = iot_mock.registration.report(task_id, "RESULTS")
    assert results[0] == {
        "referenceId": "1",
        "response": {"ResourceArns": {"thing": "arn:aws:iot:us-east-1:123456789012:thing/dev-1"}},
    }
    errors = iot_mock.registration.report(task_id, "ERRORS")
    assert [e["referenceId"] for e in errors] == ["3"]
    assert "ThingName" in errors[0]["errorMessage"]
    links = iot.list_thing_registration_task_reports(taskId=task_id, reportType="ERRORS")
    assert links["reportType"] == "ERRORS"
    assert len(links["resourceLinks"]) == 1
    assert task_id in links["resourceLinks"][0]


def test_task_without_input_completes_with_zero_things(iot: Any) -> None:
    task_id = start(iot, key="nothing-here.json")
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Completed"
    assert (task["successCount"], task["failureCount"]) == (0, 0)
    assert "No input found" in task["message"]
    reports = iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")
    assert reports["resourceLinks"] == []
    assert iot.list_things()["things"] == []


def test_certificate_and_policy_resources(iot: Any, iot_mock: IotMock) -> None:
    backend = iot_mock.backend()
    certificate = iot.create_keys_and_certificate(setAsActive=True)
    cert_arn, cert_id = certificate["certificateArn"], certificate["certificateId"]
    policy_arn = iot.create_policy(
        policyName="p",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
            }
        ),
    )["policyArn"]
    template = json.dumps(
        {
            "Parameters": {"ThingName": {"Type": "String"}, "CertId": {"Type": "String"}},
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {"ThingName": {"Ref": "ThingName"}},
                },
                "certificate": {
                    "Type": "AWS::IoT::Certificate",
                    "Properties": {"CertificateId": {"Ref": "CertId"}},
                },
                "policy": {"Type": "AWS::IoT::Policy", "Properties": {"PolicyName": "p"}},
            },
        }
    )
    iot_mock.registration.put_input(
        "bucket",
        "things.json",
        [
            {"ThingName": "a", "CertId": cert_id},
            {"ThingName": "b", "CertId": "e" * 64},  # no such certificate
        ],
    )
    task_id = start(iot, template)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert (task["successCount"], task["failureCount"]) == (1, 1)
    assert iot.list_thing_principals(thingName="a")["principals"] == [cert_arn]
    attached = iot.list_attached_policies(target=cert_arn)["policies"]
    assert attached == [{"policyName": "p", "policyArn": policy_arn}]
    assert iot.list_targets_for_policy(policyName="p")["targets"] == [cert_arn]
    arns = iot_mock.registration.report(task_id)[0]["response"]["ResourceArns"]
    assert arns == {
        "thing": backend.arn("thing/a"),
        "certificate": cert_arn,
        "policy": policy_arn,
    }
    error = iot_mock.registration.report(task_id, "ERRORS")[0]
    assert error["errorCode"] == "ResourceNotFoundException"
    assert "b" not in registry_of(backend).things


def test_override_settings_for_existing_things(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev-1", attributePayload={"attributes": {"old": "1"}})
    template = json.loads(TEMPLATE)
    template["Resources"]["thing"]["Properties"].pop("ThingGroups")
    template["Resources"]["thing"]["Properties"].pop("BillingGroup")
    template["Resources"]["thing"]["OverrideSettings"] = {"AttributePayload": "MERGE"}
    iot_mock.registration.put_input("bucket", "things.json", [{"ThingName": "1"}])
    start(iot, json.dumps(template))
    described = iot.describe_thing(thingName="dev-1")
    assert described["attributes"] == {"old": "1", "color": "white"}
    assert described["version"] == 2
    template["Resources"]["thing"]["OverrideSettings"] = {"AttributePayload": "FAIL"}
    task_id = start(iot, json.dumps(template))
    assert iot.describe_thing_registration_task(taskId=task_id)["failureCount"] == 1


def test_hold_stop_and_run(iot: Any, iot_mock: IotMock, groups: None) -> None:
    iot_mock.registration.put_input("bucket", "things.json", [{"ThingName": "1"}])
    iot_mock.registration.hold()
    stopped = start(iot)
    pending = start(iot)
    assert iot.describe_thing_registration_task(taskId=stopped)["status"] == "InProgress"
    iot.stop_thing_registration_task(taskId=stopped)
    assert iot.describe_thing_registration_task(taskId=stopped)["status"] == "Cancelled"
    assert iot.list_thing_registration_tasks(status="InProgress")["taskIds"] == [pending]
    assert iot_mock.registration.run() == [pending]
    assert iot.describe_thing_registration_task(taskId=pending)["status"] == "Completed"
    assert iot.list_things()["things"][0]["thingName"] == "dev-1"
    with pytest.raises(ClientError) as exc:
        iot.stop_thing_registration_task(taskId=pending)
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert iot.list_thing_registration_tasks()["taskIds"] == [stopped, pending]
    assert iot.list_thing_registration_tasks(status="Cancelled")["taskIds"] == [stopped]


def test_unknown_task_and_bad_template(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.describe_thing_registration_task(taskId="nope")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.stop_thing_registration_task(taskId="nope")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_thing_registration_task_reports(taskId="nope", reportType="RESULTS")
    assert code_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        start(iot, "{not json")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert iot.list_thing_registration_tasks()["taskIds"] == []


def test_list_tasks_pages(iot: Any) -> None:
    ids = [start(iot, key=f"k{i}") for i in range(3)]
    first = iot.list_thing_registration_tasks(maxResults=2)
    rest = iot.list_thing_registration_tasks(maxResults=2, nextToken=first["nextToken"])
    assert first["taskIds"] + rest["taskIds"] == ids
    assert "nextToken" not in rest


def test_refused_line_leaves_no_thing(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="left", parentGroupName="root")
    iot.create_thing_group(thingGroupName="right", parentGroupName="root")
    template = json.dumps(
        {
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {"ThingName": "x", "ThingGroups": ["left", "right"]},
                }
            }
        }
    )
    iot_mock.registration.put_input("bucket", "things.json", [{}])
    task_id = start(iot, template)
    error = iot_mock.registration.report(task_id, "ERRORS")[0]
    assert error["errorCode"] == "InvalidRequestException"
    assert "only one group of a hierarchy" in error["errorMessage"]
    assert iot.list_things()["things"] == []


def test_template_intrinsics(iot: Any, iot_mock: IotMock) -> None:
    template = json.dumps(
        {
            "Parameters": {"Serial": {"Type": "String"}, "Tags": {"Type": "String"}},
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {
                        "ThingName": {"Fn::Sub": "sensor-${Serial}"},
                        "AttributePayload": {
                            "first": {"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Tags"}]}]},
                            "last": {"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Tags"}]}]},
                        },
                    },
                }
            },
        }
    )
    iot_mock.registration.put_input(
        "bucket", "things.json", [{"Serial": "42", "Tags": "x,y"}, {"Serial": "43", "Tags": "x"}]
    )
    task_id = start(iot, template)
    assert iot.describe_thing(thingName="sensor-42")["attributes"] == {"first": "x", "last": "y"}
    error = iot_mock.registration.report(task_id, "ERRORS")[0]
    assert error["referenceId"] == "2"
    assert "Fn::Select" in error["errorMessage"]


def test_replace_overrides_type_and_groups(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing_group(thingGroupName="old")
    iot.create_thing_group(thingGroupName="new")
    iot.create_thing(thingName="x")
    iot.add_thing_to_thing_group(thingGroupName="old", thingName="x")
    template = json.dumps(
        {
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {
                        "ThingName": "x",
                        "ThingTypeName": "lamp",
                        "ThingGroups": ["new"],
                    },
                    "OverrideSettings": {"ThingTypeName": "REPLACE", "ThingGroups": "REPLACE"},
                }
            }
        }
    )
    iot_mock.registration.put_input("bucket", "things.json", [{}])
    start(iot, template)
    described = iot.describe_thing(thingName="x")
    assert described["thingTypeName"] == "lamp"
    assert described["version"] == 2
    groups = iot.list_thing_groups_for_thing(thingName="x")["thingGroups"]
    assert [g["groupName"] for g in groups] == ["new"]
    assert iot.list_things(thingTypeName="lamp")["things"][0]["thingName"] == "x"


POLICY_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
}

DEVICE_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "CSR": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
            },
            "devicePolicy": {
                "Type": "AWS::IoT::Policy",
                "Properties": {"PolicyDocument": POLICY_DOCUMENT},
            },
        },
    }
)


def test_a_line_with_a_csr_gets_a_certificate_and_an_inline_policy(
    iot: Any, iot_mock: IotMock
) -> None:
    key = new_ec_key()
    iot_mock.registration.put_input(
        "bucket", "things.json", [{"ThingName": "a", "CSR": make_csr(key, "a")}]
    )

    task_id = start(iot, DEVICE_TEMPLATE)

    task = iot.describe_thing_registration_task(taskId=task_id)
    assert (task["successCount"], task["failureCount"]) == (1, 0)
    arns = iot_mock.registration.report(task_id)[0]["response"]["ResourceArns"]
    assert set(arns) == {"thing", "certificate", "devicePolicy"}
    cert_id = arns["certificate"].rsplit("/", 1)[1]
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["status"] == "ACTIVE"
    assert iot.list_thing_principals(thingName="a")["principals"] == [arns["certificate"]]
    policies = iot.list_attached_policies(target=arns["certificate"])["policies"]
    assert [p["policyArn"] for p in policies] == [arns["devicePolicy"]]
    policy = iot.get_policy(policyName=policies[0]["policyName"])
    assert json.loads(policy["policyDocument"]) == POLICY_DOCUMENT


def test_each_line_is_all_or_nothing(iot: Any, iot_mock: IotMock) -> None:
    iot_mock.registration.put_input(
        "bucket",
        "things.json",
        [
            {"ThingName": "good", "CSR": make_csr(new_ec_key())},
            {"ThingName": "bad", "CSR": "not a CSR"},
        ],
    )

    task_id = start(iot, DEVICE_TEMPLATE)

    error = iot_mock.registration.report(task_id, "ERRORS")[0]
    assert (error["referenceId"], error["errorCode"]) == ("2", "InvalidRequestException")
    assert [t["thingName"] for t in iot.list_things()["things"]] == ["good"]
    assert len(iot.list_certificates()["certificates"]) == 1
    # The two lines share the inline policy: one policy, created once.
    assert len(iot.list_policies()["policies"]) == 1


def test_conditions_and_mappings(iot: Any, iot_mock: IotMock) -> None:
    iot.create_thing_group(thingGroupName="lab")
    template = json.dumps(
        {
            "Parameters": {"ThingName": {"Type": "String"}, "Site": {"Type": "String"}},
            "Mappings": {"Sites": {"lab": {"Floor": "3"}, "plant": {"Floor": "1"}}},
            "Conditions": {"InLab": {"Fn::Equals": [{"Ref": "Site"}, "lab"]}},
            "Resources": {
                "thing": {
                    "Type": "AWS::IoT::Thing",
                    "Properties": {
                        "ThingName": {"Ref": "ThingName"},
                        "AttributePayload": {
                            "floor": {"Fn::FindInMap": ["Sites", {"Ref": "Site"}, "Floor"]}
                        },
                        "ThingGroups": {"Fn::If": ["InLab", ["lab"], []]},
                    },
                }
            },
        }
    )
    iot_mock.registration.put_input(
        "bucket",
        "things.json",
        [{"ThingName": "x", "Site": "lab"}, {"ThingName": "y", "Site": "plant"}],
    )

    start(iot, template)

    assert iot.describe_thing(thingName="x")["attributes"] == {"floor": "3"}
    assert iot.describe_thing(thingName="y")["attributes"] == {"floor": "1"}
    assert iot.list_things_in_thing_group(thingGroupName="lab")["things"] == ["x"]


def test_a_provisioned_thing_joins_a_continuous_job_of_its_group(
    iot: Any, iot_mock: IotMock, groups: None
) -> None:
    iot.create_job(
        jobId="firmware",
        targets=[iot.describe_thing_group(thingGroupName="fleet")["thingGroupArn"]],
        document=json.dumps({"operation": "update"}),
        targetSelection="CONTINUOUS",
    )
    iot_mock.registration.put_input("bucket", "things.json", [{"ThingName": "1"}])

    start(iot)

    summaries = iot.list_job_executions_for_thing(thingName="dev-1")["executionSummaries"]
    assert [(s["jobId"], s["jobExecutionSummary"]["status"]) for s in summaries] == [
        ("firmware", "QUEUED")
    ]
