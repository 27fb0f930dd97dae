"""A real collector process killed with SIGKILL mid-game: the lake stays readable and, after
a restart, holds every frame received up to one second before the kill, once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from rugslab.lake.catalog import connect, read_table
from rugslab.lake.delta_read import snapshot_files
from rugslab.sim.feed import ScheduledFrame
from rugslab.tables.schemas import TABLES
from rugslab.testing import running_server, sim_frames


def _collector(url: str, lake: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUGSLAB_")}
    # the lake is written only at rugs (no timer): what came after the last rug is recovered
    # from the journal alone
    return subprocess.Popen(
        [sys.executable, "-m", "rugslab", "collect", "--url", url, "--lake", str(lake),
         "--flush-every", "1h", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_sigkill_mid_game_loses_at_most_the_last_second(tmp_path: Path) -> None:
    sent: list[tuple[float, ScheduledFrame]] = []
    lock = threading.Lock()

    def on_sent(f: ScheduledFrame) -> None:
        with lock:
            sent.append((time.time(), f))

    def mid_game() -> bool:
        with lock:
            if len(sent) < 150:
                return False
            p = sent[-1][1].args[0] if sent[-1][1].event == "gameStateUpdate" else {}
        return bool(p.get("active")) and not p.get("rugged") and p.get("tickCount", 0) > 5

    with running_server(sim_frames(6, seed=4, speed=8), wait_for_clients=1,
                        on_sent=on_sent) as srv:
        proc = _collector(srv.url, tmp_path)
        deadline = time.time() + 60
        while not mid_game() and time.time() < deadline:
            time.sleep(0.05)
        assert mid_game(), "the feed never reached the middle of a game"
        time.sleep(1.7)  # let lake writes and journal syncs happen, then kill at a random point
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        out = proc.communicate(timeout=10)[0].decode()
        assert proc.returncode == -signal.SIGKILL, out

    # readable right after the kill: every view answers, no temporary file is visible
    con = connect(tmp_path)
    for table in TABLES:
        con.sql(f"SELECT count(*) FROM {table}").fetchall()
    con.close()
    assert all(f.suffix == ".parquet" and f.exists()
               for t in TABLES for f, _ in snapshot_files(tmp_path, t))

    # restart against a feed that is gone: the journal is replayed into the lake
    restart = _collector("http://127.0.0.1:9", tmp_path, "--duration", "1s")
    out = restart.communicate(timeout=60)[0].decode()
    assert restart.returncode == 0, out
    recovered = re.search(r"recovered from earlier journals: ([\d,]+) frames", out)
    assert recovered and int(recovered.group(1).replace(",", "")) > 0, out

    raw = read_table("raw_events", tmp_path)
    assert raw.height == raw["frame_id"].n_unique(), "duplicate frames after recovery"
    stored_set = {f"{e}\x00{a}" for e, a in zip(raw["event"], raw["args_json"], strict=True)}
    due = [f for t, f in sent if t <= killed_at - 1.0]
    missing = [f for f in due
               if f"{f.event}\x00{orjson.dumps(f.args).decode()}" not in stored_set]
    assert len(due) > 100
    assert missing == [], f"{len(missing)} of {len(due)} frames sent >1 s before the kill lost"
    for table in TABLES:
        df = read_table(table, tmp_path)
        assert df.height == df.unique(subset=list(TABLES[table].key)).height, table
