"""Shared fixtures. Real data lives in `../shared` beside the repository (never copied in).

In CI (`CI=true`) a missing `../shared` is a test failure; elsewhere such tests skip with a
clear message.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
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


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """Mount a small tmpfs: `tmpfs("disk", "160k")` mounts one of that size at `tmp_path/disk`
    and returns it (root only: skips otherwise, or where mounting is refused); every mount is
    undone at the end of the test. A real full or read-only disk, not a mock."""
    mounts: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("a real full or read-only disk needs a tmpfs mount, which needs root")
        where = tmp_path / name
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                               str(where)], capture_output=True, text=True, check=False)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounts.append(where)
        return where

    try:
        yield mount
    finally:
        for where in mounts:
            subprocess.run(["umount", "-l", str(where)], check=False)
