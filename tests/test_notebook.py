"""rugslab.notebook: the lake from the environment, game origins, and the notebook helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import numpy as np
import polars as pl
import pytest

from rugslab import notebook
from rugslab.errors import ConfigError, LakeError
from rugslab.fair import replay_game
from rugslab.lake.writer import write_batch
from rugslab.plots import render
from rugslab.tables.batch import RowBatch

T0 = dt.datetime(2025, 12, 12, 17, tzinfo=dt.UTC)
IDS = [f"20251212-{i:016x}" for i in range(1, 7)]


def _game(gid: str, **kw: object) -> dict:
    return {"game_id": gid, "seen_live": False, "revealed": False, **kw}


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    """Six games, one per origin: loopback, live, capture, recording, history, unknown."""
    b = RowBatch()
    b.extend("games", [_game(IDS[0], rug_tick=5, completeness="complete"),
                       _game(IDS[1], rug_tick=9, first_live_tick=3),
                       _game(IDS[2]), _game(IDS[3]), _game(IDS[4], revealed=True),
                       _game(IDS[5])])
    ev = {"recv_ts": T0, "event": "gameStateUpdate", "args_json": "[]"}
    b.extend("raw_events", [
        {**ev, "frame_id": "a" * 16, "game_id": IDS[0], "session_id": "s-loop",
         "source": "collector:s-loop"},
        {**ev, "frame_id": "b" * 16, "game_id": IDS[1], "session_id": "s-live",
         "source": "collector:s-live"},
        # the loopback game was also in a capture file: the collector session wins
        {**ev, "frame_id": "c" * 16, "game_id": IDS[0], "source": "cap.jsonl"},
        {**ev, "frame_id": "d" * 16, "game_id": IDS[2], "source": "cap.jsonl"},
    ])
    b.extend("connections", [
        {"session_id": "s-loop", "connection_no": 1, "kind": "connected", "recv_ts": T0,
         "url": "http://127.0.0.1:40123"},
        {"session_id": "s-live", "connection_no": 1, "kind": "connected", "recv_ts": T0,
         "url": "https://backend.rugs.fun"},
    ])
    b.extend("ticks", [{"game_id": IDS[3], "tick": 0, "price_x": 1.0, "recv_ts": T0,
                        "source": "import", "is_rug": False}])
    write_batch(tmp_path / "lake", b)
    return tmp_path / "lake"


def test_game_origins_one_per_kind_of_evidence(lake: Path) -> None:
    o = notebook.game_origins(lake)
    assert o.select("game_id", "origin").rows() == list(zip(IDS, [
        "loopback", "live", "capture", "recording", "history", "unknown"], strict=True))
    assert o["seen_by"][0].to_list() == ["cap.jsonl", "collector:s-loop"]


def test_lab_games_keeps_real_origins_and_samples(lake: Path) -> None:
    lab = notebook.open_lake({"RUGSLAB_LAKE": str(lake)})
    assert lab.lake == lake.resolve() and lab.sample_size is None
    assert lab.games()["game_id"].to_list() == IDS[1:]
    assert lab.games(["loopback"])["game_id"].to_list() == [IDS[0]]
    small = notebook.open_lake({"RUGSLAB_LAKE": str(lake), "RUGSLAB_SAMPLE_SIZE": "2"})
    picked = small.games(notebook.ORIGINS)
    assert picked.height == 2 and picked["game_id"].is_in(IDS).all()
    assert picked["game_id"].to_list() == small.games(notebook.ORIGINS)["game_id"].to_list()
    assert (small.cap(10), small.cap(1), lab.cap(10)) == (2, 1, 10)
    with pytest.raises(ConfigError, match="origins"):
        lab.games(["simulated"])
    summary = notebook.origin_summary(lab.games(notebook.ORIGINS))
    live = summary.filter(pl.col("origin") == "live").row(0, named=True)
    assert (live["games"], live["rugged"], live["joined_late"]) == (1, 1, 1)
    rows = notebook.table_rows(lab).filter(pl.col("table") == "games").row(0, named=True)
    assert (rows["rows"], rows["games"]) == (6, 6)
    assert lab.ticks([IDS[3]])["tick"].to_list() == [0]


def test_open_lake_finds_a_relative_lake_one_folder_up(lake: Path, tmp_path: Path) -> None:
    sub = tmp_path / "notebooks"
    sub.mkdir()
    lab = notebook.open_lake({"RUGSLAB_LAKE": "lake"}, cwd=sub)
    assert lab.lake == lake.resolve()
    with pytest.raises(LakeError, match="RUGSLAB_LAKE"):
        notebook.open_lake({"RUGSLAB_LAKE": "nowhere"}, cwd=sub)
    with pytest.raises(ConfigError, match="RUGSLAB_SAMPLE_SIZE"):
        notebook.open_lake({"RUGSLAB_LAKE": str(lake), "RUGSLAB_SAMPLE_SIZE": "0"})



def test_open_lake_switches_altair_to_the_offline_renderer(lake: Path) -> None:
    before = alt.renderers.active
    alt.renderers.enable("default")
    try:
        notebook.open_lake({"RUGSLAB_LAKE": str(lake)})
        assert alt.renderers.active == render.RENDERER
    finally:
        alt.renderers.enable(before)

def test_exceedance_counts_and_wilson_interval() -> None:
    e = notebook.exceedance(pl.Series([1.0, 2.0, 3.0, None, 10.0]), [2, 10, 11])
    assert e.select("level_x", "n", "k", "share").rows() == [
        (2.0, 4, 3, 0.75), (10.0, 4, 1, 0.25), (11.0, 4, 0, 0.0)]
    assert e["lo"][2] == 0.0 and 0.0 < e["hi"][2] < 1.0
    with pytest.raises(ConfigError):
        notebook.exceedance(np.array([np.nan]), [1])


def test_sidebet_rule_check_marks_disagreements() -> None:
    bets = pl.DataFrame({"game_id": ["g", "g", "g", "h"], "start_tick": [0, 10, 20, 0],
                         "end_tick": [40, 50, 60, 40], "resolved": [True, True, False, True],
                         "won": [False, True, None, True]})
    games = pl.DataFrame({"game_id": ["g", "h"], "rug_tick": [50, None]})
    c = notebook.sidebet_rule_check(bets, games)
    # g rugs at 50: the bet ending at 40 lost (agrees), the one ending at 50 won (agrees);
    # the unresolved bet and the game without a rug tick are left out
    assert c.select("start_tick", "won", "rule_won", "agrees").rows() == [
        (0, False, False, True), (10, True, True, True)]
    wrong = bets.with_columns(pl.Series("won", [True, True, None, True]))
    assert notebook.sidebet_rule_check(wrong, games)["agrees"].to_list() == [False, True]


def test_replay_vs_recorded_flags_a_changed_price() -> None:
    gid = "20251207-00000000000000aa"
    path = replay_game("seed-for-a-test", gid, "v3")
    n = min(len(path.prices), 5)
    ticks = pl.DataFrame({"game_id": gid, "tick": list(range(n)),
                          "price_x": [*path.prices[: n - 1], path.prices[n - 1] + 1e-9],
                          "source": "live", "is_rug": False})
    r = notebook.replay_vs_recorded("seed-for-a-test", gid, "v3", ticks)
    assert r.height == len(path.prices)
    assert r["equal"].to_list()[:n] == [True] * (n - 1) + [False]
    assert r["recorded_x"].null_count() == len(path.prices) - n


def test_a_lab_is_pinned_to_the_lake_it_opened_and_says_which(lake: Path) -> None:
    import time

    lab = notebook.open_lake({"RUGSLAB_LAKE": str(lake)})
    text = str(lab)
    assert "games v" in text and "read " in text and "reproduce with --as-of " in text
    before = (lab.table("games").height, lab.sql("SELECT count(*) AS n FROM games")["n"][0],
              lab.games(notebook.ORIGINS).height)
    time.sleep(1.1)
    later = RowBatch()
    later.add("games", _game("20251212-00000000000000ff"))
    write_batch(lake, later)
    # the pinned lab still sees the lake as it was; a new one sees the new game
    assert (lab.table("games").height, lab.sql("SELECT count(*) AS n FROM games")["n"][0],
            lab.games(notebook.ORIGINS).height) == before == (6, 6, 6)
    assert notebook.open_lake({"RUGSLAB_LAKE": str(lake)}).table("games").height == 7
    # RUGSLAB_AS_OF, set to the time the first lab printed, reproduces it
    stamp = text.rsplit("--as-of ", 1)[1].rstrip(")")
    again = notebook.open_lake({"RUGSLAB_LAKE": str(lake), "RUGSLAB_AS_OF": stamp})
    assert again.table("games").height == 6
    assert again.snapshot is not None and lab.snapshot is not None
    assert again.snapshot.versions() == lab.snapshot.versions()
    with pytest.raises(ConfigError, match="Invalid RUGSLAB_AS_OF 'soon'"):
        notebook.open_lake({"RUGSLAB_LAKE": str(lake), "RUGSLAB_AS_OF": "soon"})


def test_stream_passes_a_table_through_in_batches_at_the_lab_snapshot(lake: Path) -> None:
    lab = notebook.open_lake({"RUGSLAB_LAKE": str(lake)})
    more = RowBatch()
    more.extend("ticks", [{"game_id": IDS[3], "tick": t, "price_x": 1.0, "recv_ts": T0,
                           "source": "import", "is_rug": False} for t in range(1, 12)])
    write_batch(lake, more)  # after the lab's snapshot: the lab does not see it
    got = list(lab.stream("ticks", ["game_id", "tick"], batch_rows=1))
    assert [b.height for b in got] == [1] and got[0].columns == ["game_id", "tick"]
    fresh = notebook.Lab(lake=lake)
    got = list(fresh.stream("ticks", ["tick"], batch_rows=5))
    assert all(b.height <= 5 for b in got)
    assert sorted(pl.concat(got)["tick"].to_list()) == list(range(12))
    assert list(fresh.stream("trades", ["trade_id"])) == []  # not in this lake
    with pytest.raises(ConfigError, match="Invalid batch_rows 0"):
        next(fresh.stream("ticks", ["tick"], batch_rows=0))
    with pytest.raises(KeyError, match="unknown lake table 'tick'"):
        next(fresh.stream("tick", ["tick"]))


def test_rows_of_games_reads_only_the_games_asked_for_in_key_order(lake: Path) -> None:
    lab = notebook.Lab(lake=lake)
    assert lab.rows_of_games("games", [IDS[4], IDS[1], "nope"], columns=["game_id"])[
        "game_id"].to_list() == [IDS[1], IDS[4]]
    assert lab.rows_of_games("raw_events", [IDS[0]])["frame_id"].to_list() == ["a" * 16,
                                                                              "c" * 16]
    assert lab.ticks([IDS[3]]).select("game_id", "tick").rows() == [(IDS[3], 0)]
    assert lab.rows_of_games("ticks", []).height == 0
    with pytest.raises(KeyError, match="unknown lake table 'bets'"):
        lab.rows_of_games("bets", IDS)
    assert lab.rows_of_games("side_bets", IDS).height == 0  # no side bets in this lake
