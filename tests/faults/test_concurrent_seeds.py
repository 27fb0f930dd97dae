"""Concurrent ingests of one capture into one lake: their summaries' "new" counts add up to
what the lake holds (each seed, row and key claimed by exactly one run, through the commit
metrics of Delta: no lock file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from procs import run_at_once

from rugslab.lake.catalog import connect
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

CAPTURE = "2025-12-12_two-rugs.jsonl"
GID = "20251212-00000000000000aa"
#: A summary row: name, offered, new (rows), rejected (absent on the seeds line).
_ROW = re.compile(r"^([a-z_]+(?: [a-z]+)?)\s+([\d,]+)\s+([\d,]+)(?:\s+([\d,]+))?$")
#: The key of every table the capture fills (raw_events, games, ticks, trades, seeds).
_KEYS = {"raw_events": "frame_id", "games": "game_id", "ticks": "game_id, tick",
         "trades": "trade_id", "seeds": "game_id"}


def _new_counts(summary: str) -> dict[str, int]:
    """The `new rows` column of an ingest summary (`seeds revealed` included)."""
    return {m.group(1): int(m.group(3).replace(",", ""))
            for line in summary.splitlines() if (m := _ROW.match(line.strip()))}


@pytest.mark.slow
def test_two_ingests_started_together_claim_each_new_seed_once(
    tmp_path: Path, captures_dir: Path
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    argv = ["ingest", "--no-progress", "--lake", str(lake), str(captures_dir / CAPTURE)]
    runs = run_at_once(tmp_path, argv, argv, timeout_s=180)
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    outs = [(r.stdout, r.stderr) for r in runs]
    counts = [_new_counts(out) for out, _ in outs]

    with connect(lake) as con:
        revealed = con.sql("SELECT count(*) FROM seeds WHERE server_seed IS NOT NULL").fetchall()
        assert revealed == [(12,)]
        assert sum(c["seeds revealed"] for c in counts) == 12
        assert sorted(c["seeds revealed"] for c in counts) == [0, 12]
        for table, key in _KEYS.items():
            ((rows, keys),) = con.sql(
                f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()
            assert rows == keys > 0, table  # each key once
            assert sum(c[table] for c in counts) == rows, table  # each row claimed once


def test_a_seed_counts_as_revealed_by_the_write_that_adds_it(tmp_path: Path) -> None:
    seed = "7f122ef95df0fd17c3d84cb87da28098078d8fc7202eda326582b4a35ef3c5e4"
    hashed, revealed = RowBatch(), RowBatch()
    hashed.add("seeds", {"game_id": GID, "server_seed_hash": "ab" * 32})
    revealed.add("seeds", {"game_id": GID, "server_seed": seed})
    first = write_batch(tmp_path, hashed)
    second = write_batch(tmp_path, revealed)
    again = write_batch(tmp_path, revealed)
    assert [r.tables["seeds"].revealed for r in (first, second, again)] == [0, 1, 0]
    assert [r.new("seeds") for r in (first, second, again)] == [1, 0, 0]
