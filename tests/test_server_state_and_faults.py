"""Server mode: snapshots over the control API and `iotmock serve --state/--save-state`,
and injected faults reaching the AWS CLI's retry logic over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
from server_helpers import REGION, aws, isolated_environment, request, served, signed_headers

from iotmock import IotMock, mock_iot
from iotmock.core.snapshot import load_state
from iotmock.registry.records import registry_of
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


def test_restoring_takes_only_a_snapshot_object_and_refuses_bad_ones_with_400(
    served: IotServer, tmp_path: Path
) -> None:
    iot = signed_headers("iot")
    assert request(served.port, "POST", "/things/kept", b"{}", iot)[0] == 200
    # A snapshot file on the server's disk: a JSON string naming it is no snapshot.
    on_disk = tmp_path / "snapshot.json"
    with mock_iot() as other:
        boto3.client("iot", region_name=REGION).create_thing(thingName="from-disk")
        on_disk.write_text(json.dumps(other.snapshot()))
    snapshot_like = {"format": "iotmock-snapshot", "version": 1}
    for body in (json.dumps(str(on_disk)), '"/nonexistent"', '"/etc/hostname"', "[]", "1"):
        status, _, answer = request(served.port, "PUT", "/_iotmock/state", body)
        assert status == 400, answer
        assert json.loads(answer)["message"] == (
            "PUT /_iotmock/state takes a snapshot document: the JSON object "
            "GET /_iotmock/state answers."
        )
    for document in (
        {**snapshot_like},  # no backends
        {**snapshot_like, "process": [], "backends": []},
        {**snapshot_like, "backends": [1]},
        {**snapshot_like, "backends": "x"},
        {**snapshot_like, "backends": [{}]},
        {"format": "other"},
    ):
        status, _, answer = request(served.port, "PUT", "/_iotmock/state", json.dumps(document))
        assert status == 400, (document, answer)
        assert "snapshot" in json.loads(answer)["message"]
    status, _, answer = request(served.port, "PUT", "/_iotmock/state", "[" * 100_000)
    assert status == 400
    assert list(registry_of(served.mock.backend()).things) == ["kept"]


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


def _post_fault(server: IotServer, **arguments: object) -> tuple[int, dict[str, object]]:
    status, _, body = request(server.port, "POST", "/_iotmock/faults", json.dumps(arguments))
    return status, json.loads(body)


def test_faults_injected_over_http_reach_the_aws_cli_retry_logic(served: IotServer) -> None:
    # Another process than the test injects: here the control API of a served mock.
    env = isolated_environment(served.url, AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="3")
    status, fault = _post_fault(
        served, operation="ListThings", error="ThrottlingException", times=2
    )
    assert status == 200 and isinstance(fault["id"], str)
    assert aws(env, "iot", "list-things") == {"things": []}  # the third attempt succeeds
    assert json.loads(request(served.port, "GET", "/_iotmock/faults")[2]) == {"faults": []}

    _post_fault(served, operation="ListThings", error="ThrottlingException", times=3)
    failed = aws(env, "iot", "list-things", check=False)
    assert failed.returncode != 0
    assert "(ThrottlingException)" in failed.stderr
    assert "reached max retries: 2" in failed.stderr
    calls = served.mock.calls.filter("ListThings")
    assert [(c.attempt, c.error, c.injected) for c in calls] == [
        (1, "ThrottlingException", True),
        (2, "ThrottlingException", True),
        (3, None, False),
        (1, "ThrottlingException", True),
        (2, "ThrottlingException", True),
        (3, "ThrottlingException", True),
    ]


def test_fault_control_endpoints_list_remove_and_refuse(served: IotServer) -> None:
    status, first = _post_fault(
        served,
        operation="CreateThing",
        error="ThrottlingException",
        probability=0.5,
        seed=7,
        message="slow down",
    )
    assert status == 200
    assert first == {
        "id": first["id"],
        "operation": "CreateThing",
        "error": "ThrottlingException",
        "services": ["iot"],
        "remaining": None,
        "fired": 0,
        "probability": 0.5,
        "latency": None,
        "message": "slow down",
        "match": False,
    }
    _, latency = _post_fault(served, operation="ListThings", latency=0.2, service="iot")
    in_process = served.mock.faults.inject("DeleteThing", "ThrottlingException", match=bool)
    status, _, body = request(served.port, "GET", "/_iotmock/faults")
    listed = json.loads(body)["faults"]
    assert [(f["id"], f["operation"], f["match"]) for f in listed] == [
        (first["id"], "CreateThing", False),
        (latency["id"], "ListThings", False),
        (listed[2]["id"], "DeleteThing", True),  # the test's own faults are listed too
    ]
    assert len({f["id"] for f in listed}) == 3
    started = time.monotonic()
    assert request(served.port, "GET", "/things", None, signed_headers("iot"))[0] == 200
    assert time.monotonic() - started >= 0.2

    status, _, body = request(served.port, "DELETE", f"/_iotmock/faults/{latency['id']}")
    assert (status, json.loads(body)) == (200, {"removed": 1})
    status, _, body = request(served.port, "DELETE", f"/_iotmock/faults/{latency['id']}")
    assert status == 404 and "No active fault" in json.loads(body)["message"]
    status, headers, _ = request(served.port, "GET", f"/_iotmock/faults/{first['id']}")
    assert (status, headers["allow"]) == (405, "DELETE")
    status, _, body = request(served.port, "DELETE", "/_iotmock/faults")
    assert (status, json.loads(body)) == (200, {"removed": 2})
    assert not in_process.active and served.mock.faults.active() == []

    refused = [
        ({"operation": "ListThings", "error": "ThrottlingException", "match": "x"}, "'match'"),
        ({"operation": "NoSuchOperation", "error": "ThrottlingException"}, "no operation"),
        ({"operation": "ListThings", "error": "NoSuchError"}, "cannot answer 'NoSuchError'"),
        ({"operation": "ListThings"}, "needs an error, a latency, or both"),
        ({"operation": "ListThings", "latency": 1, "times": 0}, "times must be at least 1"),
        ({"operation": "ListThings", "latency": 1, "times": "2"}, "must be an integer"),
        ({"operation": "ListThings", "latency": True}, "must be a number"),
        ({"operation": "ListThings", "latency": 1, "seed": 1.5}, "must be an integer"),
        ({"operation": "ListThings", "latency": 1, "retries": 2}, "Unknown fault argument"),
    ]
    for arguments, message in refused:
        status, answer = _post_fault(served, **arguments)
        assert status == 400 and message in str(answer["message"]), (arguments, answer)
    for body in ("[]", "not json", '"ListThings"'):
        status, _, answer = request(served.port, "POST", "/_iotmock/faults", body)
        assert status == 400 and "takes a JSON object" in json.loads(answer)["message"]
    assert served.mock.faults.active() == []
