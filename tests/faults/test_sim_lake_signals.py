"""SIGINT and SIGTERM in the middle of `rugslab sim lake`: it stops at once (130, 143) saying how
many games were written and that the same command finishes the job; running it again then
gives every game once, with no duplicated tick.

Found by this attack and mended: SIGTERM ended the build with no word (Python's default), and
neither signal said what the lake now held or how to finish."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import rugslab_env

from rugslab.lake.catalog import connect

GAMES = 5760  # 4 days of 1,440: one write each


def _commits(lake: Path) -> int:
    """Commits of the games table: its creation, then one per day written."""
    return len(list((lake / "games" / "_delta_log").glob("*.json")))


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "says"), [
    (signal.SIGINT, 130, "rugslab: interrupted (SIGINT)"),
    (signal.SIGTERM, 143, "rugslab: terminated (SIGTERM)"),
], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_build_stops_says_so_and_a_rerun_finishes(
    tmp_path: Path, sig: signal.Signals, code: int, says: str
) -> None:
    lake = tmp_path / "lake"
    cmd = [sys.executable, "-m", "rugslab", "sim", "lake", "--games", str(GAMES), "--lake",
           str(lake), "--no-progress"]
    proc = subprocess.Popen(cmd, env=rugslab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ((lake / "games" / "_delta_log").is_dir() and _commits(lake) >= 2):
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no day was ever written"
            time.sleep(0.05)
        proc.send_signal(sig)  # a day is written; the next is being simulated or written
        out = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, out
    assert says in out and "Traceback" not in out, out
    m = re.search(r"stopped after ([\d,]+) of 5,760 games were written to (.+); run the same "
                  r"command again to finish", out)
    assert m, out
    assert int(m[1].replace(",", "")) % 1440 == 0 and int(m[1].replace(",", "")) < GAMES, out

    again = subprocess.run(cmd, env=rugslab_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with connect(lake) as con:
        games, ids = con.execute("SELECT count(*), count(DISTINCT game_id) FROM games").fetchone()
        ticks, keys = con.execute(
            "SELECT count(*), count(DISTINCT (game_id, tick)) FROM ticks").fetchone()
        tick_games = con.execute("SELECT count(DISTINCT game_id) FROM ticks").fetchone()[0]
    assert (games, ids, tick_games) == (GAMES, GAMES, GAMES)
    assert ticks == keys  # no tick twice
