"""Two `rugslab ingest` processes started at the same moment into one lake, on overlapping
inputs, leave the lake one ingest of the union of their inputs leaves: table for table, key for
key, value for value (Delta commits, retried on conflict; no lock file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from procs import run_at_once

from rugslab.lake.catalog import read_table
from rugslab.tables.schemas import TABLES

FIRST = ["2025-12-06_active-to-cooldown.jsonl", "2025-12-12_two-rugs.jsonl"]
SECOND = ["2025-12-12_two-rugs.jsonl", "2026-02-06_phase-samples.json"]
def _ingest_args(lake: Path, captures: Path, names: list[str]) -> list[str]:
    return ["ingest", "--no-progress", "--lake", str(lake), *(str(captures / n) for n in names)]


def _table(lake: Path, table: str) -> pl.DataFrame:
    return read_table(table, lake).sort(list(TABLES[table].key), nulls_last=True)


@pytest.mark.slow
def test_two_ingests_at_once_equal_one_ingest_of_the_union(
    tmp_path: Path, captures_dir: Path
) -> None:
    union = tmp_path / "union"
    one = subprocess.run([sys.executable, "-m", "rugslab",
                          *_ingest_args(union, captures_dir, sorted(set(FIRST + SECOND)))],
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr

    lake = tmp_path / "lake"
    runs = run_at_once(tmp_path, _ingest_args(lake, captures_dir, FIRST),
                       _ingest_args(lake, captures_dir, SECOND))
    assert [r.returncode for r in runs] == [0, 0], [r.stderr[-2000:] for r in runs]

    compared = 0
    for table in TABLES:
        want, got = _table(union, table), _table(lake, table)
        assert got.height == got.select(list(TABLES[table].key)).n_unique(), table
        assert got.equals(want), (table, got.height, want.height)
        compared += want.height
    assert compared > 5000
