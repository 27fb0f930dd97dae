"""The collector against the project's own servers on 127.0.0.1: the lake it builds equals the
offline ingest of the same capture, and faults never crash it nor duplicate rows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from rugslab.collector.journal import pending_journals
from rugslab.collector.run import CollectOptions, CollectSummary, collect_async
from rugslab.feed.frames import UNDECODABLE_EVENT
from rugslab.ingest import ingest
from rugslab.lake.catalog import read_table
from rugslab.sim.faults import Faults
from rugslab.sim.feed import ScheduledFrame
from rugslab.tables.schemas import TABLES
from rugslab.testing import RunningServer, replay_frames, running_server, sim_frames

CAPTURES = [
    "2025-12-06_active-to-cooldown.jsonl",
    "2025-12-12_two-rugs.jsonl",
    "2026-02-06_phase-samples.json",
]
#: Columns that hold the receiver's clock, which differs between a capture and a replay of it.
CLOCK_COLUMNS = {"recv_ts", "recv_mono_ns", "first_seen_ts", "start_ts", "end_ts", "frame_id",
                 "seq", "session_id", "source"}


def collect_until_feed_done(srv: RunningServer, lake: Path, **opts: object) -> CollectSummary:
    async def run() -> CollectSummary:
        stop = asyncio.Event()

        async def stopper() -> None:
            await asyncio.to_thread(srv.wait_done, 60.0)
            await asyncio.sleep(0.5)
            stop.set()

        task = asyncio.ensure_future(stopper())
        options = CollectOptions(url=srv.url, lake=lake, flush_every_s=1.0, status_every_s=0,
                                 backoff_base_s=0.05, backoff_cap_s=0.2, **opts)  # type: ignore[arg-type]
        summary = await collect_async(options, stop, out=None)
        await task
        return summary

    return asyncio.run(run())


def content(lake: Path, table: str) -> pl.DataFrame:
    """A table without receiver-clock columns, sorted, for comparing two lakes."""
    df = read_table(table, lake).drop("date")
    if table == "raw_events":
        df = df.filter(~pl.col("event").is_in(["connect", "disconnect"]))
    df = df.drop([c for c in df.columns if c in CLOCK_COLUMNS])
    return df.sort(df.columns, nulls_last=True)


@pytest.mark.parametrize("name", CAPTURES)
def test_collecting_a_replayed_capture_gives_the_offline_ingest(
    name: str, captures_dir: Path, tmp_path: Path
) -> None:
    capture = captures_dir / name
    offline, live = tmp_path / "offline", tmp_path / "live"
    ingest([capture], lake=offline, progress=False)
    with running_server(replay_frames([capture], speed=200), wait_for_clients=1) as srv:
        summary = collect_until_feed_done(srv, live)
        assert srv.stats()["totals"]["events"] == 0
    assert summary.frames == content(offline, "raw_events").height
    for table in TABLES:
        if table in ("connections", "verifications"):
            continue
        a, b = content(offline, table), content(live, table)
        assert a.equals(b), f"{name}: table {table} differs ({a.height} vs {b.height} rows)"
    if name.startswith("2025-12"):  # the continuous captures hold active frames' leaderboards
        for table in ("leaderboard", "player_games", "player_reconciliation"):
            assert content(live, table).height > 0, f"{name}: the collector wrote no {table}"
    assert content(live, "connections")["kind"].to_list() == ["connected", "disconnected"]
    assert pending_journals(live) == []


@pytest.mark.slow
def test_faults_never_crash_and_never_duplicate_rows(tmp_path: Path) -> None:
    faults = Faults(drop=0.05, duplicate=0.05, reorder=0.05, malformed=0.03,
                    disconnect_every_s=1.5, seed=11)
    with running_server(sim_frames(4, seed=21, speed=30), faults=faults,
                        wait_for_clients=1) as srv:
        summary = collect_until_feed_done(srv, tmp_path)
        fstats = srv.server.fault_stats
    for table in TABLES:
        df = read_table(table, tmp_path)
        key = list(TABLES[table].key)
        assert df.height == df.unique(subset=key).height, f"duplicate rows in {table}"
    connections = read_table("connections", tmp_path)
    assert connections.filter(pl.col("kind") == "connected").height >= 2
    assert "server disconnect" in connections["reason"].to_list()
    games = read_table("games", tmp_path)
    # drops while connected and frames missed while away leave holes the ledger names,
    # unless partialPrices/gameHistory backfilled them
    gaps = read_table("gaps", tmp_path)
    missing = int(games["ticks_missing"].fill_null(0).sum())
    assert gaps["n_ticks"].sum() == missing
    assert fstats.malformed > 0
    rejects = read_table("rejects", tmp_path)
    # packets cut mid-JSON never reach an event handler: the client keeps them as rejects
    undecodable = rejects.filter(pl.col("reason").str.starts_with("undecodable Socket.IO packet"))
    assert 0 < undecodable.height <= fstats.malformed_kinds["truncated_packet"]
    assert rejects.height > undecodable.height  # wrong types / missing keys, from the assembler
    assert summary.disconnects >= 2
    # nothing received is lost: every frame the collector got is one raw row (an undecodable
    # packet too, as a `rugslab/undecodable` frame with its rejects row), and it got no more
    # than the server sent (frames sent while it was away are the gaps above)
    raw = read_table("raw_events", tmp_path)
    assert raw.height == summary.frames <= fstats.frames_out
    assert raw.filter(pl.col("event") == UNDECODABLE_EVENT).height == undecodable.height


def _schedule_with_a_hole(seed: int = 0) -> tuple[str, list[ScheduledFrame], list[ScheduledFrame]]:
    """Two simulated games; ticks 10..30 of the first are never sent. Returns the first game's
    id, the frames up to its rug, and the rest (which reveals it), each starting at 0 s."""
    for s in range(seed, seed + 50):
        frames = list(sim_frames(2, seed=s, speed=200))
        first = frames[0].args[0]["gameId"]
        rug = next(i for i, f in enumerate(frames)
                   if f.event == "gameStateUpdate" and f.args[0].get("gameId") == first
                   and f.args[0].get("rugged"))
        if frames[rug].args[0]["tickCount"] > 40:
            break

    def away(f: ScheduledFrame) -> bool:
        p = f.args[0] if f.event == "gameStateUpdate" else {}
        return p.get("gameId") == first and p.get("active") and 10 <= p.get("tickCount", -1) <= 30

    head = [f for f in frames[: rug + 1] if not away(f)]
    t0 = frames[rug + 1].at_s
    tail = [replace(f, at_s=f.at_s - t0) for f in frames[rug + 1 :]]
    return first, head, tail


def test_ticks_missed_while_away_are_in_the_gap_ledger_until_history_fills_them(
    tmp_path: Path,
) -> None:
    game, head, tail = _schedule_with_a_hole()
    with running_server(head, wait_for_clients=1) as srv:
        collect_until_feed_done(srv, tmp_path)
    gaps = read_table("gaps", tmp_path).drop("date")
    # the sliding partialPrices window of tick 31 filled 27..30; 10..26 stay open
    assert gaps.rows() == [(game, 10, 26, 17, "not_received")]
    g = read_table("games", tmp_path).filter(pl.col("game_id") == game)
    assert (g["ticks_missing"].item(), g["completeness"].item()) == (17, "partial")

    with running_server(tail, wait_for_clients=1) as srv:
        collect_until_feed_done(srv, tmp_path)
    assert read_table("gaps", tmp_path).filter(pl.col("game_id") == game).height == 0
    g = read_table("games", tmp_path).filter(pl.col("game_id") == game)
    assert (g["ticks_missing"].item(), g["completeness"].item()) == (0, "complete")
    ticks = read_table("ticks", tmp_path).filter(pl.col("game_id") == game)
    sources = dict(ticks.group_by("source").len().iter_rows())
    assert sources["history"] == 17 and sources["partial"] == 4


def _fail_first_writes(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The collector's first `n` lake writes fail (disk full); the later ones are real."""
    import rugslab.collector.run as run
    from rugslab.errors import LakeError

    real = run.write_batch
    calls = {"n": 0}

    def flaky(lake: Path, batch: object) -> object:
        calls["n"] += 1
        if calls["n"] <= n:
            raise LakeError("disk full (simulated)", path=lake)
        return real(lake, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "write_batch", flaky)


