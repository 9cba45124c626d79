"""Generated documentation stays current."""

from __future__ import annotations

from pathlib import Path

from iotmock.coverage import render

ROOT = Path(__file__).resolve().parent.parent


def test_coverage_page_is_current() -> None:
    page = (ROOT / "docs" / "coverage.md").read_text()
    assert page == render(), (
        "docs/coverage.md is stale: run `python -m iotmock.coverage > docs/coverage.md`"
    )
