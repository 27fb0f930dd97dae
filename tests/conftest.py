"""Shared fixtures. Real data lives in `../shared` beside the repository (never copied in).

In CI (`CI=true`) a missing `../shared` is a test failure; elsewhere such tests skip with a
clear message.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rugslab import testing

if TYPE_CHECKING:
    from rugslab.report import LakeReport

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


@dataclass(frozen=True)
class ReportLake:
    """A lake ingested twice (captures, then recordings) and the report read between the two
    ingests (`first`: 50 replicates, seed 0). Read it only: the session shares it."""

    path: Path
    first: LakeReport


@pytest.fixture(scope="session")
def report_lake(captures_dir: Path, recordings_dir: Path,
                tmp_path_factory: pytest.TempPathFactory) -> ReportLake:
    """`../shared/captures` ingested, its report taken, then `../shared/recordings` ingested."""
    from rugslab.api import Lake
    from rugslab.report import build_report

    lake = tmp_path_factory.mktemp("report") / "lake"
    Lake(lake).ingest([captures_dir])
    first = build_report(lake, n_resamples=50)
    time.sleep(0.01)  # the second ingest commits after the first report's read time (ms)
    Lake(lake).ingest([recordings_dir])
    return ReportLake(lake, first)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[object]:
    """Ray in local mode with 2 CPUs, started once for the test session and shut down at its
    end (`rugslab.strategy.ray_engine.ray_session`); code under test that opens its own
    session reuses this one. Skips when Ray is not installed."""
    pytest.importorskip("ray")
    from rugslab.strategy.ray_engine import ray_session

    with ray_session(num_cpus=2) as ray:
        yield ray
