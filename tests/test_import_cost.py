"""`import iotmock` costs at most about what `import boto3` costs: the package and
`mock_iot` load no family until the first mock starts (benchmarks/bench_import.py
measures the times; this checks the structure that keeps them low)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from iotmock.families import FAMILIES

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.startswith("iotmock"))))
"""


def _loaded_after(code: str) -> list[str]:
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output)  # type: ignore[no-any-return]


def _families(modules: list[str]) -> set[str]:
    return {m.split(".")[1] for m in modules if m.count(".") and m.split(".")[1] in FAMILIES}


def test_import_iotmock_loads_nothing_but_the_package() -> None:
    assert _loaded_after("import iotmock") == ["iotmock"]


def test_mock_iot_loads_no_family_until_a_mock_starts() -> None:
    before = _loaded_after("from iotmock import mock_iot")
    assert _families(before) <= {"messaging"}  # the Message type of m.messages()
    assert not any(
        m.startswith("iotmock.messaging.") and m != "iotmock.messaging.log" for m in before
    )
    after = _loaded_after("from iotmock import mock_iot\nmock_iot().start()")
    assert _families(after) == set(FAMILIES)
