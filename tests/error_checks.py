"""What an operation's ClientError says, for the families' error assertions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """The error code, HTTP status and message of the raised ClientError."""
    code, status = code_of(exc)
    response: Any = exc.value.response
    return code, status, response["Error"]["Message"]


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    """The error code and HTTP status of the raised ClientError."""
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
