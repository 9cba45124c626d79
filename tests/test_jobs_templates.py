"""Job templates (custom and AWS managed) and jobs created from them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core.tagging import tags_of

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOCUMENT = json.dumps({"operation": "install", "url": "https://example.com/fw.bin"})
MANAGED = (
    "AWS-Download-File",
    "AWS-Install-Application",
    "AWS-Reboot",
    "AWS-Remove-Application",
    "AWS-Restart-Application",
    "AWS-Run-Command",
    "AWS-Start-Application",
    "AWS-Stop-Application",
)


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def managed_arn(name: str, version: str = "1.0") -> str:
    return f"arn:aws:iot:{REGION}::jobtemplate/{name}:{version}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- custom templates


def test_create_describe_list_delete_template(iot: Any, iot_mock: IotMock) -> None:
    created = iot.create_job_template(
        jobTemplateId="fw-update",
        description="Firmware update",
        document=DOCUMENT,
        timeoutConfig={"inProgressTimeoutInMinutes": 15},
        maintenanceWindows=[{"startTime": "cron(0 0 * * ? *)", "durationInMinutes": 60}],
        tags=[{"Key": "team", "Value": "fw"}],
    )
    arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/fw-update"
    assert created["jobTemplateArn"] == arn
    assert created["jobTemplateId"] == "fw-update"
    assert tags_of(iot_mock.backend(), arn) == {"team": "fw"}
    assert listed_tags(iot, arn) == {"team": "fw"}

    described = iot.describe_job_template(jobTemplateId="fw-update")
    assert described["document"] == DOCUMENT
    assert described["description"] == "Firmware update"
    assert described["timeoutConfig"] == {"inProgressTimeoutInMinutes": 15}
    assert described["maintenanceWindows"][0]["durationInMinutes"] == 60
    assert "createdAt" in described

    iot.create_job_template(jobTemplateId="other", description="x", documentSource="s3://b/k")
    listed = iot.list_job_templates()["jobTemplates"]
    assert [t["jobTemplateId"] for t in listed] == ["fw-update", "other"]
    page = iot.list_job_templates(maxResults=1)
    assert [t["jobTemplateId"] for t in page["jobTemplates"]] == ["fw-update"]
    rest = iot.list_job_templates(nextToken=page["nextToken"])
    assert [t["jobTemplateId"] for t in rest["jobTemplates"]] == ["other"]

    iot.delete_job_template(jobTemplateId="fw-update")
    with pytest.raises(ClientError) as exc:
        iot.describe_job_template(jobTemplateId="fw-update")
    assert error_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.delete_job_template(jobTemplateId="fw-update")
    assert error_of(exc) == ("ResourceNotFoundException", 404)
    assert tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)


def test_duplicate_template_is_conflict(iot: Any) -> None:
    iot.create_job_template(jobTemplateId="t", description="d", document=DOCUMENT)
    with pytest.raises(ClientError) as exc:
        iot.create_job_template(jobTemplateId="t", description="d", document=DOCUMENT)
    assert error_of(exc) == ("ConflictException", 409)


def test_template_needs_exactly_one_source(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_job_template(jobTemplateId="t", description="d")
    assert error_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.create_job_template(
            jobTemplateId="t", description="d", document=DOCUMENT, documentSource="s3://b/k"
        )
    assert error_of(exc) == ("InvalidRequestException", 400)


def test_template_from_a_job(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    job_arn = iot.create_job(
        jobId="origin",
        targets=[thing_arn("dev")],
        document=DOCUMENT,
        jobExecutionsRetryConfig={"criteriaList": [{"failureType": "ALL", "numberOfRetries": 3}]},
    )["jobArn"]
    iot.create_job_template(jobTemplateId="copy", description="from job", jobArn=job_arn)
    described = iot.describe_job_template(jobTemplateId="copy")
    assert described["document"] == DOCUMENT
    assert described["jobExecutionsRetryConfig"]["criteriaList"][0]["numberOfRetries"] == 3
    with pytest.raises(ClientError) as exc:
        iot.create_job_template(
            jobTemplateId="x",
            description="d",
            jobArn=f"arn:aws:iot:{REGION}:{ACCOUNT}:job/missing",
        )
    assert error_of(exc) == ("ResourceNotFoundException", 404)


def test_job_from_custom_template_inherits_document_and_config(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    template_arn = iot.create_job_template(
        jobTemplateId="tpl",
        description="d",
        document=DOCUMENT,
        timeoutConfig={"inProgressTimeoutInMinutes": 15},
        abortConfig={
            "criteriaList": [
                {
                    "failureType": "ALL",
                    "action": "CANCEL",
                    "thresholdPercentage": 80.0,
                    "minNumberOfExecutedThings": 5,
                }
            ]
        },
    )["jobTemplateArn"]
    iot.create_job(
        jobId="from-tpl",
        targets=[thing_arn("dev")],
        jobTemplateArn=template_arn,
        timeoutConfig={"inProgressTimeoutInMinutes": 3},
    )
    job = iot.describe_job(jobId="from-tpl")["job"]
    assert job["jobTemplateArn"] == template_arn
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 3}  # request wins
    assert job["abortConfig"]["criteriaList"][0]["thresholdPercentage"] == 80.0
    assert iot.get_job_document(jobId="from-tpl")["document"] == DOCUMENT

    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="params",
            targets=[thing_arn("dev")],
            jobTemplateArn=template_arn,
            documentParameters={"a": "b"},
        )
    assert error_of(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="missing",
            targets=[thing_arn("dev")],
            jobTemplateArn=f"arn:aws:iot:{REGION}:{ACCOUNT}:jobtemplate/none",
        )
    assert error_of(exc) == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- managed templates


def test_list_managed_job_templates(iot: Any) -> None:
    templates = iot.list_managed_job_templates()["managedJobTemplates"]
    assert [t["templateName"] for t in templates] == list(MANAGED)
    reboot = templates[2]
    assert reboot == {
        "templateArn": managed_arn("AWS-Reboot"),
        "templateName": "AWS-Reboot",
        "description": "Reboots the device.",
        "environments": ["LINUX"],
        "templateVersion": "1.0",
    }
    only = iot.list_managed_job_templates(templateName="AWS-Run-Command")["managedJobTemplates"]
    assert [t["templateName"] for t in only] == ["AWS-Run-Command"]
    page = iot.list_managed_job_templates(maxResults=3)
    assert len(page["managedJobTemplates"]) == 3
    rest = iot.list_managed_job_templates(nextToken=page["nextToken"])
    assert rest["managedJobTemplates"][0]["templateName"] == "AWS-Remove-Application"
    with pytest.raises(ClientError) as exc:
        iot.list_managed_job_templates(templateName="AWS-Nothing")
    assert error_of(exc) == ("ResourceNotFoundException", 404)


def test_describe_managed_job_template(iot: Any) -> None:
    described = iot.describe_managed_job_template(templateName="AWS-Download-File")
    assert described["templateArn"] == managed_arn("AWS-Download-File")
    assert described["templateVersion"] == "1.0"
    keys = {p["key"]: p["optional"] for p in described["documentParameters"]}
    assert keys == {
        "downloadUrl": False,
        "filePath": False,
        "runAsUser": True,
        "pathToHandler": True,
    }
    assert "${aws:iot:parameter:downloadUrl}" in described["document"]
    versioned = iot.describe_managed_job_template(
        templateName="AWS-Download-File", templateVersion="1.0"
    )
    assert versioned["document"] == described["document"]
    for name, version in (("AWS-Nothing", None), ("AWS-Reboot", "9.0")):
        with pytest.raises(ClientError) as exc:
            iot.describe_managed_job_template(
                templateName=name, **({"templateVersion": version} if version else {})
            )
        assert error_of(exc) == ("ResourceNotFoundException", 404)


def test_job_from_managed_template_substitutes_document_parameters(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    iot.create_job(
        jobId="install",
        targets=[thing_arn("dev")],
        jobTemplateArn=managed_arn("AWS-Install-Application"),
        documentParameters={"packages": "nginx", "runAsUser": "root"},
    )
    job = iot.describe_job(jobId="install")["job"]
    assert job["documentParameters"] == {"packages": "nginx", "runAsUser": "root"}
    document = json.loads(iot.get_job_document(jobId="install")["document"])
    action = document["steps"][0]["action"]
    assert action["input"]["args"] == ["nginx"]
    assert action["runAsUser"] == "root"
    assert action["input"]["path"] == ""  # optional parameter not given
    raw = iot.get_job_document(jobId="install", beforeSubstitution=True)["document"]
    assert "${aws:iot:parameter:packages}" in raw


@pytest.mark.parametrize(
    "parameters",
    [{}, {"packages": "nginx", "colour": "blue"}, {"packages": "bad;rm -rf"}],
    ids=["missing-required", "unknown", "regex"],
)
def test_managed_template_parameters_are_checked(iot: Any, parameters: dict[str, str]) -> None:
    iot.create_thing(thingName="dev")
    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="bad",
            targets=[thing_arn("dev")],
            jobTemplateArn=managed_arn("AWS-Install-Application"),
            documentParameters=parameters,
        )
    assert error_of(exc) == ("InvalidRequestException", 400)


def test_document_parameters_need_a_managed_template(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    with pytest.raises(ClientError) as exc:
        iot.create_job(
            jobId="bad",
            targets=[thing_arn("dev")],
            document=DOCUMENT,
            documentParameters={"packages": "nginx"},
        )
    assert error_of(exc) == ("InvalidRequestException", 400)
