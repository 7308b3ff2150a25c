"""Shared test fixtures. Areas append their own small fixtures below; keep each block short."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_specs() -> Path:
    """../shared/specs, or a skip with the reason printed when the folder is absent."""
    specs = SHARED / "specs"
    if not specs.is_dir():
        print(f"SKIP: {specs} is absent; contract tests need ../shared beside the clone")
        pytest.skip(f"{specs} is absent")
    return specs
