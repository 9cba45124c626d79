"""What iotmock costs before a test uses it, against boto3, each from a fresh process.

- `import boto3` / `import iotmock` / `from iotmock import mock_iot`: import time, and
  the ratio of `from iotmock import mock_iot` to `import boto3` (the contract: at most
  1.3x).
- `import boto3; from iotmock import mock_iot` against `import boto3` alone: what a
  test module that uses iotmock really pays on top of boto3.
- the first `mock_iot().start()` (boto3 loaded): loading the wire core and the families
  (once per process).
- the pytest plugin: importing `iotmock.plugin` in a process where pytest is loaded
  (what every pytest session of an environment with iotmock installed pays), and a whole
  pytest session (in-process, after the first) on a file that does not use iotmock,
  with the plugin and with `-p no:iotmock`.

Each figure is the fastest of N fresh processes (as `timeit` reports), so other load on
the machine inflates it as little as possible.

    python benchmarks/bench_import.py            # 15 processes per figure
    python benchmarks/bench_import.py --quick    # 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMED = """
import time
{setup}
started = time.perf_counter()
{code}
print(time.perf_counter() - started)
"""


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    return environment


def fastest_in_process(code: str, runs: int, setup: str = "") -> float:
    """The fastest time `code` takes in a fresh interpreter (after `setup`)."""
    best = float("inf")
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", TIMED.format(setup=setup, code=code)],
            capture_output=True,
            text=True,
            check=True,
            env=_environment(),
        )
        best = min(best, float(result.stdout.split()[-1]))
    return best


PYTEST_PAIR = """
import contextlib, gc, io, statistics, time
import pytest

times = {{False: [], True: []}}
for index in range({runs}):
    # Alternate which goes first, and start each session from a collected heap.
    for plugin in (False, True) if index % 2 else (True, False):
        arguments = ["-q", "-p", "no:cacheprovider", *([] if plugin else ["-p", "no:iotmock"])]
        gc.collect()
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            assert pytest.main(arguments) == 0
        times[plugin].append(time.perf_counter() - started)
paired = statistics.median(b - a for a, b in zip(times[False], times[True]))
print(min(times[False]), min(times[True]), paired)
"""


def fastest_pytest_pair(directory: Path, runs: int) -> tuple[float, float, float]:
    """The fastest in-process pytest session without and with the plugin, and the median
    of the paired differences, alternating the two in one process so that machine load
    and interpreter start-up affect both alike (the plugin's import, about 1 ms, is
    measured above)."""
    result = subprocess.run(
        [sys.executable, "-c", PYTEST_PAIR.format(runs=runs * 2)],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
        env=_environment(),
    )
    without, with_plugin, paired = result.stdout.split()[-3:]
    return float(without), float(with_plugin), float(paired)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    runs = 5 if parser.parse_args().quick else 15

    boto3_import = fastest_in_process("import boto3", runs)
    package = fastest_in_process("import iotmock", runs)
    mock_iot = fastest_in_process("from iotmock import mock_iot", runs)
    both = fastest_in_process("import boto3\nfrom iotmock import mock_iot", runs)
    first_start = fastest_in_process(
        "mock_iot().start()", runs, setup="import boto3\nfrom iotmock import mock_iot"
    )
    plugin = fastest_in_process("import iotmock.plugin", runs, setup="import pytest")
    print(f"import boto3                     {boto3_import * 1e3:7.1f} ms")
    print(f"import iotmock                   {package * 1e3:7.1f} ms")
    print(
        f"from iotmock import mock_iot     {mock_iot * 1e3:7.1f} ms"
        f"  ({mock_iot / boto3_import:.2f}x import boto3)"
    )
    print(
        f"import boto3 + mock_iot          {both * 1e3:7.1f} ms"
        f"  ({both / boto3_import:.2f}x import boto3 alone, +{(both - boto3_import) * 1e3:.1f} ms)"
    )
    print(
        f"first mock_iot().start()         {first_start * 1e3:7.1f} ms"
        "  (boto3 loaded; loads the wire core and the families)"
    )
    print(f"import iotmock.plugin (pytest)   {plugin * 1e3:7.1f} ms")

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        (directory / "test_plain.py").write_text("def test_plain():\n    assert True\n")
        (directory / "pytest.ini").write_text("[pytest]\n")
        without, with_plugin, paired = fastest_pytest_pair(directory, runs)
    print(f"pytest session, -p no:iotmock    {without * 1e3:7.1f} ms")
    print(f"pytest session, with the plugin  {with_plugin * 1e3:7.1f} ms")
    print(f"  paired median difference       {paired * 1e3:+7.1f} ms")


if __name__ == "__main__":
    main()
