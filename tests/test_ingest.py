"""Ingest: real captures and recordings into a lake; re-ingest adds nothing; bad input counted."""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

import rugslab.ingest as ingest_module
import rugslab.readers.files as files_module
import rugslab.tables.texts as texts_module
from rugslab.errors import ConfigError
from rugslab.ingest import ingest
from rugslab.ingest_summary import IngestSummary
from rugslab.lake.catalog import read_table
from rugslab.tables.batch import RowBatch
from rugslab.tables.columns import ColumnRows
from rugslab.tables.schemas import TABLES

TABLE_NAMES = ("games", "ticks", "trades", "side_bets", "seeds", "gaps", "raw_events", "rejects")
# distinct `YYYYMMDD-<16 hex>` ids per date in ../shared, counted with a regex over the raw
# files (captures: 36 ids; recordings: 124)
GAMES_PER_DATE = {"2025-10-29": 20, "2025-10-30": 19, "2025-10-31": 55, "2025-11-03": 30,
                  "2025-12-07": 12, "2025-12-12": 13, "2026-02-06": 11}
# 200 + 554 lines in the two JSON-lines captures, 11 frames in the curated JSON
CAPTURE_FRAMES = 765


def _counts(lake: Path) -> dict[str, int]:
    return {t: read_table(t, lake).height for t in TABLE_NAMES}


def _sorted(lake: Path, table: str) -> pl.DataFrame:
    return read_table(table, lake).sort(list(TABLES[table].key))


