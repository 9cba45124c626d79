"""Reaching moto, when moto's `mock_aws` is active in the same process.

What AWS IoT does to other services (a rule writing to DynamoDB, a job reading its
document from S3) is done through boto3 clients, which moto answers while it is active;
iotmock never imports moto itself. Without moto (not installed, or installed but no
`mock_aws` active), `active()` is False and callers keep their recorded-only behaviour.

Accounts: AWS IoT assumes the role an action names (`roleArn`) to reach the target
service, and so does this bridge: in moto's default account (123456789012, or
`MOTO_ACCOUNT_ID`) it uses plain clients; for a role in another account it asks moto's
STS for that role's credentials, which moto maps to the role's account.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()

MOTO_DEFAULT_ACCOUNT = "123456789012"


def active() -> bool:
    """Whether moto's `mock_aws` is active in this process.

    moto answers botocore requests from a handler it registers once on botocore's
    `before-send` event, and flags it `enabled` while a `mock_aws` is active; its module
    is in `sys.modules` only when moto was imported, so this never imports moto.
    """
    if "moto" not in sys.modules:
        return False
    import botocore.handlers

    for entry in botocore.handlers.BUILTIN_HANDLERS:
        event, handler = entry[0], entry[1]
        if event == "before-send" and type(handler).__module__.startswith("moto."):
            return bool(getattr(handler, "enabled", False))
    return False


def moto_account() -> str:
    """The account moto answers plain (non-assumed-role) requests in."""
    return os.environ.get("MOTO_ACCOUNT_ID") or MOTO_DEFAULT_ACCOUNT


def role_account(role_arn: str | None) -> str | None:
    """The account of an IAM role ARN (`arn:aws:iam::<account>:role/<name>`)."""
    if not role_arn:
        return None
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def client(service: str, region: str, role_arn: str | None = None) -> Any:
    """A boto3 client of `service` that moto answers, acting as `role_arn`'s account."""
    import boto3

    account = role_account(role_arn)
    if account is None or account == moto_account() or "MOTO_ACCOUNT_ID" in os.environ:
        # moto uses MOTO_ACCOUNT_ID for every request when it is set.
        key = (service, region)
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = boto3.client(service, region_name=region)
        return found
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="iotmock-rule"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
