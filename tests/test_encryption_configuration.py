"""Encryption configuration through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/iot-kms"


def test_defaults_to_aws_owned_keys(iot: Any) -> None:
    described = iot.describe_encryption_configuration()
    assert described["encryptionType"] == "AWS_OWNED_KMS_KEY"
    assert "kmsKeyArn" not in described
    assert "kmsAccessRoleArn" not in described
    assert described["configurationDetails"] == {"configurationStatus": "HEALTHY"}


def test_switch_to_customer_managed_and_back(iot: Any) -> None:
    iot.update_encryption_configuration(
        encryptionType="CUSTOMER_MANAGED_KMS_KEY", kmsKeyArn=KEY, kmsAccessRoleArn=ROLE
    )
    described = iot.describe_encryption_configuration()
    assert described["encryptionType"] == "CUSTOMER_MANAGED_KMS_KEY"
    assert described["kmsKeyArn"] == KEY
    assert described["kmsAccessRoleArn"] == ROLE
    assert described["configurationDetails"]["configurationStatus"] == "HEALTHY"
    assert "lastModifiedDate" in described
    iot.update_encryption_configuration(encryptionType="AWS_OWNED_KMS_KEY")
    described = iot.describe_encryption_configuration()
    assert described["encryptionType"] == "AWS_OWNED_KMS_KEY"
    assert "kmsKeyArn" not in described


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"encryptionType": "CUSTOMER_MANAGED_KMS_KEY"}, "requires both"),
        ({"encryptionType": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyArn": KEY}, "requires both"),
        (
            {
                "encryptionType": "CUSTOMER_MANAGED_KMS_KEY",
                "kmsKeyArn": "not-an-arn",
                "kmsAccessRoleArn": ROLE,
            },
            "is not a KMS key ARN",
        ),
        (
            {
                "encryptionType": "CUSTOMER_MANAGED_KMS_KEY",
                "kmsKeyArn": KEY,
                "kmsAccessRoleArn": "arn:aws:iam::123456789012:user/u",
            },
            "kmsAccessRoleArn",
        ),
        ({"encryptionType": "AWS_OWNED_KMS_KEY", "kmsKeyArn": KEY}, "apply only to"),
        ({"encryptionType": "SOMETHING"}, "enum"),
    ],
)
def test_validation(iot: Any, arguments: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_encryption_configuration(**arguments)
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in exc.value.response["Error"]["Message"]
    assert iot.describe_encryption_configuration()["encryptionType"] == "AWS_OWNED_KMS_KEY"