def test_failed_lake_writes_are_retried_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_first_writes(monkeypatch, 2)
    with running_server(sim_frames(2, seed=3, speed=40), wait_for_clients=1) as srv:
        summary = collect_until_feed_done(srv, tmp_path)
    assert summary.write_failures == 2
    assert "LAKE WRITES FAILED 2 times" in str(summary)
    assert read_table("raw_events", tmp_path).height == summary.frames
    assert pending_journals(tmp_path) == []  # everything reached the lake in the end


def test_when_the_last_write_fails_the_journal_is_left_for_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rugslab.collector.run as run
    from rugslab.errors import LakeError

    def broken(lake: Path, batch: object) -> object:
        raise LakeError("read-only file system (simulated)", path=lake)

    monkeypatch.setattr(run, "write_batch", broken)
    with running_server(sim_frames(1, seed=3, speed=100), wait_for_clients=1) as srv:
        summary = collect_until_feed_done(srv, tmp_path)
    assert summary.frames > 0 and summary.write_failures >= 1
    assert pending_journals(tmp_path) == summary.journal_files
    monkeypatch.undo()
    recovered = run.recover_journals(tmp_path)
    assert recovered is not None and recovered.frames == summary.frames
    assert read_table("raw_events", tmp_path).height == summary.frames


