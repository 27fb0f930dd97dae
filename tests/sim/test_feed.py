"""The simulated feed speaks the protocol of PROTOCOL.md, as the real captures show it."""

from __future__ import annotations

import hashlib
import json
import uuid
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from rugslab.errors import ConfigError
from rugslab.fair.game import replay_game
from rugslab.sim.feed import ScheduledFrame, simulate_feed

GAMES = 6


@pytest.fixture(scope="module")
def feed() -> list[ScheduledFrame]:
    return list(simulate_feed(GAMES, seed=7, speed=1.0, players=25))


def _states(feed: list[ScheduledFrame]) -> list[tuple[float, dict[str, Any]]]:
    return [(f.at_s, f.args[0]) for f in feed if f.event == "gameStateUpdate"]


def _games(feed: list[ScheduledFrame]) -> list[str]:
    ids: list[str] = []
    for _, s in _states(feed):
        if s["gameId"] not in ids:
            ids.append(s["gameId"])
    return ids


def _history(feed: list[ScheduledFrame]) -> dict[str, dict[str, Any]]:
    """Every game revealed in any gameHistory, by id."""
    out: dict[str, dict[str, Any]] = {}
    for _, s in _states(feed):
        for g in s.get("gameHistory", []):
            out[g["id"]] = g
    return out


def test_feed_plays_the_games_asked_and_reveals_each_one(feed: list[ScheduledFrame]) -> None:
    ids = _games(feed)
    assert len(ids) == GAMES + 1  # the last id only opens its cooldown, revealing the last game
    assert all(len(i) == 25 and i[8] == "-" and int(i[9:], 16) >= 0 for i in ids)
    assert ids[0].startswith("20251213-")
    assert sorted(_history(feed)) == sorted(ids[:-1])
    last = feed[-1].args[0]
    assert last["cooldownTimer"] == 15000 and last["gameId"] == ids[-1]
    assert [g["id"] for g in last["gameHistory"]] == ids[-2::-1]


def test_times_never_decrease_and_scale_with_speed(feed: list[ScheduledFrame]) -> None:
    times = [f.at_s for f in feed]
    assert times == sorted(times)
    fast = list(simulate_feed(GAMES, seed=7, speed=4.0, players=25))
    assert [f.event for f in fast] == [f.event for f in feed]
    assert all(abs(a.at_s * 4.0 - b.at_s) < 1e-9 for a, b in zip(fast, feed, strict=True))


def test_same_seed_same_feed_other_seed_other_feed(feed: list[ScheduledFrame]) -> None:
    again = list(simulate_feed(GAMES, seed=7, speed=1.0, players=25))
    assert json.dumps([f.args for f in again]) == json.dumps([f.args for f in feed])
    other = list(simulate_feed(GAMES, seed=8, speed=1.0, players=25))
    assert _games(other)[0] != _games(feed)[0]


def test_each_game_runs_cooldown_presale_ticks_and_the_two_frame_rug(
    feed: list[ScheduledFrame],
) -> None:
    states = _states(feed)
    history = _history(feed)
    for gid in _games(feed)[:-1]:
        frames = [(t, s) for t, s in states if s["gameId"] == gid]
        prices = history[gid]["prices"]
        rug = len(prices) - 1
        timers = [s["cooldownTimer"] for _, s in frames]
        # cooldown: full frame 15000, then minimal 7-field frames 14900 → 10100 every 100 ms
        assert len(frames[0][1]) == 36 and timers[0] == 15000
        assert timers[1:50] == list(range(14900, 10000, -100))
        assert all(len(s) == 7 and s["allowPreRoundBuys"] is False for _, s in frames[1:50])
        # presale: 21-field flip at 10000, then minimal frames 10000 → 100 (no 0)
        flip = frames[50][1]
        assert len(flip) == 21 and flip["allowPreRoundBuys"] is True and flip["active"] is False
        assert timers[50:151] == [10000, *range(10000, 0, -100)]
        assert all(len(s) == 7 and s["allowPreRoundBuys"] for _, s in frames[51:151])
        assert round(frames[50][0] - frames[0][0], 9) == 5.0
        # active: tick 0 start frame (14 fields) 15 s after the cooldown start, then 250 ms ticks
        active = frames[151:151 + rug]
        assert len(active[0][1]) == 14 and active[0][1]["tickCount"] == 0
        assert round(active[0][0] - frames[0][0], 9) == 15.0
        assert [s["tickCount"] for _, s in active] == list(range(rug))
        assert [s["price"] for _, s in active] == prices[:rug]
        assert all(s["active"] and not s["rugged"] for _, s in active)
        assert all(round(b[0] - a[0], 9) == 0.25 for a, b in pairwise(active))
        assert all(len(s) == 21 for _, s in active[1:])
        # rug: first frame at tick N, still active, crash price ≤ 0.02·min(1, last price)
        t_rug, first = frames[151 + rug]
        assert (first["tickCount"], first["rugged"], first["active"]) == (rug, True, True)
        assert first["price"] == prices[-1] <= 0.02 * min(1.0, prices[-2])
        assert first["partialPrices"]["endTick"] == rug
        # then 0.3–5 s later a full frame at N+1..N+3 whose history lacks this game
        t_post, post = frames[152 + rug]
        assert len(frames) == 153 + rug
        assert 0.3 <= t_post - t_rug <= 5.0
        assert rug + 1 <= post["tickCount"] <= rug + 3 and post["rugged"] is True
        assert gid not in [g["id"] for g in post["gameHistory"]]
        assert post["partialPrices"] == first["partialPrices"]


