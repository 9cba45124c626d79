"""Server mode driven by the AWS CLI as a subprocess: the same state as boto3 in-process."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
from server_helpers import ACCOUNT, REGION, aws, isolated_environment, served

from iotmock import mock_iot
from iotmock.server.http import IotServer

__all__ = ["served"]

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


def test_cli_provisions_a_device_and_completes_a_job(served: IotServer, tmp_path: Path) -> None:
    env = isolated_environment(served.url)
    thing = aws(env, "iot", "create-thing", "--thing-name", "sensor-1")
    assert thing["thingArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/sensor-1"
    cert = aws(env, "iot", "create-keys-and-certificate", "--set-as-active")
    assert cert["certificatePem"].startswith("-----BEGIN CERTIFICATE-----")
    aws(env, "iot", "create-policy", "--policy-name", "connect", "--policy-document", POLICY)
    aws(env, "iot", "attach-policy", "--policy-name", "connect", "--target", cert["certificateArn"])
    aws(
        env,
        "iot",
        "attach-thing-principal",
        "--thing-name",
        "sensor-1",
        "--principal",
        cert["certificateArn"],
    )
    shadow_out = tmp_path / "shadow.json"
    aws(
        env,
        "iot-data",
        "update-thing-shadow",
        "--thing-name",
        "sensor-1",
        "--payload",
        '{"state": {"desired": {"rate": 5}}}',
        str(shadow_out),
    )
    aws(env, "iot-data", "get-thing-shadow", "--thing-name", "sensor-1", str(shadow_out))
    shadow = json.loads(shadow_out.read_text())
    assert shadow["state"] == {"desired": {"rate": 5}, "delta": {"rate": 5}}
    assert shadow["version"] == 1

    job = aws(
        env,
        "iot",
        "create-job",
        "--job-id",
        "upgrade",
        "--targets",
        thing["thingArn"],
        "--document",
        '{"step": "upgrade"}',
    )
    assert job["jobId"] == "upgrade"
    started = aws(
        env, "iot-jobs-data", "start-next-pending-job-execution", "--thing-name", "sensor-1"
    )
    assert started["execution"]["status"] == "IN_PROGRESS"
    assert started["execution"]["jobDocument"] == '{"step": "upgrade"}'
    aws(
        env,
        "iot-jobs-data",
        "update-job-execution",
        "--thing-name",
        "sensor-1",
        "--job-id",
        "upgrade",
        "--status",
        "SUCCEEDED",
    )

    # The server's state is the mock's: read it back in-process, as a test would.
    backend = served.mock.backend()
    assert backend.things["sensor-1"].version == 1
    principals = aws(env, "iot", "list-thing-principals", "--thing-name", "sensor-1")
    assert principals["principals"] == [cert["certificateArn"]]
    policies = aws(env, "iot", "list-attached-policies", "--target", cert["certificateArn"])
    assert [p["policyName"] for p in policies["policies"]] == ["connect"]
    execution = aws(
        env, "iot", "describe-job-execution", "--job-id", "upgrade", "--thing-name", "sensor-1"
    )
    assert execution["execution"]["status"] == "SUCCEEDED"


def test_cli_sees_modeled_errors(served: IotServer) -> None:
    env = isolated_environment(served.url)
    missing = aws(env, "iot", "describe-thing", "--thing-name", "nope", check=False)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr
    invalid = aws(env, "iot", "create-thing", "--thing-name", "bad name", check=False)
    assert "InvalidRequestException" in invalid.stderr
    assert "Member must satisfy regular expression pattern" in invalid.stderr


def test_in_process_server_is_changed_by_a_cli_subprocess_without_flags() -> None:
    with mock_iot(server=True) as m:
        # No --endpoint-url: the mock exported AWS_ENDPOINT_URL_IOT* for child processes.
        env = isolated_environment(base=dict(os.environ))
        assert env["AWS_ENDPOINT_URL_IOT"] == m.server.url
        aws(env, "iot", "create-thing", "--thing-name", "from-cli")
        iot = boto3.client("iot", region_name=REGION)
        described = iot.describe_thing(thingName="from-cli")
        assert described["thingArn"].endswith(":thing/from-cli")
        iot.update_thing(thingName="from-cli", attributePayload={"attributes": {"a": "1"}})
        listed = aws(env, "iot", "list-things")
        assert [(t["thingName"], t["version"]) for t in listed["things"]] == [("from-cli", 2)]


def _start_cli_server(*options: str) -> tuple[subprocess.Popen[str], re.Match[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "iotmock", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=isolated_environment(),
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"at (https?://127\.0\.0\.1:\d+) \(account (\d+), region ([\w-]+)", line)
    assert found, f"unexpected first line {line!r}: {process.stderr}"
    return process, found


def _stop_cli_server(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    return out


def test_iotmock_serve_prints_its_url_serves_and_stops_on_sigterm() -> None:
    process, found = _start_cli_server("--account-id", "111122223333", "--region", "eu-west-1")
    try:
        url = found.group(1)
        assert found.group(2, 3) == ("111122223333", "eu-west-1")
        env = isolated_environment(AWS_DEFAULT_REGION="eu-west-1")
        created = aws(env, "--endpoint-url", url, "iot", "create-thing", "--thing-name", "x")
        # A non-numeric access key id: the server's default account; region from the scope.
        assert created["thingArn"] == "arn:aws:iot:eu-west-1:111122223333:thing/x"
    finally:
        out = _stop_cli_server(process)
    assert "iotmock stopped" in out


def test_tls_server_and_describe_endpoint_lead_back_to_it() -> None:
    process, found = _start_cli_server("--tls")
    try:
        url = found.group(1)
        assert url.startswith("https://")
        ca_bundle = re.search(r"CA bundle (\S+?)\)", found.string)
        assert ca_bundle is not None and Path(ca_bundle.group(1)).is_file()
        env = isolated_environment(AWS_CA_BUNDLE=ca_bundle.group(1))
        endpoint = aws(
            env,
            "--endpoint-url",
            url,
            "iot",
            "describe-endpoint",
            "--endpoint-type",
            "iot:Data-ATS",
        )
        address = endpoint["endpointAddress"]
        assert address == url.removeprefix("https://")
        # As AWS's samples do: the data-plane client's endpoint is https://<address>.
        data = boto3.client(
            "iot-data",
            region_name=REGION,
            endpoint_url=f"https://{address}",
            verify=ca_bundle.group(1),
            aws_access_key_id="AKIAIOTMOCK",
            aws_secret_access_key="x",
        )
        data.publish(topic="devices/1/telemetry", payload=b'{"t": 21}')
        context = ssl.create_default_context(cafile=ca_bundle.group(1))
        with urllib.request.urlopen(f"{url}/_iotmock/messages", context=context) as answer:
            messages = json.load(answer)["messages"]
        assert [(m["topic"], m["payload"]) for m in messages] == [
            ("devices/1/telemetry", '{"t": 21}')
        ]
        plain = subprocess.run(
            [sys.executable, "-m", "awscli", "--endpoint-url", url, "iot", "list-things"],
            env=isolated_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert plain.returncode != 0 and "SSL" in plain.stderr  # untrusted without the bundle
    finally:
        _stop_cli_server(process)