def test_rows_past_the_pending_bound_are_let_go_and_recovered_from_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rugslab.collector.run as run

    _fail_first_writes(monkeypatch, 1)
    with running_server(sim_frames(2, seed=3, speed=40), wait_for_clients=1) as srv:
        # any frame text is too much to hold
        summary = collect_until_feed_done(srv, tmp_path, max_pending_raw_bytes=1)
    assert summary.write_failures == 1
    lost = summary.frames - read_table("raw_events", tmp_path).height
    assert lost > 0  # the failed write's rows were let go from memory ...
    assert pending_journals(tmp_path) == summary.journal_files  # ... the journal kept them
    # connection events are not in the journal: their rows were kept for the next write
    assert read_table("connections", tmp_path)["kind"].to_list() == ["connected", "disconnected"]
    monkeypatch.undo()
    recovered = run.recover_journals(tmp_path)
    assert recovered is not None and recovered.frames == summary.frames
    assert read_table("raw_events", tmp_path).height == summary.frames


def test_summary_counts_and_prints_tick_price_conflicts() -> None:
    from rugslab.lake.writer import TableReport, WriteReport
    from rugslab.tables.batch import RowBatch

    s = CollectSummary(session_id="s", url="http://127.0.0.1:1")
    assert "disagreed" not in str(s)
    batch = RowBatch()
    batch.count("ticks.price_conflict", 2)
    s.add(WriteReport({"ticks": TableReport(new=3, conflicts=1)}), batch)
    assert (s.price_conflicts, s.lake_conflicts, s.rows_new) == (2, 1, {"ticks": 3})
    assert "tick prices that disagreed: 2 in the feed, 1 with the lake" in str(s)


def test_a_failed_timer_task_stops_collecting_and_the_final_write_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import rugslab.collector.run as run

    async def failing_timers(self: run._Collector) -> None:
        while self.summary.frames < 10:  # frames arrive first
            await asyncio.sleep(0.05)
        raise RuntimeError("timer broke (simulated)")

    monkeypatch.setattr(run._Collector, "timers", failing_timers)
    out = io.StringIO()

    async def main(url: str) -> CollectSummary:
        options = CollectOptions(url=url, lake=tmp_path, flush_every_s=1.0, status_every_s=0)
        # nothing else sets the stop: without the timers' done-callback this would hang
        return await asyncio.wait_for(collect_async(options, asyncio.Event(), out=out), 30.0)

    # a feed of minutes: it is still sending when the timers fail
    with running_server(sim_frames(40, seed=3, speed=2), wait_for_clients=1) as srv:
        summary = asyncio.run(main(srv.url))
    assert "timer task failed: RuntimeError: timer broke (simulated)" in out.getvalue()
    assert summary.frames >= 10
    assert read_table("raw_events", tmp_path).height == summary.frames
    assert pending_journals(tmp_path) == []
