"""Every Python block of README.md and docs/*.md runs as written, and so does every
example (docs/README.md, "Code blocks"): the documentation cannot drift from the API."""

from __future__ import annotations

import asyncio
import inspect
import io
import re
import subprocess
import sys
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iotmock import IotMock
from iotmock._mock import DECORATOR_ATTRIBUTE
from iotmock.core.intercept import active_mock

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NO_RUN = "no-run"


def _blocks() -> Iterator[Any]:
    for page in PAGES:
        text = page.read_text()
        for match in BLOCK.finditer(text):
            if NO_RUN in match.group(1).split():
                continue
            line = text.count("\n", 0, match.start(2)) + 1
            name = f"{page.relative_to(ROOT)}:{line}"
            yield pytest.param(name, line, match.group(2), id=name)


def _call(function: Any) -> None:
    """Call a test function a block defines (a parameter `iot_mock` gets an active mock
    configured by its `iot_mock` marker, as the pytest fixture gives it)."""
    parameters = inspect.signature(function).parameters
    arguments: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "iot_mock":  # @pytest.mark.iot_mock(...) configures the fixture
            options.update(mark.kwargs)
    # The decorator's own mock on a decorated test, as the plugin does.
    shared = getattr(function, DECORATOR_ATTRIBUTE, None)
    fixture = shared if isinstance(shared, IotMock) else IotMock(**options)
    with fixture if "iot_mock" in parameters else _nothing() as mock:
        if "iot_mock" in parameters:
            arguments["iot_mock"] = mock
        result = function(**arguments)
        if inspect.iscoroutine(result):
            asyncio.run(result)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(("name", "line", "code"), list(_blocks()))
def test_block_runs_as_written(name: str, line: int, code: str) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    # Padded so a traceback names the page's own line numbers.
    exec(compile("\n" * (line - 1) + code, name, "exec"), namespace)
    for key, value in list(namespace.items()):
        if key.startswith("test_") and inspect.isfunction(value):
            _call(value)
        elif (
            isinstance(value, type)
            and issubclass(value, unittest.TestCase)
            and value.__module__ == "__docs__"
        ):
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(value)
            result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
            assert result.wasSuccessful(), result.errors + result.failures
    assert active_mock() is None, f"{name} left a mock running"


def test_every_page_with_python_is_checked() -> None:
    checked = {param.values[0].split(":")[0] for param in _blocks()}
    assert "README.md" in checked
    assert len(list(_blocks())) >= 15


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs_and_prints_what_it_read_back(example: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
        check=True,
        timeout=120,
    )
    assert result.stdout.strip(), result.stderr
    if example.name == "provision_device.py":
        assert "ACTIVE" in result.stdout
        assert "delta {'temperature': 21}" in result.stdout
        assert "shadow/update/accepted" in result.stdout
