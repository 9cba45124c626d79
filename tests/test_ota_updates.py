"""OTA updates: creation of the AFR_OTA job, status, listing, deletion."""

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
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ota"
FILES: list[dict[str, Any]] = [
    {
        "fileName": "firmware.bin",
        "fileVersion": "2",
        "fileLocation": {"stream": {"streamId": "fw-stream", "fileId": 0}},
        "codeSigning": {
            "customCodeSigning": {
                "signature": {"inlineDocument": b"\x01\x02\x03"},
                "certificateChain": {"certificateName": "/certs/signer.pem"},
                "hashAlgorithm": "SHA256",
                "signatureAlgorithm": "ECDSA",
            }
        },
        "attributes": {"board": "esp32"},
    }
]


def thing_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/{name}"


def create(iot: Any, ota_id: str = "ota-1", **extra: Any) -> dict[str, Any]:
    iot.create_thing(thingName="dev")
    answer: dict[str, Any] = iot.create_ota_update(
        otaUpdateId=ota_id,
        targets=[thing_arn("dev")],
        files=FILES,
        roleArn=ROLE,
        **extra,
    )
    return answer


def test_create_ota_update_creates_its_job(iot: Any, jobs_data: Any) -> None:
    answer = create(
        iot,
        description="v2",
        protocols=["MQTT", "HTTP"],
        awsJobTimeoutConfig={"inProgressTimeoutInMinutes": 60},
        additionalParameters={"key": "value"},
    )
    assert answer["otaUpdateId"] == "ota-1"
    assert answer["otaUpdateArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:otaupdate/ota-1"
    assert answer["otaUpdateStatus"] == "CREATE_PENDING"
    assert answer["awsIotJobId"] == "AFR_OTA-ota-1"
    assert answer["awsIotJobArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:job/AFR_OTA-ota-1"

    job = iot.describe_job(jobId="AFR_OTA-ota-1")["job"]
    assert job["status"] == "IN_PROGRESS"
    assert job["targets"] == [thing_arn("dev")]
    assert job["timeoutConfig"] == {"inProgressTimeoutInMinutes": 60}
    document = json.loads(iot.get_job_document(jobId="AFR_OTA-ota-1")["document"])
    assert document == {
        "afr_ota": {
            "protocols": ["MQTT", "HTTP"],
            "streamname": "fw-stream",
            "files": [
                {
                    "filepath": "firmware.bin",
                    "fileid": 0,
                    "fileversion": "2",
                    "certfile": "/certs/signer.pem",
                    "attr": {"board": "esp32"},
                    "sig-sha256-ecdsa": "AQID",
                }
            ],
        }
    }
    # The device sees it as any job.
    execution = jobs_data.start_next_pending_job_execution(thingName="dev")["execution"]
    assert execution["jobId"] == "AFR_OTA-ota-1"


def test_get_ota_update_reports_create_complete(iot: Any) -> None:
    create(iot, description="v2", additionalParameters={"key": "value"})
    info = iot.get_ota_update(otaUpdateId="ota-1")["otaUpdateInfo"]
    assert info["otaUpdateStatus"] == "CREATE_COMPLETE"
    assert info["otaUpdateId"] == "ota-1"
    assert info["description"] == "v2"
    assert info["protocols"] == ["MQTT"]
    assert info["targetSelection"] == "SNAPSHOT"
    assert info["targets"] == [thing_arn("dev")]
    assert info["awsIotJobId"] == "AFR_OTA-ota-1"
    assert info["additionalParameters"] == {"key": "value"}
    signing = info["otaUpdateFiles"][0]["codeSigning"]["customCodeSigning"]
    assert signing["signature"]["inlineDocument"] == b"\x01\x02\x03"
    assert "creationDate" in info and "lastModifiedDate" in info
    with pytest.raises(ClientError) as exc:
        iot.get_ota_update(otaUpdateId="nope")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_duplicate_ota_update_is_refused(iot: Any) -> None:
    create(iot)
    with pytest.raises(ClientError) as exc:
        iot.create_ota_update(
            otaUpdateId="ota-1", targets=[thing_arn("dev")], files=FILES, roleArn=ROLE
        )
    assert exc.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_ota_update_with_bad_targets_or_files_creates_nothing(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_ota_update(
            otaUpdateId="bad", targets=[thing_arn("ghost")], files=FILES, roleArn=ROLE
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    iot.create_thing(thingName="dev")
    with pytest.raises(ClientError) as exc:
        iot.create_ota_update(
            otaUpdateId="bad",
            targets=[thing_arn("dev")],
            files=[{"fileName": "x.bin", "fileLocation": {}}],
            roleArn=ROLE,
        )
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert iot.list_ota_updates()["otaUpdates"] == []
    assert iot.list_jobs()["jobs"] == []


@pytest.mark.parametrize("seconds", [59, 3601])
def test_presigned_url_expiry_must_be_60_to_3600_seconds(iot: Any, seconds: int) -> None:
    # AwsJobPresignedUrlConfig.expiresInSec: "Valid values are 60 - 3600" (the model
    # has no range for it, unlike the jobs' PresignedUrlConfig).
    with pytest.raises(ClientError) as exc:
        create(iot, awsJobPresignedUrlConfig={"expiresInSec": seconds})
    error = exc.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidRequestException",
        400,
    )
    assert "expiresInSec" in error["Error"]["Message"]
    assert iot.list_ota_updates()["otaUpdates"] == []
    assert iot.list_jobs()["jobs"] == []
    create(iot, "ok", awsJobPresignedUrlConfig={"expiresInSec": 60})
    job = iot.describe_job(jobId="AFR_OTA-ok")["job"]
    assert job["presignedUrlConfig"] == {"expiresInSec": 60}


def test_list_ota_updates_paging_and_status_filter(iot: Any) -> None:
    iot.create_thing(thingName="dev")
    for index in range(3):
        iot.create_ota_update(
            otaUpdateId=f"ota-{index}",
            targets=[thing_arn("dev")],
            files=[
                {
                    "fileName": "f.bin",
                    "fileLocation": {"s3Location": {"bucket": "b", "key": f"k{index}"}},
                }
            ],
            roleArn=ROLE,
        )
    listed = iot.list_ota_updates()["otaUpdates"]
    assert [u["otaUpdateId"] for u in listed] == ["ota-0", "ota-1", "ota-2"]
    assert listed[0]["otaUpdateArn"].endswith(":otaupdate/ota-0")
    page = iot.list_ota_updates(maxResults=2)
    assert len(page["otaUpdates"]) == 2
    rest = iot.list_ota_updates(nextToken=page["nextToken"])
    assert [u["otaUpdateId"] for u in rest["otaUpdates"]] == ["ota-2"]
    assert len(iot.list_ota_updates(otaUpdateStatus="CREATE_COMPLETE")["otaUpdates"]) == 3
    assert iot.list_ota_updates(otaUpdateStatus="CREATE_FAILED")["otaUpdates"] == []
    document = json.loads(iot.get_job_document(jobId="AFR_OTA-ota-0")["document"])
    assert document["afr_ota"]["files"][0]["update_data_url"] == "s3://b/k0"


def test_delete_ota_update_needs_force_while_its_job_runs(iot: Any, iot_mock: IotMock) -> None:
    answer = create(iot, tags=[{"Key": "release", "Value": "2"}])
    arn = answer["otaUpdateArn"]
    assert tags_of(iot_mock.backend(), arn) == {"release": "2"}
    assert listed_tags(iot, arn) == {"release": "2"}
    with pytest.raises(ClientError) as exc:
        iot.delete_ota_update(otaUpdateId="ota-1")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    iot.delete_ota_update(otaUpdateId="ota-1", forceDeleteAWSJob=True)
    assert iot.list_ota_updates()["otaUpdates"] == []
    assert iot.list_jobs()["jobs"] == []
    assert tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)
    with pytest.raises(ClientError) as exc:
        iot.delete_ota_update(otaUpdateId="ota-1")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_delete_ota_update_after_its_job_is_canceled(iot: Any) -> None:
    create(iot)
    iot.cancel_job(jobId="AFR_OTA-ota-1")
    iot.delete_ota_update(otaUpdateId="ota-1")
    assert iot.list_jobs()["jobs"] == []