def test_partial_prices_is_the_sliding_window_of_the_last_five_ticks(
    feed: list[ScheduledFrame],
) -> None:
    history = _history(feed)
    checked = 0
    for _, s in _states(feed):
        pp = s.get("partialPrices")
        if pp is None or s["gameId"] not in history or s.get("allowPreRoundBuys"):
            continue
        if s.get("active") is False:  # cooldown start and presale flip: the next game's tick 0
            assert pp == {"startTick": 0, "endTick": 0, "values": {"0": 1}}
            continue
        prices = history[s["gameId"]]["prices"]
        end = pp["endTick"]
        assert pp["startTick"] == max(0, end - 4)
        assert pp["values"] == {str(t): prices[t] for t in range(max(0, end - 4), end + 1)}
        checked += 1
    assert checked > 100


def test_revealed_seeds_hash_to_the_commitment_and_replay_to_the_prices(
    feed: list[ScheduledFrame],
) -> None:
    shown = {s["gameId"]: s["provablyFair"] for _, s in _states(feed)}
    for gid, g in _history(feed).items():
        seed = g["provablyFair"]["serverSeed"]
        assert len(seed) == 64 and int(seed, 16) >= 0
        digest = hashlib.sha256(seed.encode("ascii")).hexdigest()
        assert digest == g["provablyFair"]["serverSeedHash"] == shown[gid]["serverSeedHash"]
        assert shown[gid]["version"] == g["gameVersion"] == "v3"
        path = replay_game(seed, gid, "v3")
        assert g["prices"][:-1] == path.prices
        assert g["peakMultiplier"] == max(path.prices)
        assert g["rugged"] is True and g["globalTrades"] == []


def test_side_bets_pay_five_times_iff_the_rug_tick_is_at_most_the_end_tick(
    feed: list[ScheduledFrame],
) -> None:
    wins = losses = 0
    for gid, g in _history(feed).items():
        rug = len(g["prices"]) - 1
        placed = [b for b in g["globalSidebets"] if b["type"] == "placed"]
        paid = [b for b in g["globalSidebets"] if b["type"] == "payout"]
        assert len(placed) == len(paid)
        for b in placed:
            assert b["end"] == b["startedAtTick"] + 40 and b["gameId"] == gid
            (p,) = [q for q in paid if q["playerId"] == b["playerId"]
                    and q["startTick"] == b["startedAtTick"]]
            assert p["endTick"] == b["end"] and p["xPayout"] == 5
            if rug <= b["end"]:
                wins += 1
                assert p["payout"] == b["betAmount"] * 5 and p["tickIndex"] == rug
                assert p["price"] == g["prices"][-1]
            else:
                losses += 1
                assert p["payout"] == 0 and p["profit"] == -b["betAmount"]
    # seed 7 draws 56 side bets over the 6 games; both outcomes occur, each bet checked above
    assert (wins, losses) == (15, 41)


def test_trades_are_two_argument_events_with_uuid_ids(feed: list[ScheduledFrame]) -> None:
    trades = [f for f in feed if f.event == "standard/newTrade"]
    assert trades
    for f in trades:
        trace, t = f.args
        assert trace["__trace"] is True and len(trace["traceparent"].split("-")) == 4
        assert str(uuid.UUID(t["id"])) == t["id"]
        assert t["type"] in ("buy", "sell", "short_open", "short_close")


def _real_key_orders(path: Path) -> set[tuple[str, ...]]:
    out = set()
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        data = rec["data"]
        if rec["event"] == "standard/newTrade":
            out.add(("trade", *data[-1].keys()))
        elif rec["event"] == "gameStateUpdate":
            out.add(tuple(data.keys()))
            for g in data.get("gameHistory", []):
                out.add(("history", *g.keys()))
                out.update(("sidebet", *b.keys()) for b in g["globalSidebets"])
    return out


def test_frames_carry_the_real_fields_in_the_real_order(
    feed: list[ScheduledFrame], captures_dir: Path
) -> None:
    real = _real_key_orders(captures_dir / "2025-12-12_two-rugs.jsonl")
    sim: set[tuple[str, ...]] = set()
    for f in feed:
        p = f.args[-1]
        if f.event == "standard/newTrade":
            sim.add(("trade", *p.keys()))
            continue
        sim.add(tuple(p.keys()))
        for g in p.get("gameHistory", []):
            sim.add(("history", *g.keys()))
            sim.update(("sidebet", *b.keys()) for b in g["globalSidebets"])
    # every state frame shape the simulator sends is one the real server sent
    assert {k for k in sim if k[0] not in ("trade", "history", "sidebet")} <= real
    assert {k for k in sim if k[0] in ("history", "sidebet")} <= real
    # buy and sell trades have the capture's shapes (short trades: see the 2026 samples)
    real_trades = {k for k in real if k[0] == "trade"}
    sim_trades = {k for k in sim if k[0] == "trade" and "bonusPortion" in k}
    assert len(real_trades) == 2 and sim_trades == real_trades
    assert len({k for k in sim if k[0] not in ("trade", "history", "sidebet")}) == 4


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError, match="speed"):
        next(simulate_feed(1, seed=0, speed=0))
    with pytest.raises(ConfigError, match="games"):
        next(simulate_feed(-1, seed=0))
