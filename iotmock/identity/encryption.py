"""Encryption at rest: DescribeEncryptionConfiguration, UpdateEncryptionConfiguration.

Every account starts with AWS-owned keys (AWS_OWNED_KMS_KEY). Switching to a customer
managed key needs the key's ARN and the role IoT assumes to call KMS; the mock cannot call
KMS, so a well-formed configuration is reported HEALTHY.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.role_aliases import check_role_arn

AWS_OWNED = "AWS_OWNED_KMS_KEY"
CUSTOMER_MANAGED = "CUSTOMER_MANAGED_KMS_KEY"
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/+=,.@:-]+")


@dataclass(slots=True)
class EncryptionConfiguration:
    encryption_type: str = AWS_OWNED
    kms_key_arn: str | None = None
    kms_access_role_arn: str | None = None
    last_modified_at: float | None = None


@operation("iot", "DescribeEncryptionConfiguration")
def describe_encryption_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    config = ctx.backend.store(EncryptionConfiguration)
    return {
        "encryptionType": config.encryption_type,
        "kmsKeyArn": config.kms_key_arn,
        "kmsAccessRoleArn": config.kms_access_role_arn,
        "configurationDetails": {"configurationStatus": "HEALTHY"},
        "lastModifiedDate": config.last_modified_at,
    }


def _check_customer_managed(kms_key_arn: str | None, role_arn: str | None) -> None:
    if not kms_key_arn or not role_arn:
        raise invalid_request(
            f"encryptionType {CUSTOMER_MANAGED} requires both kmsKeyArn and kmsAccessRoleArn."
        )
    if not _KMS_KEY_ARN.fullmatch(kms_key_arn):
        raise invalid_request(
            f"kmsKeyArn {kms_key_arn} is not a KMS key ARN "
            "(arn:aws:kms:<region>:<account>:key/<key-id>)."
        )
    check_role_arn(role_arn, "kmsAccessRoleArn")


@operation("iot", "UpdateEncryptionConfiguration")
def update_encryption_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    config = ctx.backend.store(EncryptionConfiguration)
    encryption_type = params["encryptionType"]
    kms_key_arn = params.get("kmsKeyArn")
    role_arn = params.get("kmsAccessRoleArn")
    if encryption_type == CUSTOMER_MANAGED:
        _check_customer_managed(kms_key_arn, role_arn)
    elif kms_key_arn is not None or role_arn is not None:
        raise invalid_request(
            f"kmsKeyArn and kmsAccessRoleArn apply only to encryptionType {CUSTOMER_MANAGED}."
        )
    config.encryption_type = encryption_type
    config.kms_key_arn = kms_key_arn
    config.kms_access_role_arn = role_arn
    config.last_modified_at = clock.now()
    return {}
