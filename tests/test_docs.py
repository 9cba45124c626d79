"""Generated documentation stays current."""

from __future__ import annotations

from pathlib import Path

import botocore
import pytest

from iotmock.coverage import generated_from, render

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_page_is_current() -> None:
    page = (ROOT / "docs" / "coverage.md").read_text()
    source = generated_from(page)
    assert source is not None, "docs/coverage.md does not name the botocore it came from"
    if source != botocore.__version__:
        # The page documents the pinned model; another botocore is checked by the drift
        # run (tests/test_model_drift.py), which renders the page in memory.
        pytest.skip(f"docs/coverage.md is for botocore {source}, {botocore.__version__} runs")
    assert page == render(), (
        "docs/coverage.md is stale: run `python -m iotmock.coverage > docs/coverage.md`"
    )
