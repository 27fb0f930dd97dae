"""Every command exits with its own status on a Delta lake: 24 runs of `rugslab sql`,
`ingest` and `status` in a row, each must exit 0 with no native abort at interpreter exit
(deltalake's pyarrow dataset aborted 1 run in 4 with "terminate called without an active
exception", exit 134; rugslab reads through the snapshot's file list instead). At that rate
24 runs miss it with probability 0.75**24 = 0.1% (50 runs cost CI a minute more)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CAPTURE = "2025-12-12_two-rugs.jsonl"
RUNS = 24


@pytest.mark.slow
def test_24_runs_of_sql_ingest_and_status_each_exit_0(
    tmp_path: Path, captures_dir: Path
) -> None:
    lake = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUGSLAB_")}
    commands = [
        ["ingest", "--no-progress", "--lake", str(lake), str(captures_dir / CAPTURE)],
        ["sql", "--lake", str(lake), "SELECT count(*) FROM ticks JOIN games USING (game_id)"],
        ["status", "--lake", str(lake)],
    ]
    failures = []
    for i in range(RUNS):
        args = commands[i % len(commands)]
        run = subprocess.run([sys.executable, "-m", "rugslab", *args], env=env,
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0 or "terminate called" in run.stderr:
            failures.append((i, args[0], run.returncode, run.stderr[-500:]))
    assert failures == [], failures