@pytest.fixture(scope="module")
def once(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> tuple[Path, IngestSummary]:
    lake = tmp_path_factory.mktemp("lake")
    summary = ingest([shared_dir / "captures", shared_dir / "recordings"], lake=lake,
                     progress=False)
    return lake, summary


def test_real_files_fill_every_table(once: tuple[Path, IngestSummary]) -> None:
    lake, summary = once
    assert (summary.files_read, summary.frames, summary.bad_records) == (128, CAPTURE_FRAMES, 0)
    assert [Path(p).name for p, _ in summary.files_skipped] == ["2025-08-10_console-frames.txt"]
    assert "unreadable" in summary.files_skipped[0][1]
    games = read_table("games", lake)
    assert dict(games.group_by("date").len().select(
        pl.col("date").cast(pl.String), "len").iter_rows()) == GAMES_PER_DATE
    counts = _counts(lake)
    assert counts["raw_events"] == CAPTURE_FRAMES
    assert {t: summary.rows_new[t] for t in TABLE_NAMES} == counts
    assert min(counts.values()) > 0


def test_ingesting_again_adds_no_rows(
    once: tuple[Path, IngestSummary], shared_dir: Path
) -> None:
    lake, first = once
    before = _counts(lake)
    again = ingest([shared_dir / "captures", shared_dir / "recordings"], lake=lake, progress=False)
    assert _counts(lake) == before
    assert sum(again.rows_new.values()) == 0
    assert again.seeds_revealed_new == 0
    assert again.rows_in == first.rows_in
    assert again.seeds_revealed_in == first.seeds_revealed_in


@pytest.mark.slow
def test_lake_content_does_not_depend_on_the_batch_size(
    once: tuple[Path, IngestSummary], shared_dir: Path, tmp_path: Path
) -> None:
    lake, _ = once
    ingest([shared_dir / "captures", shared_dir / "recordings"], lake=tmp_path, batch_frames=50,
           progress=False)
    for t in TABLE_NAMES:
        assert _sorted(tmp_path, t).equals(_sorted(lake, t)), t


def test_raw_frames_are_written_once_their_bytes_reach_the_bound(
    once: tuple[Path, IngestSummary], shared_dir: Path, tmp_path: Path
) -> None:
    lake, _ = once
    ingest([shared_dir / "captures"], lake=tmp_path, progress=False, raw_batch_bytes=64 * 1024)
    files = list((tmp_path / "raw_events").rglob("*.parquet"))
    # 765 frames, ~5 MB of arguments: a write per 64-frame check past 64 KB (no more than
    # one per 64 frames), against one per partition with the default bound
    assert 765 // 64 <= len(files) <= 765 // 64 + 6
    assert _sorted(tmp_path, "raw_events").equals(
        _sorted(lake, "raw_events").filter(pl.col("source").str.contains("captures"))
    )


@pytest.mark.parametrize("bound", ["batch_frames", "raw_batch_bytes"])
def test_a_batch_bound_that_is_not_positive_is_a_config_error(bound: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"Invalid {bound} 0: expected a positive"):
        ingest([], lake=tmp_path, progress=False, **{bound: 0})  # type: ignore[arg-type]


def test_bad_lines_become_rejects_naming_file_and_line(captures_dir: Path, tmp_path: Path) -> None:
    lines = (captures_dir / "2025-12-12_two-rugs.jsonl").read_text().splitlines(keepends=True)
    mini = tmp_path / "in" / "mini.jsonl"
    mini.parent.mkdir()
    mini.write_text("".join([*lines[:2], '{"seq": 3, "ts": \n', *lines[2:20]]))
    lake = tmp_path / "lake"
    summary = ingest([mini.parent], lake=lake, progress=False)
    assert (summary.frames, summary.bad_records, summary.rows_new["rejects"]) == (20, 1, 1)
    (row,) = read_table("rejects", lake).iter_rows(named=True)
    assert row["table"] == "raw_events"
    assert row["reason"].startswith("mini.jsonl:3: line 3 is not valid JSON")
    assert row["raw"] == '{"seq": 3, "ts": '
    assert row["source"] == str(mini)
    again = ingest([mini], lake=lake, progress=False)
    assert again.rows_new["rejects"] == 0


def test_unreadable_and_empty_files_never_stop_the_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("copied from the console:\n42[...]\n")
    (tmp_path / "empty.jsonl").write_text("")
    summary = ingest([tmp_path], lake=tmp_path / "lake", progress=False)
    assert summary.files_read == 1
    assert summary.files_skipped == [(
        str(tmp_path / "notes.txt"),
        "format not readable (unreadable): none of its first 2 non-blank lines is a capture, "
        "recording or archive record (line 1 is not valid JSON). A free-text copy (e.g. a "
        "browser-console dump) cannot be ingested: leave it out of the inputs; for the formats "
        "read, see README 'Input formats'.")]
    assert sum(summary.rows_new.values()) == 0


def test_summary_renders_a_table() -> None:
    s = IngestSummary(files_read=2, frames=1500, rows_in=Counter(games=3, ticks=1200),
                      rows_new=Counter(games=1, ticks=1000), rejected=Counter(ticks=4),
                      seeds_revealed_in=2, seeds_revealed_new=1,
                      counters=Counter({"legacy.torn_lines": 7}))
    s.files_skipped.append(("x.txt", "format not readable (unreadable)"))
    text = str(s).splitlines()
    assert text[:6] == [
        "files read: 2, skipped: 1",
        "  skipped x.txt: format not readable (unreadable)",
        "frames: 1,500  bad records: 0",
        "",
        "table                offered    new rows    rejected",
        "games                      3           1           0",
    ]
    assert text[6] == "ticks                  1,200       1,000           4"
    assert text[15] == "seeds revealed             2           1"
    assert text[-2:] == ["counters:", "  legacy.torn_lines: 7"]


def test_games_per_day_query_counts_the_games_of_each_date(
    once: tuple[Path, IngestSummary],
) -> None:
    lake, _ = once
    per_day = read_table("games_per_day", lake)
    assert dict(per_day.select(pl.col("date").cast(pl.String), "games").iter_rows()) == (
        GAMES_PER_DATE)


def test_a_game_recorded_in_two_files_keeps_each_ticks_earliest_receipt(
    once: tuple[Path, IngestSummary],
) -> None:
    lake, summary = once
    # 20251031-27f73b2e287041b0 is in game_20251031_150302.jsonl (ticks 0..433) and in
    # game_20251031_150418.jsonl (294..433); the second file received tick 296 2 ms earlier:
    # grep '"tick": 296,' ../shared/recordings/game_20251031_1504*.jsonl
    ticks = read_table("ticks", lake).filter(
        (pl.col("game_id") == "20251031-27f73b2e287041b0") & (pl.col("tick") == 296)
    )
    assert ticks["recv_ts"].item().isoformat() == "2025-10-31T15:04:18.738291+00:00"
    assert summary.counters["legacy.games_in_multiple_files"] == 1
    assert summary.counters["legacy.duplicate_ticks"] == 137


def test_games_known_to_have_rugged_are_not_taken_for_censored(
    once: tuple[Path, IngestSummary],
) -> None:
    from rugslab.lake.catalog import connect

    lake, _ = once
    with connect(lake) as con:
        rows = con.sql(
            "SELECT date::VARCHAR, games_rugged, games_rug_tick_known FROM games_per_day"
        ).fetchall()
    days = {d: (r, k) for d, r, k in rows}
    # Feb 2026: 10 games revealed in gameHistory (rugged, no prices) + the live rug at 255
    assert days["2026-02-06"] == (11, 1)
    # 2025-10-31: 7 legacy games lost their rug record to torn lines but kept the post-rug one
    assert days["2025-10-31"] == (51, 44)


def _before_each_write(monkeypatch: pytest.MonkeyPatch, hook: Callable[[RowBatch], None]) -> None:
    """Call `hook(batch)` before each lake write of the ingest runs that follow (a hook that
    raises stands for a failed write)."""
    real_write = ingest_module._Run.write

    def write(self: object, batch: RowBatch) -> None:
        hook(batch)
        real_write(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest_module._Run, "write", write)


def _disk_gone(batch: RowBatch) -> None:
    raise RuntimeError("disk gone")


def test_ingest_leaves_the_garbage_collector_as_it_found_it(
    captures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collection is off and the objects alive before the run are frozen during it; both are
    undone after it, also when it fails."""
    seen = []
    _before_each_write(monkeypatch, lambda _: seen.append((gc.isenabled(),
                                                            gc.get_freeze_count() > 0)))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    ingest([captures_dir / "2025-12-12_two-rugs.jsonl"], lake=tmp_path / "lake", progress=False)
    assert seen and set(seen) == {(False, True)}
    assert gc.isenabled() and gc.get_freeze_count() == 0

    _before_each_write(monkeypatch, _disk_gone)
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest([captures_dir / "2025-12-12_two-rugs.jsonl"], lake=tmp_path / "lake2",
               progress=False)
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.slow
def test_the_raw_text_buffer_is_lent_again_after_every_raw_write(
    captures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Arrow export of a batch's raw texts outlives its write (the run collects cycles only
    at derived flushes): the arena lends its one buffer batch after batch. Were an export
    held, each batch would take fresh memory and the run would hold several batches' texts."""
    lent: list[bytearray] = []
    real_lend = texts_module.TextArena.lend

    def lend(self: texts_module.TextArena, to: texts_module.TextBuffer) -> bytearray:
        buf = real_lend(self, to)
        lent.append(buf)
        return buf

    monkeypatch.setattr(texts_module.TextArena, "lend", lend)
    ingest([captures_dir], lake=tmp_path / "lake", batch_frames=40, progress=False)
    assert len(lent) >= 10  # ~765 frames, 40 a batch
    assert all(buf is lent[0] for buf in lent)

    held = []  # the check fails when an export outlives a write in a cycle

    def hold_in_a_cycle(batch: RowBatch) -> None:
        raw = batch.rows.get("raw_events")
        if isinstance(raw, ColumnRows) and len(raw):
            cycle: list[object] = [raw.frame(TABLES["raw_events"].polars_schema)]
            cycle.append(cycle)
            held.append(len(raw))

    _before_each_write(monkeypatch, hold_in_a_cycle)
    lent.clear()
    ingest([captures_dir], lake=tmp_path / "lake2", batch_frames=40, progress=False)
    assert held and not all(buf is lent[0] for buf in lent)


def test_ingest_keeps_a_callers_freeze_and_frees_cycles_dead_before_it(
    captures_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    dead = weakref.ref(a)
    del a, b  # unreachable, but only a collection frees a cycle
    alive_at_writes = []
    _before_each_write(monkeypatch, lambda _: alive_at_writes.append(dead() is not None))
    capture = captures_dir / "2025-12-12_two-rugs.jsonl"
    ingest([capture], lake=tmp_path / "lake", progress=False)
    assert alive_at_writes and not any(alive_at_writes)  # freed before the run's first write

    gc.freeze()  # a caller's freeze (e.g. before forking) survives the run
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        ingest([capture], lake=tmp_path / "lake2", progress=False)
        # not unfrozen, nothing of the run added (frozen objects freed meanwhile leave it)
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_the_progress_bar_moves_within_a_big_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One archive file: the bar advances while it is read, and ends at its size."""
    from rugslab.readers import ArchiveWriter

    with ArchiveWriter(tmp_path / "archive", "0123456789abcdef0123456789abcdef") as w:
        for i in range(6000):
            w.write("newChatMessage", [{"message": "m" * 1500, "n": i}],
                    recv_wall_ns=1_765_559_818_000_000_000 + i * 10**6, recv_mono_ns=i)
    (path,) = w.paths
    size = path.stat().st_size
    assert size > 8 * (1 << 20)  # several 1 MiB reads

    updates: list[int] = []

    class Bar:
        def __init__(self, *, total: int, disable: bool, **_: object) -> None:
            assert total == size and not disable

        def update(self, n: int) -> None:
            updates.append(n)

        def set_postfix(self, **_: object) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(ingest_module, "tqdm", Bar)
    monkeypatch.setattr(ingest_module.sys.stderr, "isatty", lambda: True)
    ingest([path], lake=tmp_path / "lake", progress=True)
    assert sum(updates) == size
    assert len([n for n in updates if n > 0]) > 3  # moved within the file, not once at its end
    assert files_module.active_meter() is None  # the reader meter is gone with the run

    updates.clear()  # the same file named twice is read once: the total counts it once
    summary = ingest([path, path], lake=tmp_path / "lake", progress=True)
    assert sum(updates) == size
    assert summary.counters["inputs.files_seen_again"] == 1

    _before_each_write(monkeypatch, _disk_gone)
    updates.clear()
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest([path], lake=tmp_path / "lake3", progress=True)
    assert files_module.active_meter() is None


def test_a_second_ingest_that_contradicts_the_lakes_ticks_is_counted(tmp_path: Path) -> None:
    """Each ingest has its own assembler: a tick the lake already holds at another price is
    counted by the writer (`ticks.lake_conflict`) and the lake's row is kept."""
    from rugslab.readers.archive import ArchiveWriter

    gid, t0 = "20251212-0123456789abcdef", 1_765_500_000_000_000_000

    def state(tick: int, price: float, **more: object) -> list[object]:
        return [{"gameId": gid, "active": True, "rugged": False, "tickCount": tick,
                 "price": price, **more}]

    with ArchiveWriter(tmp_path / "a") as w:
        for tick, price in ((0, 1.0), (1, 1.1), (2, 1.2)):
            w.write("gameStateUpdate", state(tick, price), recv_wall_ns=t0 + tick * 250_000_000,
                    recv_mono_ns=tick)
    window = {"startTick": 0, "endTick": 3, "values": {"0": 1.0, "1": 1.7, "2": 1.2}}
    with ArchiveWriter(tmp_path / "b") as w:
        w.write("gameStateUpdate", state(3, 1.3, partialPrices=window),
                recv_wall_ns=t0 + 3 * 250_000_000, recv_mono_ns=3)
    lake = tmp_path / "lake"
    first = ingest([tmp_path / "a"], lake=lake, progress=False)
    second = ingest([tmp_path / "b"], lake=lake, progress=False)
    assert "ticks.lake_conflict" not in first.counters
    assert second.counters["ticks.lake_conflict"] == 1  # tick 1: 1.7 against the lake's 1.1
    ticks = read_table("ticks", lake).sort("tick")
    assert ticks.select("tick", "price_x", "source").rows() == [
        (0, 1.0, "live"), (1, 1.1, "live"), (2, 1.2, "live"), (3, 1.3, "live")]
