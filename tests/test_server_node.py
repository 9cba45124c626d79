"""Server mode driven by the AWS SDK for JavaScript v3 (Node), from an in-process mock.

`.ci/run` installs the SDK clients pinned in tests/node/package.json into
`.cache/npm-iotmock`. Locally the test is skipped when node or that folder is missing;
in CI (CI=true) it fails instead, so it can never silently stop running there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import boto3
import pytest
from server_helpers import ACCOUNT, REGION, ROOT, isolated_environment

from iotmock import mock_iot

NODE_DIR = ROOT / ".cache" / "npm-iotmock"
SCRIPT = ROOT / "tests" / "node" / "device_flow.mjs"


def _node() -> str:
    node = shutil.which("node")
    installed = (NODE_DIR / "node_modules" / "@aws-sdk" / "client-iot").is_dir()
    if node is not None and installed:
        return node
    reason = (
        "node is not installed"
        if node is None
        else f"the AWS SDK for JavaScript is not installed in {NODE_DIR} (run .ci/run, or "
        f"npm install --prefix {NODE_DIR} with tests/node/package.json)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the Node SDK tests: {reason}")
    pytest.skip(reason)


def test_javascript_sdk_reaches_the_in_process_mock() -> None:
    node = _node()
    # ES modules resolve packages from the script's own folder, so run it from there.
    script = NODE_DIR / SCRIPT.name
    shutil.copyfile(SCRIPT, script)
    with mock_iot(server=True) as m:
        env = isolated_environment(base=dict(os.environ), AWS_REGION=REGION)
        result = subprocess.run(
            [node, str(script), "node-device"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout)
        assert seen["thingArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/node-device"
        assert seen["policies"] == ["node-device-policy"]
        assert seen["shadow"]["state"] == {"reported": {"temp": 21}}
        assert seen["startedStatus"] == "IN_PROGRESS"
        assert seen["finalStatus"] == "SUCCEEDED"
        assert seen["missing"] == "ResourceNotFoundException"

        # What Node did is the state boto3 sees in the test process.
        iot = boto3.client("iot", region_name=REGION)
        assert iot.list_thing_principals(thingName="node-device")["principals"] == [
            seen["certificateArn"]
        ]
        data = boto3.client("iot-data", region_name=REGION)
        shadow = json.loads(data.get_thing_shadow(thingName="node-device")["payload"].read())
        assert shadow["version"] == 1
        topics = [message.topic for message in m.messages("$aws/things/node-device/#")]
        assert "$aws/things/node-device/shadow/update/accepted" in topics
        assert "$aws/things/node-device/jobs/notify-next" in topics
