"""Server mode: snapshots over the control API and `iotmock serve --state/--save-state`,
and injected faults reaching the AWS CLI's retry logic over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
from server_helpers import REGION, aws, isolated_environment, request, served

from iotmock import IotMock, mock_iot
from iotmock.core.snapshot import load_state
from iotmock.server.http import IotServer

__all__ = ["served"]


def test_state_round_trips_over_the_control_api(served: IotServer) -> None:
    env = isolated_environment(served.url)
    aws(env, "iot", "create-thing", "--thing-name", "saved")
    status, _, body = request(served.port, "GET", "/_iotmock/state")
    assert status == 200
    document = json.loads(body)
    assert document["format"] == "iotmock-snapshot"

    assert request(served.port, "POST", "/_iotmock/reset")[0] == 200
    assert aws(env, "iot", "list-things")["things"] == []
    status, _, body = request(served.port, "PUT", "/_iotmock/state", json.dumps(document))
    assert (status, json.loads(body)) == (200, {"restored": True})
    assert [t["thingName"] for t in aws(env, "iot", "list-things")["things"]] == ["saved"]

    status, _, body = request(served.port, "PUT", "/_iotmock/state", b'{"version": 1}')
    assert status == 400 and "not an iotmock snapshot" in json.loads(body)["message"]


def test_serve_starts_from_a_state_file_and_saves_on_exit(tmp_path: Path) -> None:
    start = tmp_path / "start.json"
    with mock_iot() as mock:
        boto3.client("iot", region_name=REGION).create_thing(thingName="from-file")
        start.write_text(json.dumps(mock.snapshot()))
    saved = tmp_path / "saved.json"
    command = [sys.executable, "-m", "iotmock", "serve", "--port", "0", "--state", str(start)]
    process = subprocess.Popen(
        [*command, "--save-state", str(saved)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=isolated_environment(),
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].split(" ")[0]
        env = isolated_environment(url)
        listed = aws(env, "iot", "list-things")
        assert [t["thingName"] for t in listed["things"]] == ["from-file"]
        aws(env, "iot", "create-thing", "--thing-name", "added")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert f"saved its state to {saved}" in out
    restored = IotMock()
    load_state(restored, saved)  # what the server calls for --state
    assert {b.account_id for b in restored._backends.values()} == {"123456789012"}
    with mock_iot(state=str(saved)):
        names = [
            t["thingName"] for t in boto3.client("iot", region_name=REGION).list_things()["things"]
        ]
    assert names == ["added", "from-file"]


def test_a_missing_state_file_stops_the_server_with_a_message(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.json")
    result = subprocess.run(
        [sys.executable, "-m", "iotmock", "serve", "--port", "0", "--state", missing],
        capture_output=True,
        text=True,
        env=isolated_environment(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot load the state" in result.stderr


def test_injected_throttles_reach_the_aws_cli_retry_logic_over_http() -> None:
    with mock_iot(server=True) as mock:
        # The CLI in standard mode, 3 attempts in all (its AWS_MAX_ATTEMPTS counts attempts).
        env = isolated_environment(
            base=dict(os.environ), AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3"
        )
        mock.faults.inject("ListThings", "ThrottlingException", times=2)
        assert aws(env, "iot", "list-things") == {"things": []}

        mock.faults.inject("ListThings", "ThrottlingException", times=3)
        failed = aws(env, "iot", "list-things", check=False)
        assert failed.returncode != 0
        assert "(ThrottlingException)" in failed.stderr
        assert "reached max retries: 2" in failed.stderr
        # The attempt number comes from the amz-sdk-request header the CLI sends.
        calls = mock.calls.filter("ListThings")
    assert [(c.attempt, c.error) for c in calls] == [
        (1, "ThrottlingException"),
        (2, "ThrottlingException"),
        (3, None),
        (1, "ThrottlingException"),
        (2, "ThrottlingException"),
        (3, "ThrottlingException"),
    ]
