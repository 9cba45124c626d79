"""Helpers of the server-mode tests: a served mock, the AWS CLI and raw HTTP."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from iotmock import IotMock
from iotmock.server.http import IotServer, ServerOptions

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def served() -> Iterator[IotServer]:
    """A standalone server on a free loopback port, over a fresh (not intercepting) mock:
    clients reach it over real HTTP only."""
    mock = IotMock()
    mock.reset()
    server = IotServer(mock, ServerOptions(port=0, socket_timeout=5)).start()
    yield server
    server.stop()


def isolated_environment(
    url: str | None = None, base: Mapping[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """An environment for an AWS client subprocess that never reads the developer's AWS
    configuration; with `url`, all three IoT services point at it."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if base is not None or not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(ROOT / ".no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(ROOT / ".no-aws-credentials"),
        AWS_MAX_ATTEMPTS="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    if base is None:
        env.update(
            AWS_ACCESS_KEY_ID="AKIAIOTMOCKTESTING",
            AWS_SECRET_ACCESS_KEY="iotmock-testing",
            AWS_DEFAULT_REGION=REGION,
        )
    if url is not None:
        for name in (
            "AWS_ENDPOINT_URL_IOT",
            "AWS_ENDPOINT_URL_IOT_DATA_PLANE",
            "AWS_ENDPOINT_URL_IOT_JOBS_DATA_PLANE",
        ):
            env[name] = url
    env.update(extra)
    return env


def aws(env: Mapping[str, str], *args: str, check: bool = True) -> Any:
    """Run the AWS CLI (the awscli package of this interpreter); its parsed JSON output."""
    result = subprocess.run(
        [sys.executable, "-m", "awscli", *args, "--output", "json"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"aws {' '.join(args)}: {result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else {}
    return result


def aws_all(env: Mapping[str, str], *commands: tuple[str, ...]) -> list[Any]:
    """Run independent AWS CLI commands at once (each process costs ~0.5 s to start);
    their parsed JSON outputs, in order."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "awscli", *args, "--output", "json"],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    outputs = []
    for args, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, f"aws {' '.join(args)}: {err}"
        outputs.append(json.loads(out) if out.strip() else {})
    return outputs


def request(
    url_or_port: str | int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request; (status, lower-cased headers, body)."""
    port = url_or_port if isinstance(url_or_port, int) else int(str(url_or_port).rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = body.encode() if isinstance(body, str) else body
        connection.request(method, path, body=data, headers=dict(headers or {}))
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()


def signed_headers(
    signing_name: str, access_key: str = "AKIAIOTMOCK", region: str = REGION
) -> dict[str, str]:
    """An Authorization header shaped like SigV4's (the server reads its credential
    scope; it does not verify signatures)."""
    scope = f"{access_key}/20260101/{region}/{signing_name}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, "
        "Signature=" + "0" * 64
    }
