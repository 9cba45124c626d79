"""OTA updates: CreateOTAUpdate, GetOTAUpdate, ListOTAUpdates, DeleteOTAUpdate.

An OTA update is a job named `AFR_OTA-<otaUpdateId>` whose document describes the files
(the FreeRTOS OTA `afr_ota` document). AWS creates it asynchronously (CREATE_PENDING, then
CREATE_IN_PROGRESS, then CREATE_COMPLETE); the mock creates the job during the call, so
CreateOTAUpdate answers CREATE_PENDING and every later read shows CREATE_COMPLETE.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.jobs import engine as model

JOB_PREFIX = "AFR_OTA-"
# OTA job members and the CreateJob configuration members they become.
_JOB_CONFIG = {
    "awsJobExecutionsRolloutConfig": "jobExecutionsRolloutConfig",
    "awsJobPresignedUrlConfig": "presignedUrlConfig",
    "awsJobTimeoutConfig": "timeoutConfig",
}


@dataclass(slots=True)
class OtaUpdate:
    ota_update_id: str
    arn: str
    created_at: float
    last_modified_at: float
    request: dict[str, Any]
    job_id: str
    job_arn: str
    status: str = "CREATE_COMPLETE"


@dataclass(slots=True)
class OtaStore:
    updates: SortedIndex[OtaUpdate] = field(default_factory=SortedIndex)


def _file_entry(position: int, spec: dict[str, Any]) -> dict[str, Any]:
    """One `files` entry of the afr_ota job document."""
    location = spec.get("fileLocation") or {}
    stream = location.get("stream") or {}
    signing = spec.get("codeSigning") or {}
    custom = signing.get("customCodeSigning") or {}
    profile = (signing.get("startSigningJobParameter") or {}).get("signingProfileParameter") or {}
    entry: dict[str, Any] = {
        "filepath": spec.get("fileName"),
        "fileid": stream.get("fileId", position),
        "filetype": spec.get("fileType"),
        "fileversion": spec.get("fileVersion"),
        "certfile": (custom.get("certificateChain") or {}).get("certificateName")
        or profile.get("certificatePathOnDevice"),
        "attr": spec.get("attributes"),
    }
    signature = (custom.get("signature") or {}).get("inlineDocument")
    if signature is not None:
        hashing = custom.get("hashAlgorithm", "SHA256")
        signing_algorithm = custom.get("signatureAlgorithm", "ECDSA")
        entry[f"sig-{hashing}-{signing_algorithm}".lower()] = base64.b64encode(signature).decode()
    if location.get("s3Location"):
        s3 = location["s3Location"]
        entry["update_data_url"] = f"s3://{s3.get('bucket')}/{s3.get('key')}"
    return {k: v for k, v in entry.items() if v is not None}


def _job_document(params: Params) -> str:
    files = params["files"]
    streams = [(f.get("fileLocation") or {}).get("stream") for f in files]
    stream_ids = [s["streamId"] for s in streams if s and s.get("streamId")]
    document: dict[str, Any] = {
        "afr_ota": {
            "protocols": params.get("protocols") or ["MQTT"],
            "files": [_file_entry(i, f) for i, f in enumerate(files)],
        }
    }
    if stream_ids:
        document["afr_ota"]["streamname"] = stream_ids[0]
    return json.dumps(document)


# AwsJobPresignedUrlConfig.expiresInSec: "Valid values are 60 - 3600" (not in the model).
PRESIGNED_EXPIRY_RANGE = (60, 3600)


def _check_presigned_expiry(config: dict[str, Any] | None) -> None:
    seconds = (config or {}).get("expiresInSec")
    low, high = PRESIGNED_EXPIRY_RANGE
    if seconds is not None and not low <= seconds <= high:
        raise invalid_request(
            f"awsJobPresignedUrlConfig.expiresInSec must be between {low} and {high}; "
            f"{seconds} was given."
        )


def _check_files(files: list[dict[str, Any]]) -> None:
    for spec in files:
        location = spec.get("fileLocation") or {}
        if not location.get("stream") and not location.get("s3Location"):
            raise invalid_request(
                f"File {spec.get('fileName')} needs a fileLocation with a stream or an s3Location."
            )


def _info(update: OtaUpdate) -> dict[str, Any]:
    request = update.request
    return {
        "otaUpdateInfo": {
            "otaUpdateId": update.ota_update_id,
            "otaUpdateArn": update.arn,
            "creationDate": update.created_at,
            "lastModifiedDate": update.last_modified_at,
            "description": request.get("description"),
            "targets": list(request["targets"]),
            "protocols": request.get("protocols") or ["MQTT"],
            "awsJobExecutionsRolloutConfig": request.get("awsJobExecutionsRolloutConfig"),
            "awsJobPresignedUrlConfig": request.get("awsJobPresignedUrlConfig"),
            "targetSelection": request.get("targetSelection") or "SNAPSHOT",
            "otaUpdateFiles": request["files"],
            "otaUpdateStatus": update.status,
            "awsIotJobId": update.job_id,
            "awsIotJobArn": update.job_arn,
            # the mock's updates never fail: AWS answers an empty errorInfo then
            "errorInfo": {},
            "additionalParameters": request.get("additionalParameters"),
        }
    }


OTA_UPDATES: crud.ResourceKind[OtaUpdate] = crud.ResourceKind(
    label="OTA update",
    arn_type="otaupdate",
    index=lambda backend: backend.store(OtaStore).updates,
    describe=_info,
    summary=lambda u: {
        "otaUpdateId": u.ota_update_id,
        "otaUpdateArn": u.arn,
        "creationDate": u.created_at,
    },
    list_member="otaUpdates",
    missing="{label} {name} cannot be found.",
)


@operation("iot", "CreateOTAUpdate")
def create_ota_update(ctx: RequestContext, params: Params) -> dict[str, Any]:
    ota_id = params["otaUpdateId"]

    def build(arn: str, now: float) -> OtaUpdate:
        _check_files(params["files"])
        _check_presigned_expiry(params.get("awsJobPresignedUrlConfig"))
        config = {job: params.get(ota) for ota, job in _JOB_CONFIG.items()}
        abort = params.get("awsJobAbortConfig")
        if abort is not None:
            config["abortConfig"] = {"criteriaList": abort.get("abortCriteriaList") or []}
        job = model.create_job_record(
            ctx,
            f"{JOB_PREFIX}{ota_id}",
            params["targets"],
            document=_job_document(params),
            target_selection=params.get("targetSelection"),
            description=params.get("description"),
            config=config,
        )
        stored = {k: v for k, v in params.items() if k != "tags"}
        return OtaUpdate(ota_id, arn, now, now, stored, job.job_id, job.arn)

    update = crud.create(OTA_UPDATES, ctx.backend, ota_id, build, params.get("tags"))
    return {
        "otaUpdateId": ota_id,
        "awsIotJobId": update.job_id,
        "otaUpdateArn": update.arn,
        "awsIotJobArn": update.job_arn,
        "otaUpdateStatus": "CREATE_PENDING",
    }


@operation("iot", "GetOTAUpdate")
def get_ota_update(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(OTA_UPDATES, ctx.backend, params["otaUpdateId"])


@operation("iot", "ListOTAUpdates")
def list_ota_updates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = params.get("otaUpdateStatus")
    keep = (lambda u: u.status == status) if status else None
    return crud.list_page(OTA_UPDATES, ctx, params, keep=keep, scope=str(status))


@operation("iot", "DeleteOTAUpdate")
def delete_ota_update(ctx: RequestContext, params: Params) -> dict[str, Any]:
    update = OTA_UPDATES.get(ctx.backend, params["otaUpdateId"])
    store = model.jobs_store(ctx)
    job = store.jobs.get(update.job_id)
    if job is not None:
        if job.status in (model.JOB_IN_PROGRESS, model.JOB_SCHEDULED) and not params.get(
            "forceDeleteAWSJob"
        ):
            raise invalid_request(
                f"The job {job.job_id} of OTA update {update.ota_update_id} is {job.status}; "
                "cancel it first or set forceDeleteAWSJob to true."
            )
        model.delete_job(ctx, store, job, force=True)
    crud.delete(OTA_UPDATES, ctx.backend, update.ota_update_id)
    return {}
