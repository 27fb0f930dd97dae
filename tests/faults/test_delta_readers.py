"""Plain readers during a collect whose partitions are compacted over and over: polars
`scan_delta` and DuckDB over the table's pyarrow dataset never see a key twice, while the
collector's commits and the compactions race (each commit that loses is retried)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from procs import start_rugslab, stop_with, wait_for

from rugslab.lake.catalog import read_table
from rugslab.testing import running_server, sim_frames

#: Compacts the collector's busiest tables every 0.2 s until killed; prints a line per
#: compaction that rewrote files.
_COMPACTOR = """
import sys, time
from rugslab.lake.delta_maintain import maintain
lake = sys.argv[1]
while True:
    for table in ("ticks", "raw_events", "games"):
        try:
            rep = maintain(lake, table, commits_between_compactions=2)
        except Exception as e:  # the table is not created yet
            print("skip", table, type(e).__name__, flush=True)
            continue
        if rep.compacted:
            print("compacted", table, rep.files_removed, flush=True)
    time.sleep(0.2)
"""

#: Reads each table's key columns with two plain engines in a loop for `seconds`; prints one
#: JSON line per read: engine, table, rows, distinct keys.
_READERS = """
import json, sys, time
from pathlib import Path
import duckdb
import polars as pl
from deltalake import DeltaTable
from pyarrow.fs import LocalFileSystem, SubTreeFileSystem
lake, seconds = Path(sys.argv[1]), float(sys.argv[2])
keys = {"ticks": ["game_id", "tick"], "raw_events": ["frame_id"], "games": ["game_id"]}
end = time.monotonic() + seconds
while time.monotonic() < end:
    for table, key in keys.items():
        root = str((lake / table).resolve())
        if not (lake / table / "_delta_log").is_dir():
            continue
        frame = pl.scan_delta(root).select(key).collect()
        print(json.dumps({"engine": "polars", "table": table, "rows": frame.height,
                          "keys": frame.n_unique()}), flush=True)
        dataset = DeltaTable(root).to_pyarrow_dataset(
            filesystem=SubTreeFileSystem(root, LocalFileSystem()))
        cols = ", ".join(key)
        rows, distinct = duckdb.sql(
            f"SELECT count(*), count(DISTINCT ({cols})) FROM dataset").fetchall()[0]
        print(json.dumps({"engine": "duckdb", "table": table, "rows": rows, "keys": distinct}),
              flush=True)
    time.sleep(0.05)
"""


@pytest.mark.slow
def test_plain_readers_never_see_a_duplicated_key_during_collect_and_compaction(
    tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    with running_server(sim_frames(400, seed=11, speed=6), wait_for_clients=1) as srv:
        proc, log = start_rugslab(tmp_path, "collect", "--url", srv.url, "--lake", str(lake),
                                  "--flush-every", "0.3s")
        wait_for("the first ticks commit", lambda: (lake / "ticks" / "_delta_log").is_dir(),
                 proc, log, timeout_s=60)
        compactor = subprocess.Popen([sys.executable, "-c", _COMPACTOR, str(lake)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            readers = subprocess.run([sys.executable, "-c", _READERS, str(lake), "25"],
                                     capture_output=True, text=True, timeout=240)
        finally:
            compactor.kill()
            c_out, c_err = compactor.communicate()
        stop_with(proc, signal.SIGINT, log, 60)  # exit 0, no traceback (else killed, failed)
    assert readers.returncode == 0, readers.stderr[-3000:]
    reads = [json.loads(line) for line in readers.stdout.splitlines()]
    for engine in ("polars", "duckdb"):
        for table in ("ticks", "raw_events", "games"):
            mine = [r for r in reads if r["engine"] == engine and r["table"] == table]
            assert len(mine) >= 10, (engine, table, len(mine))
            assert all(r["rows"] == r["keys"] for r in mine), [
                r for r in mine if r["rows"] != r["keys"]][:3]
            assert mine[-1]["rows"] > mine[0]["rows"]  # the collector kept writing
    compactions = [line for line in c_out.splitlines() if line.startswith("compacted")]
    assert len(compactions) >= 5, (c_out[-2000:], c_err[-2000:])
    assert "Traceback" not in c_err, c_err[-3000:]
    # and the lake as a whole: each key once
    ticks = read_table("ticks", lake)
    assert ticks.height == ticks.select("game_id", "tick").n_unique() > 0
