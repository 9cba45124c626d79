"""`from iotmock import mock_iot` loads only the mock class: no botocore, cryptography,
unittest or family package until a mock starts (docs/performance.md, "Cost before use";
benchmarks/bench_import.py measures the times)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from iotmock.families import FAMILIES

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("cryptography", "unittest", "botocore", "boto3")
FAMILY_PACKAGES = tuple(f"iotmock.{family}" for family in FAMILIES)


def _loaded_after(code: str) -> set[str]:
    child = [sys.executable, "-c", f"{code}\nimport sys\nprint(*sys.modules)"]
    return set(subprocess.check_output(child, cwd=ROOT, text=True).split())


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(FAMILY_PACKAGES))


def test_mock_iot_loads_no_cryptography_unittest_botocore_or_family() -> None:
    assert _heavy(_loaded_after("from iotmock import mock_iot")) == []


def test_decorating_and_creating_mocks_loads_nothing_heavy() -> None:
    code = (
        "from iotmock import mock_iot\n"
        "@mock_iot\n"
        "def f(): pass\n"
        "@mock_iot(scope='class')\n"
        "class TestPlain:\n"
        "    def test_a(self): pass\n"
        "mock_iot(region='eu-west-1', account_id='111122223333')"
    )
    assert _heavy(_loaded_after(code)) == []


def test_a_started_mock_loads_the_wire_core_and_the_families() -> None:
    started = _loaded_after("from iotmock import mock_iot\nmock_iot().start()")
    assert set(FAMILY_PACKAGES) <= started
    assert "iotmock.core.intercept" in started
    assert "unittest" not in started  # TestCase classes are recognised without it
