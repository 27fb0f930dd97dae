"""Legacy recordings → ticks/games/rejects rows, with every repair and defect counted."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from rugslab.readers.legacy import fragment_key, import_recording, import_recordings
from rugslab.tables.batch import RowBatch
from rugslab.tables.rejects import reject_id
from rugslab.tables.schemas import TABLES

GID = "20251031-0123456789abcdef"


def _tick(tick: int, price: float, phase: str, ts: str, *, active: bool, rugged: bool) -> str:
    return json.dumps(
        {
            "type": "tick",
            "timestamp": f"2025-10-31T15:00:{ts}",
            "game_id": GID,
            "tick": tick,
            "price": price,
            "phase": phase,
            "active": active,
            "rugged": rugged,
            "cooldown_timer": 0,
            "trade_count": 0,
        }
    )


@pytest.fixture(scope="module")
def whole(recordings_dir: Path) -> RowBatch:
    out = RowBatch()
    for b in import_recordings(sorted(recordings_dir.glob("*.jsonl"))):
        out.merge(b)
    return out


def test_whole_corpus_counts(whole: RowBatch) -> None:
    # Established independently by /tmp brace-matching + json.loads script (see report) and
    # the README: 125 files, 124 distinct games with tick records.
    c = whole.counters
    assert c["legacy.files"] == 125
    assert c["legacy.games"] == 124
    assert c["legacy.lines"] == 40366
    assert c["legacy.records"] == 40440
    assert c["legacy.torn_lines"] == 322
    assert c["legacy.salvaged_records"] == 396
    assert c["legacy.fragments_rejected"] == 1168
    assert c["legacy.invalid_records"] == 0
    assert c["legacy.type.tick"] == 40186
    assert c["legacy.type.game_start"] == 127
    assert c["legacy.type.game_end"] == 127
    assert c["legacy.duplicate_ticks"] == 137  # 136 active + 1 rug record, all in one game
    assert c["legacy.price_conflicts"] == 0
    assert c["legacy.post_rug_records"] == 117
    assert c["legacy.rug_records"] == 110
    assert c["legacy.games_in_multiple_files"] == 1
    assert c["legacy.date_mismatch"] == 19
    assert c["legacy.joined_late"] == 7
    assert c["legacy.no_rug_record"] == 8
    assert c["legacy.rug_tick_unknown"] == 7
    assert c["legacy.games_without_ticks"] == 5
    assert c["legacy.tick_rows"] == 23238


def test_whole_corpus_rows_fit_the_lake_schemas(whole: RowBatch) -> None:
    frames = whole.frames()
    for table, df in frames.items():
        TABLES[table].model.validate(df)
    ticks, games, rejects = frames["ticks"], frames["games"], frames["rejects"]
    assert ticks.height == 23238
    assert ticks.select(pl.struct("game_id", "tick").n_unique()).item() == 23238
    assert ticks.filter(pl.col("is_rug")).height == 109
    assert ticks["game_id"].n_unique() == 119
    assert games.height == 124 and games["game_id"].n_unique() == 124
    assert games.filter(pl.col("rug_tick").is_not_null()).height == 109
    assert games.filter(pl.col("crash_price_x").is_not_null()).height == 116
    assert dict(games.group_by("completeness").len().iter_rows()) == {
        "complete": 99,
        "partial": 20,
        "no_ticks": 5,
    }
    assert not games["seen_live"].any() and not games["revealed"].any()
    assert rejects.height == 1168 and rejects["reject_id"].n_unique() == 1168


def test_late_joined_game_row(whole: RowBatch) -> None:
    games = whole.frame("games").filter(pl.col("game_id") == "20251029-e0e72b644b944a13")
    row = games.to_dicts()[0]
    assert (row["first_live_tick"], row["last_live_tick"], row["rug_tick"]) == (347, 1063, 1064)
    assert row["crash_price_x"] == 0.018679378317749025
    assert row["peak_x"] == 148.28868589350665
    assert (row["ticks_recorded"], row["ticks_missing"]) == (718, 347)
    assert row["start_ts"] is None and row["completeness"] == "partial"
    assert row["end_ts"].isoformat() == "2025-10-29T18:39:07.645010+00:00"
    assert row["first_seen_ts"].isoformat() == "2025-10-29T18:36:08.375715+00:00"


def test_tick_and_game_rows_hold_every_column_in_table_order(whole: RowBatch) -> None:
    # built by the assembler's `tick_row` / `game_row`, as the live path builds them
    for table in ("ticks", "games"):
        columns = list(TABLES[table].polars_schema)
        assert all(list(r) == columns for r in whole.rows[table]), table


def test_game_in_two_files_keeps_the_earliest_receipt(whole: RowBatch) -> None:
    ticks = whole.frame("ticks").filter(
        (pl.col("game_id") == "20251031-27f73b2e287041b0") & (pl.col("tick") == 300)
    )
    # game_20251031_150418.jsonl received tick 300 at .744243, game_20251031_150302 at .744624
    assert ticks["recv_ts"].dt.to_string("%H:%M:%S%.6f").to_list() == ["15:04:19.744243"]


def test_crafted_file_active_ticks_rug_and_defects(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"type": "game_start", "timestamp": "2025-10-31T15:00:00.000000", "game_id": GID}
        ),
        json.dumps(
            {
                "type": "tick",
                "timestamp": "2025-10-31T15:00:00.100000",
                "game_id": GID,
                "tick": 0,
                "price": 1.0,
                "phase": "PRESALE",
                "active": False,
                "rugged": False,
                "cooldown_timer": 900,
                "trade_count": 0,
            }
        ),
        _tick(0, 1, "GAME_ACTIVATION", "01.000000", active=True, rugged=False),
        _tick(1, 1.2, "ACTIVE_GAMEPLAY", "01.250000", active=True, rugged=False)[:-1]
        + '{"'
        + _tick(1, 1.2, "ACTIVE_GAMEPLAY", "01.250001", active=True, rugged=False),
        _tick(2, 1.5, "ACTIVE_GAMEPLAY", "01.500000", active=True, rugged=False),
        _tick(2, 1.6, "ACTIVE_GAMEPLAY", "01.510000", active=True, rugged=False),
        _tick(3, 0.01, "ACTIVE_GAMEPLAY", "01.750000", active=True, rugged=True),
        _tick(5, 0.01, "RUG_EVENT_1", "02.500000", active=True, rugged=True),
        '51031-0123456789abcdef", "tick": 4}',
        json.dumps({"type": "tick", "timestamp": "2025-10-31T15:00:03", "game_id": "bad"}),
    ]
    p = tmp_path / "game_20251030_150000.jsonl"
    p.write_text("\n".join(lines) + "\n")
    b = import_recording(p)
    ticks = b.frame("ticks")
    assert ticks.select("tick", "price_x", "is_rug").rows() == [
        (0, 1.0, False),
        (1, 1.2, False),
        (2, 1.5, False),
        (3, 0.01, True),
    ]
    assert ticks["recv_ts"].dt.to_string("%S%.6f").to_list() == [
        "01.000000",
        "01.250001",
        "01.500000",
        "01.750000",
    ]
    (g,) = b.frame("games").to_dicts()
    assert (g["first_live_tick"], g["last_live_tick"], g["rug_tick"], g["peak_x"]) == (0, 2, 3, 1.5)
    assert (g["ticks_recorded"], g["ticks_missing"], g["completeness"]) == (4, 0, "complete")
    assert g["start_ts"].isoformat() == "2025-10-31T15:00:01+00:00"
    c = b.counters
    assert (
        c["legacy.torn_lines"],
        c["legacy.salvaged_records"],
        c["legacy.fragments_rejected"],
        c["legacy.invalid_records"],
    ) == (2, 1, 2, 1)
    assert (c["legacy.price_conflicts"], c["legacy.duplicate_ticks"]) == (1, 0)
    assert (c["legacy.date_mismatch"], c["legacy.joined_late"], c["legacy.no_rug_record"]) == (
        1,
        0,
        0,
    )
    rejects = b.frame("rejects")
    where = f"legacy recording {p.name} line"
    assert rejects["reason"].to_list() == [
        f"{where} 4 col 1: record cut short by a torn write (not repaired)",
        f"{where} 9 col 1: tail of a record whose start was lost (torn write)",
        f"{where} 10 col 1: 'game_id' 'bad' is not YYYYMMDD-<16 hex>",
    ]
    assert rejects["reject_id"][2] == reject_id(*fragment_key(p.name, 10, 0, lines[9]))
    assert rejects["recv_ts"].dt.to_string("%S%.6f").to_list() == ["01.250000", None, "03.000000"]


@pytest.mark.parametrize("order", [(4, 2), (2, 4)])
def test_two_rug_records_keep_the_lowest_rug_tick(tmp_path: Path, order: tuple[int, int]) -> None:
    """A game rugs once: whichever rug record comes first in the file, the lowest tick is
    the rug, the other is a tick after it (dropped and counted), and the conflict counted."""
    lines = [_tick(t, 1.0 + t / 10, "ACTIVE_GAMEPLAY", f"0{t}.000000", active=True,
                   rugged=False) for t in range(2)]
    lines += [_tick(t, 0.01 * t, "ACTIVE_GAMEPLAY", f"0{t}.500000", active=True, rugged=True)
              for t in order]
    p = tmp_path / "game_20251031_150000.jsonl"
    p.write_text("\n".join(lines) + "\n")
    b = import_recording(p)
    assert b.frame("ticks").select("tick", "is_rug").rows() == [(0, False), (1, False), (2, True)]
    (g,) = b.frame("games").to_dicts()
    assert g["rug_tick"] == 2
    assert (b.counters["legacy.rug_conflicts"], b.counters["legacy.ticks_after_rug"]) == (1, 1)
