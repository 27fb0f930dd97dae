"""Shared fixtures. Real data lives in `../shared` beside the repository (never copied in).

In CI (`CI=true`) a missing `../shared` is a test failure; elsewhere such tests skip with a
clear message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rugslab import testing

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def require_shared() -> Path:
    """The `../shared` folder; skip (or fail under CI=true) when it is missing."""
    return testing.require_shared(SHARED)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path to `../shared` (skips, or fails under CI=true, when missing)."""
    return require_shared()


@pytest.fixture(scope="session")
def captures_dir(shared_dir: Path) -> Path:
    """Path to `../shared/captures`."""
    return shared_dir / "captures"


@pytest.fixture(scope="session")
def recordings_dir(shared_dir: Path) -> Path:
    """Path to `../shared/recordings`."""
    return shared_dir / "recordings"
