"""GameAssembler on the real captures: exact counts established by a separate script that
reads the files directly (json loop, no rugslab code), rug ticks, seeds, trades, side bets,
the two-frame rug, batches, and agreement of live ticks with the revealed price paths."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _capture_frames import DEC06, DEC12, FEB06, load_frames

from rugslab.assembly.assembler import GameAssembler
from rugslab.feed.frames import Frame
from rugslab.feed.rules import SIDEBET_WINDOW_TICKS
from rugslab.tables.batch import RowBatch
from rugslab.tables.schemas import TABLES

CAPTURES = (DEC06, DEC12, FEB06)

#: revealed games (serverSeed in gameHistory) → rug tick len(prices)-1 (None: no prices, 2026)
REVEALED = {
    DEC06: {
        "20251207-1e01ac417e8043ca": 92, "20251207-31a51b95c19745e9": 329,
        "20251207-353b3eb587dd470c": 89, "20251207-51493d3e918e46aa": 73,
        "20251207-591d94f81da4432d": 1137, "20251207-60eadfaad3934e72": 86,
        "20251207-67b9664de9e24662": 373, "20251207-b1207bb1c80348c0": 56,
        "20251207-ba230d8dcbab441e": 47, "20251207-e8186dbf38e046d1": 266,
        "20251207-faa107ca5de24c77": 34,
    },
    DEC12: {
        "20251212-0f8cc5fc8e864519": 126, "20251212-21ab2947f40a40da": 188,
        "20251212-25dcb17086a24ad7": 229, "20251212-483f2234b88c46e0": 362,
        "20251212-57b7b020d2d0429f": 250, "20251212-6114b2ff44ef4b71": 16,
        "20251212-64e98179bfe74e78": 495, "20251212-a1ca096c182b4812": 24,
        "20251212-c877a17e170c44f9": 110, "20251212-dbb443e2e08a45fd": 16,
        "20251212-eec31b1b16194f08": 233, "20251212-efcdda86d6a64aa3": 487,
    },
    FEB06: {
        g: None
        for g in (
            "20260206-2acc971569f84617", "20260206-37b5f0ba6e014e7c",
            "20260206-43cb4b9bcba34dac", "20260206-59f4a9c316654946",
            "20260206-668b3f6a538f480a", "20260206-74fb8b07116b4d39",
            "20260206-8a9c0874cb8f4d10", "20260206-c8a4a48b87344ea0",
            "20260206-e778e551202f4be6", "20260206-f33679485c934c5d",
        )
    },
}  # fmt: skip
LIVE_RUGS = {
    DEC06: {"20251207-e8186dbf38e046d1": 266},
    DEC12: {"20251212-25dcb17086a24ad7": 229, "20251212-6114b2ff44ef4b71": 16},
    FEB06: {"20260206-003482fbeaae4ad5": 255},
}
FRAMES = {DEC06: 200, DEC12: 554, FEB06: 11}
TRADES = {DEC06: 18, DEC12: 31, FEB06: 4}
#: distinct keys (game, player, start tick): all, with a placed record, resolved, won, lost
BETS = {
    DEC06: (410, 362, 410, 62, 348),
    DEC12: (345, 297, 345, 59, 286),
    FEB06: (367, 316, 367, 68, 299),
}
#: live ticks = active frames (distinct ticks) + one rug frame per live-observed rug
LIVE_TICKS = {DEC06: 139, DEC12: 243, FEB06: 3}


def assemble(frames: list[Frame], every: int | None = None, **kw: Any) -> RowBatch:
    asm = GameAssembler(**kw)
    out = RowBatch()
    for i, f in enumerate(frames, 1):
        asm.feed(f)
        if every and i % every == 0:
            out.merge(asm.drain())
    out.merge(asm.drain())
    return out


@pytest.fixture(scope="module")
def batches(captures_dir: Path) -> dict[str, RowBatch]:
    return {name: assemble(load_frames(captures_dir / name)) for name in CAPTURES}


@pytest.fixture(scope="module")
def history_prices(captures_dir: Path) -> dict[str, list[float]]:
    """game id → gameHistory prices, read straight from the files."""
    out = {}
    for name in (DEC06, DEC12):
        for line in (captures_dir / name).read_text().splitlines():
            rec = json.loads(line)
            data = rec["data"]
            if isinstance(data, dict):
                for g in data.get("gameHistory", []):
                    out[g["id"]] = g["prices"]
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_every_table_validates_against_its_schema(batches: dict, name: str) -> None:
    b = batches[name]
    assert set(b.rows) == {"raw_events", "ticks", "games", "seeds", "trades", "side_bets",
                           "leaderboard"}
    for table in b.rows:
        TABLES[table].model.validate(b.frame(table))


@pytest.mark.parametrize("name", CAPTURES)
def test_one_raw_event_per_frame_and_no_rejects(batches: dict, name: str) -> None:
    b = batches[name]
    assert len(b.rows["raw_events"]) == FRAMES[name]
    assert b.counters["frames"] == FRAMES[name]
    assert "rejects" not in b.rows
    assert b.counters["rejects"] == 0


@pytest.mark.parametrize("name", CAPTURES)
def test_revealed_seeds_hash_to_their_commitment(batches: dict, name: str) -> None:
    seeds = batches[name].frame("seeds").filter(pl.col("server_seed").is_not_null())
    assert sorted(seeds["game_id"]) == sorted(REVEALED[name])
    assert seeds["hash_ok"].to_list() == [True] * len(REVEALED[name])
    for seed, h in seeds.select("server_seed", "server_seed_hash").rows():
        assert hashlib.sha256(seed.encode("ascii")).hexdigest() == h


@pytest.mark.parametrize("name", CAPTURES)
def test_revealed_games_have_the_rug_tick_of_their_price_path(batches: dict, name: str) -> None:
    games = batches[name].frame("games").filter(pl.col("revealed"))
    assert dict(games.select("game_id", "rug_tick").rows()) == REVEALED[name]


@pytest.mark.parametrize("name", CAPTURES)
def test_live_observed_rugs(batches: dict, name: str) -> None:
    games = (
        batches[name].frame("games").filter(pl.col("seen_live") & pl.col("end_ts").is_not_null())
    )
    assert dict(games.select("game_id", "rug_tick").rows()) == LIVE_RUGS[name]


@pytest.mark.parametrize("name", CAPTURES)
def test_one_rug_row_per_rugged_game_with_the_crash_price(batches: dict, name: str) -> None:
    b = batches[name]
    ticks, games = b.frame("ticks"), b.frame("games").filter(pl.col("rug_tick").is_not_null())
    rugs = ticks.filter(pl.col("is_rug")).select("game_id", "tick", "price_x").sort("game_id")
    assert (
        rugs.rows() == games.select("game_id", "rug_tick", "crash_price_x").sort("game_id").rows()
    )
    beyond = ticks.join(games.select("game_id", "rug_tick"), on="game_id").filter(
        pl.col("tick") > pl.col("rug_tick")
    )
    assert beyond.height == 0
    assert ticks.select("game_id", "tick").is_unique().all()
    # the crash price is never the peak
    assert games.filter(pl.col("peak_x") <= pl.col("crash_price_x")).height == 0


@pytest.mark.parametrize("name", CAPTURES)
def test_live_ticks_count(batches: dict, name: str) -> None:
    ticks = batches[name].frame("ticks")
    assert ticks.filter(pl.col("source") == "live").height == LIVE_TICKS[name]
    assert ticks.filter(pl.col("source") == "live")["recv_ts"].null_count() == 0
    assert (
        ticks.filter(pl.col("source") != "live")["recv_ts"].null_count()
        == ticks.filter(pl.col("source") != "live").height
    )


@pytest.mark.parametrize(("name", "compared"), [(DEC06, 2593), (DEC12, 2548)])
def test_every_tick_equals_the_revealed_price_path_exactly(
    batches: dict, history_prices: dict, name: str, compared: int
) -> None:
    ticks = batches[name].frame("ticks")
    n = 0
    for gid, tick, price, source in ticks.select("game_id", "tick", "price_x", "source").rows():
        path = history_prices[gid]
        assert price == path[tick], (gid, tick, source)
        n += 1
    assert n == compared  # every tick row of these captures belongs to a revealed game
    live = ticks.filter(pl.col("source") == "live").height
    assert live == LIVE_TICKS[name]


@pytest.mark.parametrize("name", CAPTURES)
def test_distinct_trades(batches: dict, name: str) -> None:
    trades = batches[name].frame("trades")
    assert trades["trade_id"].n_unique() == trades.height == TRADES[name]
    assert set(trades["source"]) == {"live"}
    assert trades["recv_ts"].null_count() == 0


def test_trade_columns_map_from_the_feed_fields(batches: dict, captures_dir: Path) -> None:
    raw = json.loads((captures_dir / FEB06).read_text())["06_trade_buy"]["data"]
    row = batches[FEB06].frame("trades").filter(pl.col("trade_id") == raw["id"]).to_dicts()[0]
    assert (row["tick"], row["price_x"], row["trade_type"], row["amount_sol"]) == (
        raw["tickIndex"], raw["price"], raw["type"], raw["amount"],
    )  # fmt: skip
    assert (row["bonus_portion_sol"], row["real_portion_sol"], row["qty"]) == (
        raw["bonusPortion"], raw["realPortion"], raw["qty"],
    )  # fmt: skip


@pytest.mark.parametrize("name", CAPTURES)
def test_side_bet_counts(batches: dict, name: str) -> None:
    bets = batches[name].frame("side_bets")
    keys, placed, resolved, won, lost = BETS[name]
    assert bets.select("game_id", "player_id", "start_tick").is_unique().all()
    assert bets.height == keys
    assert bets["placed_id"].drop_nulls().len() == placed
    assert bets["resolved"].sum() == resolved
    assert bets["won"].sum() == won
    assert (~bets["won"]).sum() == lost


@pytest.mark.parametrize(("name", "checked"), [(DEC06, 410), (DEC12, 345), (FEB06, 0)])
def test_side_bet_rule_reproduces_every_resolved_outcome(
    batches: dict, name: str, checked: int
) -> None:
    b = batches[name]
    rugs = b.frame("games").select("game_id", "rug_tick").filter(pl.col("rug_tick").is_not_null())
    bets = b.frame("side_bets").filter(pl.col("resolved")).join(rugs, on="game_id")
    predicted = pl.col("rug_tick") <= pl.col("start_tick") + SIDEBET_WINDOW_TICKS
    assert bets.height == checked
    assert bets.filter(pl.col("won") != predicted).height == 0


def test_practice_bets_are_marked(batches: dict) -> None:
    bets = pl.concat([batches[n].frame("side_bets") for n in CAPTURES])
    assert (bets["practice"] == (bets["coin_address"] == "0xPractice")).all()


def _rug_frames(captures_dir: Path) -> list[Frame]:
    frames = load_frames(captures_dir / DEC06)
    return [f for f in frames if f.event == "gameStateUpdate" and f.payload.get("rugged")]


def test_second_rug_frame_alone_still_finds_the_rug_tick(captures_dir: Path) -> None:
    first, second = _rug_frames(captures_dir)
    assert (first.payload["tickCount"], second.payload["tickCount"]) == (266, 268)
    b = assemble([second])
    g = b.frame("games").filter(pl.col("game_id") == "20251207-e8186dbf38e046d1")
    assert g["rug_tick"].to_list() == [266]
    ticks = b.frame("ticks").filter(pl.col("game_id") == "20251207-e8186dbf38e046d1")
    assert ticks.select("tick", "source", "is_rug").rows() == [
        (262, "partial", False), (263, "partial", False), (264, "partial", False),
        (265, "partial", False), (266, "partial", True),
    ]  # fmt: skip


def test_rug_frames_in_either_order_give_the_same_rows(captures_dir: Path) -> None:
    first, second = _rug_frames(captures_dir)
    a, b = assemble([first, second]), assemble([second, first])
    for t in ("ticks", "games", "seeds"):
        assert a.frame(t).sort(a.frame(t).columns).equals(b.frame(t).sort(b.frame(t).columns))
    rug = a.frame("ticks").filter(
        pl.col("is_rug") & (pl.col("game_id") == "20251207-e8186dbf38e046d1")
    )
    assert rug.select("tick", "source").rows() == [(266, "live")]


def test_rug_frame_without_window_never_adds_ticks_past_the_first(captures_dir: Path) -> None:
    first, second = _rug_frames(captures_dir)
    args = json.loads(second.args_json)
    del args[0]["partialPrices"]
    bare = Frame(event=second.event, args=args, source="t", recv_ts_us=second.recv_ts_us)
    gid = "20251207-e8186dbf38e046d1"
    for order in ([first, bare], [bare, first]):
        ticks = assemble(order).frame("ticks").filter(pl.col("game_id") == gid).sort("tick")
        assert ticks.select("tick", "is_rug", "source").rows()[-1] == (266, True, "live")
        assert ticks["tick"].max() == 266
    alone = assemble([bare]).frame("games").filter(pl.col("game_id") == gid)
    assert alone["rug_tick"].to_list() == [268]  # documented limit: nothing tells N from N+2


def test_presale_frames_are_not_ticks(captures_dir: Path) -> None:
    presale = [
        f
        for f in load_frames(captures_dir / DEC12)
        if f.payload is not None
        and f.event == "gameStateUpdate"
        and f.payload.get("allowPreRoundBuys") is True
    ]
    assert len(presale) == 166
    b = assemble(presale)
    assert "ticks" not in b.rows
    games = b.frame("games").sort("game_id")
    assert games.select("game_id", "seen_live", "start_ts").rows() == [
        ("20251212-6114b2ff44ef4b71", False, None),
        ("20251212-6f491efbd808458b", False, None),
    ]


def test_an_undecodable_packet_is_kept_raw_and_rejected_with_its_reason() -> None:
    from rugslab.feed.frames import UNDECODABLE_EVENT

    asm = GameAssembler()
    asm.feed(Frame(UNDECODABLE_EVENT, [{"raw": '42["gameStateUpdate",{"gam', "error": "cut"}],
                   "collector:s", recv_ts_us=1_765_500_000_000_000, seq=7, session_id="s"))
    b = asm.drain()
    assert [r["event"] for r in b.rows["raw_events"]] == [UNDECODABLE_EVENT]
    (rej,) = b.rows["rejects"]
    assert (rej["table"], rej["reason"], rej["raw"]) == ("frame", "cut",
                                                         '42["gameStateUpdate",{"gam')
    assert rej["source"] == "collector:s" and b.counters["rejects.frame"] == 1


def test_unknown_events_are_kept_raw_without_rejects() -> None:
    f = Frame(event="someNewEvent", args=[{"gameId": "x", "weird": [1, {"a": None}]}], source="t")
    b = assemble([f])
    assert [r["event"] for r in b.rows["raw_events"]] == ["someNewEvent"]
    assert b.rows["raw_events"][0]["args_json"] == '[{"gameId":"x","weird":[1,{"a":null}]}]'
    assert b.counters["rejects"] == 0


def _merged(b: RowBatch, table: str) -> dict[tuple, dict]:
    """Rows of `table` combined per key as the lake writer does (merge rules, or first)."""
    t = TABLES[table]
    out: dict[tuple, dict] = {}
    for row in b.frame(table).to_dicts():
        k = tuple(row[c] for c in t.key)
        old = out.get(k)
        if old is None:
            out[k] = row
            continue
        if t.kind != "merge":
            continue
        for c, v in row.items():
            rule, o = t.merge_rule(c), old[c]
            if v is None:
                continue
            if o is None:
                old[c] = v
            elif rule == "min":
                old[c] = min(o, v)
            elif rule == "max":
                old[c] = max(o, v)
            elif rule == "any":
                old[c] = o or v
    return out


@pytest.mark.parametrize("keep_games", [64, 3])
def test_small_batches_merge_to_the_single_batch_rows(
    batches: dict, captures_dir: Path, keep_games: int
) -> None:
    frames = load_frames(captures_dir / DEC12)
    chunked = assemble(frames, every=37, keep_games=keep_games)
    whole = batches[DEC12]
    for table in whole.rows:
        assert _merged(chunked, table) == _merged(whole, table), table
    if keep_games == 64:  # nothing forgotten: each (game, tick) written exactly once
        assert len(chunked.rows["ticks"]) == len(whole.rows["ticks"])


def test_memory_is_bounded_by_keep_games(captures_dir: Path) -> None:
    asm = GameAssembler(keep_games=3)
    forgotten = 0
    for i, f in enumerate(load_frames(captures_dir / DEC12), 1):
        asm.feed(f)
        if i % 50 == 0:
            forgotten += asm.drain().counters["games.forgotten"]
            assert asm.games_remembered <= 3
    forgotten += asm.drain().counters["games.forgotten"]
    assert asm.games_remembered <= 3
    # 13 games in the capture, at most 3 kept; an evicted game whose history entry shows up
    # again is remembered (and later forgotten) again
    assert forgotten >= 13 - 3


@pytest.mark.parametrize("name", [DEC06, DEC12])
def test_peak_is_the_highest_path_price_and_the_published_peak(
    batches: dict, history_prices: dict, name: str
) -> None:
    # a separate read confirmed peakMultiplier == max(prices[:-1]) for all 70 entries
    games = batches[name].frame("games").filter(pl.col("revealed"))
    assert games.height == len(REVEALED[name])
    for gid, peak in games.select("game_id", "peak_x").rows():
        assert peak == max(history_prices[gid][:-1])


def _utc(s: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_game_row_of_the_early_rug(batches: dict) -> None:
    row = batches[DEC12].frame("games").filter(pl.col("game_id") == "20251212-6114b2ff44ef4b71")
    got = row.drop("ticks_recorded", "ticks_missing", "completeness").to_dicts()[0]
    assert got == {
        "game_id": "20251212-6114b2ff44ef4b71",
        "version": "v3",
        "server_seed_hash": "f8fb5fc595f23a0c148ad4ebabf4996b20190dd988932a0e52db55b043fc673a",
        "first_seen_ts": _utc("2025-12-12T17:18:00.836258"),  # first cooldown frame (seq 263)
        "start_ts": _utc("2025-12-12T17:18:11.484524"),  # active, tickCount 0 (seq 415)
        "end_ts": _utc("2025-12-12T17:18:15.607620"),  # first rug frame (seq 435)
        "first_live_tick": 0,
        "last_live_tick": 16,
        "rug_tick": 16,
        "rugged": True,
        "peak_x": 1.288780735484171,
        "crash_price_x": 0.020000000000000018,
        "seen_live": True,
        "revealed": True,
    }


def test_history_only_game_is_first_seen_in_the_first_frame_carrying_it(batches: dict) -> None:
    row = batches[DEC12].frame("games").filter(pl.col("game_id") == "20251212-eec31b1b16194f08")
    got = row.select("first_seen_ts", "start_ts", "seen_live", "revealed", "rug_tick").rows()
    assert got == [(_utc("2025-12-12T17:16:58.952637"), None, False, True, 233)]


def test_drain_raw_takes_only_the_raw_rows(captures_dir: Path) -> None:
    """Raw rows drained every 100 frames + one drain at the end = one drain of everything."""
    frames = load_frames(captures_dir / DEC12)
    whole = GameAssembler()
    for f in frames:
        whole.feed(f)
    want = whole.drain()
    asm = GameAssembler()
    raw: list[dict[str, Any]] = []
    for i, f in enumerate(frames, 1):
        asm.feed(f)
        if i % 100 == 0:
            part = asm.drain_raw()
            assert set(part.rows) == {"raw_events"} and len(part) == 100
            raw += list(part.rows["raw_events"])
    rest = asm.drain()
    raw += list(rest.rows["raw_events"])
    assert len(raw) == len(frames) == len(want.rows["raw_events"])
    assert raw == list(want.rows["raw_events"])  # the same rows, in the same order
    for t in ("ticks", "games", "seeds", "trades", "side_bets"):
        assert len(rest.rows[t]) == len(want.rows[t]) > 0, t
    assert rest.counters == want.counters


def test_a_window_with_one_bad_value_keeps_the_others() -> None:
    gid = "20251212-0123456789abcdef"
    state = {"gameId": gid, "active": True, "rugged": False, "tickCount": 16, "price": 1.3,
             "partialPrices": {"startTick": 12, "endTick": 16,
                               "values": {"12": 1.1, "13": "x", "14": 1.2, "15": 1.25}}}
    asm = GameAssembler()
    asm.feed(Frame("gameStateUpdate", [state], "t", recv_ts_us=1_765_500_000_000_000))
    b = asm.drain()
    ticks = {(r["tick"], r["source"]) for r in b.rows["ticks"]}
    assert ticks == {(12, "partial"), (14, "partial"), (15, "partial"), (16, "live")}
    (rej,) = b.rows["rejects"]
    assert rej["table"] == "ticks" and "partialPrices.values.13 'x' (str)" in rej["reason"]


class _NoRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr")


def test_an_internal_error_is_a_reject_naming_as_much_of_the_frame_as_was_read() -> None:
    gid = "20251212-0123456789abcdef"
    asm = GameAssembler()
    # the source cannot be read: nothing of the frame is known
    asm.feed(Frame("gameStateUpdate", [{"gameId": gid}], _NoRepr(), recv_ts_us=5))  # type: ignore[arg-type]
    # source and receive time read, then the event name fails (its id cannot be made)
    asm.feed(Frame(_NoRepr(), [{"gameId": gid}], "t", recv_ts_us=6))  # type: ignore[arg-type]
    b = asm.drain()
    assert b.counters["errors.internal"] == 2
    assert [(r["table"], r["source"], r["recv_ts"], r["reason"], r["raw"])
            for r in b.rows["rejects"]] == [
        ("frame", "", None, "internal error ValueError: no repr", f'[{{"gameId":"{gid}"}}]'),
        ("frame", "t", 6, "internal error ValueError: no repr", f'[{{"gameId":"{gid}"}}]'),
    ]


def test_args_that_are_not_json_are_a_raw_events_reject_with_the_frame_s_source() -> None:
    asm = GameAssembler()
    asm.feed(Frame("gameStateUpdate", [{1: 2}], "t", recv_ts_us=7))
    b = asm.drain()
    assert "raw_events" not in b.rows
    (rej,) = b.rows["rejects"]
    assert (rej["table"], rej["source"], rej["recv_ts"], rej["raw"]) == (
        "raw_events", "t", 7, "[{1: 2}]")
    assert rej["reason"].startswith("frame args not JSON-serialisable: TypeError")
