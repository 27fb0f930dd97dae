"""One day of simulated games as lake rows: ticks, games, seeds, trades and side bets.

`simulate_day` makes the rows of `rugslab sim lake` (`rugslab.sim.lake`) column by column with
numpy, with no feed frames in between, shaped as the collector stores a game it watched live
from its cooldown to its rug:

- prices: the provably-fair path of each game (`rugslab.fair.fast.replay_games`, v3) from a
  64-hex server seed and the game's id, so `rugslab verify` verifies every game; the rug row
  carries the crash price u · 0.02 · min(1, last price) (as `rugslab.sim.feed`);
- receive times (`ticks.recv_ts`): tick 0 at the game's slot, then intervals of
  NOMINAL_TICK_MS · exp(σ·s + τ·η) ms where s is a stationary AR(1) load (φ = 0.9, σ = 0.1,
  as `rugslab.sim.timed`) and η ~ N(0, 1) the receiver's jitter (τ = 0.03); an interval is a
  1-5 s stall with probability 1e-4 (the stalls `rugslab report` counts);
- trades: what the live feed shows, the newest trade once per 8 ticks (`sim.feed`'s
  TRADE_EVERY_TICKS): a trade at tick 8k when any of the crowd's players traded in those 8
  ticks (`players.TRADE_CHANCE` per player and tick); its player, type (10% shorts, else buy
  or sell), amount from `players`' amounts; positions are not tracked;
- side bets: each player bets at tick 0 with `PRESALE_SIDEBET_CHANCE`, else from tick 1 with
  `SIDEBET_CHANCE` per tick, one bet at a time (the next from the tick after the last one's
  end), resolved by the rule (won iff rug tick ≤ end tick), as `players.Crowd` plays them.

Every random draw comes from `np.random.default_rng([seed, day ordinal])`, so a day's rows
depend only on the seed, the day and its game slots.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import polars as pl
from scipy.signal import lfilter

from rugslab.fair.fast import replay_games
from rugslab.feed.rules import (
    NOMINAL_TICK_MS,
    SIDEBET_PAYOUT_X,
    SIDEBET_WINDOW_TICKS,
    SIM_GAME_ID_MARKER,
)
from rugslab.sim.feed import COOLDOWN_MS, PRESALE_MS, TRADE_EVERY_TICKS
from rugslab.sim.players import (
    BUY_AMOUNTS_SOL,
    PRACTICE,
    PRESALE_SIDEBET_CHANCE,
    SHORT_AMOUNTS_SOL,
    SIDEBET_CHANCE,
    SIDEBET_STAKES_SOL,
    TRADE_CHANCE,
    Player,
)

#: Receive-time model (module docstring).
LOAD_PHI, LOAD_SIGMA, JITTER_TAU = 0.9, 0.1, 0.03
STALL_PROB, STALL_MIN_MS, STALL_MAX_MS = 1e-4, 1000.0, 5000.0
VERSION = "v3"
_US = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The games of one day: `slots` (int64, game number within the day, 0-based),
    `spacing_s` (seconds between slots: tick 0 of slot k is at k·spacing_s after midnight)."""

    day: date
    slots: np.ndarray
    spacing_s: float


def run_tag(seed: int) -> str:
    """4 hex digits of sha256(seed) that every game id of a build carries (two builds with
    other seeds give other ids for the same slots)."""
    return hashlib.sha256(str(seed).encode()).hexdigest()[:4]


def sim_game_ids(day: date, slots: np.ndarray, tag: str) -> list[str]:
    """`YYYYMMDD-<marker><tag><slot as 4 hex>` per slot (`feed.rules.SIM_GAME_ID_MARKER`)."""
    prefix = f"{day:%Y%m%d}-{SIM_GAME_ID_MARKER}{tag}"
    return [f"{prefix}{int(s):04x}" for s in slots]


def _hex_ids(rng: np.random.Generator, n: int, digits: int) -> list[str]:
    h = rng.bytes(n * digits // 2).hex()
    return [h[i:i + digits] for i in range(0, n * digits, digits)]


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    """n version-4 UUID strings."""
    return [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}" for h in _hex_ids(rng, n, 32)]


def _intervals_ms(rng: np.random.Generator, n: int) -> np.ndarray:
    """n receive intervals (ms) of the module's model (one AR(1) load across the day)."""
    eps = rng.standard_normal(n)
    zi = np.array([LOAD_PHI * rng.standard_normal()])
    load, _ = lfilter([np.sqrt(1.0 - LOAD_PHI**2)], [1.0, -LOAD_PHI], eps, zi=zi)
    ms = NOMINAL_TICK_MS * np.exp(LOAD_SIGMA * load + JITTER_TAU * rng.standard_normal(n))
    stall = rng.random(n) < STALL_PROB
    ms[stall] = rng.uniform(STALL_MIN_MS, STALL_MAX_MS, int(stall.sum()))
    return ms


def simulate_day(plan: DayPlan, *, seed: int, players: list[Player]) -> dict[str, pl.DataFrame]:
    """The lake rows of one day's simulated games.

    Args:
        plan: the day and its game slots.
        seed: the build's seed (with the day, it fixes every draw).
        players: the crowd (ids, names, levels, coins) that trades and bets.

    Returns:
        Frames for `ticks`, `games`, `seeds`, `trades`, `side_bets`, each with its table's
        columns (`games`' coverage columns are left to the writer, which derives them).
    """
    rng = np.random.default_rng([seed, plan.day.toordinal()])
    n = int(plan.slots.size)
    ids = sim_game_ids(plan.day, plan.slots, run_tag(seed))
    seeds = _hex_ids(rng, n, 64)
    rb = replay_games(seeds, ids, VERSION)
    total = rb.total_ticks.astype(np.int64)
    rugged = rb.rugged
    last_price = rb.prices[rb.offsets[1:] - 1]
    crash = (1.0 - rng.random(n)) * 0.02 * np.minimum(1.0, last_price)
    rows = total + 1 + rugged  # ticks 0..total, then the rug tick
    starts = np.concatenate([[0], np.cumsum(rows)[:-1]])
    game = np.repeat(np.arange(n), rows)
    tick = np.arange(game.size) - starts[game]
    price = np.insert(rb.prices, rb.offsets[1:][rugged], crash[rugged])
    is_rug = rugged[game] & (tick == total[game] + 1)
    iv = _intervals_ms(rng, game.size)
    iv[starts] = 0.0
    cum = np.cumsum(iv)
    cum -= np.repeat(cum[starts], rows)
    midnight_us = int(datetime(plan.day.year, plan.day.month, plan.day.day,
                               tzinfo=UTC).timestamp() * 1_000_000)
    start_us = midnight_us + (plan.slots * plan.spacing_s * 1e6).astype(np.int64)
    recv_us = start_us[game] + np.round(cum * 1000).astype(np.int64)
    ids_arr = np.array(ids)
    ticks = pl.DataFrame({
        "game_id": ids_arr[game], "tick": tick.astype(np.int32), "price_x": price,
        "recv_ts": pl.Series(recv_us).cast(_US), "source": np.full(game.size, "live"),
        "is_rug": is_rug,
    })
    rug_tick = np.where(rugged, total + 1, -1)
    end_us = recv_us[starts + rows - 1]
    hashes = [hashlib.sha256(s.encode()).hexdigest() for s in seeds]
    games = pl.DataFrame({
        "game_id": ids, "version": [VERSION] * n, "server_seed_hash": hashes,
        "first_seen_ts": pl.Series(start_us - (COOLDOWN_MS + PRESALE_MS) * 1000).cast(_US),
        "start_ts": pl.Series(start_us).cast(_US), "end_ts": pl.Series(end_us).cast(_US),
        "first_live_tick": np.zeros(n, np.int32),
        "last_live_tick": np.where(rugged, total + 1, total).astype(np.int32),
        "rug_tick": pl.Series(rug_tick.astype(np.int32)), "rugged": rugged,
        "peak_x": rb.peak_multiplier, "crash_price_x": pl.Series(np.where(rugged, crash, np.nan)),
        "seen_live": np.ones(n, bool), "revealed": np.ones(n, bool),
    }).with_columns(pl.col("rug_tick").replace(-1, None),
                    pl.col("crash_price_x").fill_nan(None))
    seed_rows = pl.DataFrame({"game_id": ids, "server_seed_hash": hashes, "server_seed": seeds,
                              "version": [VERSION] * n, "hash_ok": np.ones(n, bool)})
    at = _Ticks(ids_arr, starts, total, rug_tick, price, recv_us, start_us)
    return {"ticks": ticks, "games": games, "seeds": seed_rows,
            "trades": _trades(rng, at, players), "side_bets": _side_bets(rng, at, players)}


@dataclass(frozen=True, slots=True)
class _Ticks:
    """Per game (index g): id, first row, last price tick, rug tick (-1: none); per row:
    price and receive time (µs); per game: tick 0's receive time."""

    ids: np.ndarray
    starts: np.ndarray
    total: np.ndarray
    rug_tick: np.ndarray
    price: np.ndarray
    recv_us: np.ndarray
    start_us: np.ndarray


def _player_columns(players: list[Player], who: np.ndarray) -> dict[str, np.ndarray]:
    pid = np.array([p.player_id for p in players])
    name = np.array([p.username for p in players])
    practice = np.array([p.coin == PRACTICE for p in players])
    return {"player_id": pid[who], "username": name[who], "practice": practice[who],
            "level": np.array([p.level for p in players], np.int32)[who],
            "coin_address": np.array([p.coin for p in players])[who]}


def _trades(rng: np.random.Generator, at: _Ticks, players: list[Player]) -> pl.DataFrame:
    """The newest trade per 8 ticks, as the live feed shows them (module docstring)."""
    per_game = at.total // TRADE_EVERY_TICKS  # trade ticks 8, 16, ... ≤ last price tick
    g = np.repeat(np.arange(at.total.size), per_game)
    k = np.arange(g.size) - np.repeat(np.cumsum(per_game) - per_game, per_game)
    tick = (k + 1) * TRADE_EVERY_TICKS
    p_any = 1.0 - (1.0 - TRADE_CHANCE) ** (len(players) * TRADE_EVERY_TICKS)
    keep = rng.random(g.size) < p_any
    g, tick = g[keep], tick[keep]
    m = g.size
    row = at.starts[g] + tick
    price = at.price[row]
    who = rng.integers(0, len(players), m)
    kind = np.where(rng.random(m) < 0.1, np.where(rng.random(m) < 0.5, 2, 3),
                    np.where(rng.random(m) < 0.5, 0, 1))  # buy, sell, short_open, short_close
    size = np.array(BUY_AMOUNTS_SOL)[rng.integers(0, len(BUY_AMOUNTS_SOL), m)]
    short = np.array(SHORT_AMOUNTS_SOL)[rng.integers(0, len(SHORT_AMOUNTS_SOL), m)]
    # a buy spends `size` at the price; a sell sells what `size` bought at price 1
    amount = np.where(kind == 0, size, np.where(kind == 1, size * price, short))
    qty = np.where(kind == 0, size / np.maximum(price, 1e-12), np.where(kind == 1, size, 0.0))
    pc = _player_columns(players, who)
    practice = pc["practice"]
    real = np.where(practice, 0.0, amount)
    types = np.array(["buy", "sell", "short_open", "short_close"])[kind]
    return pl.DataFrame({
        "trade_id": _uuids(rng, m), "game_id": at.ids[g], "player_id": pc["player_id"],
        "username": pc["username"], "level": pc["level"], "trade_type": types,
        "tick": tick.astype(np.int32), "price_x": price, "qty": np.round(qty, 9),
        "amount_sol": np.round(amount, 9),
        "bonus_portion_sol": pl.Series(np.where(kind < 2, np.round(amount - real, 9), np.nan)),
        "real_portion_sol": pl.Series(np.where(kind < 2, real, np.nan)),
        "leverage": pl.Series(np.where(kind == 0, 1.0, np.nan)),
        "coin": np.full(m, "solana"), "recv_ts": pl.Series(at.recv_us[row]).cast(_US),
        "source": np.full(m, "live"),
    }).with_columns(pl.col("bonus_portion_sol", "real_portion_sol", "leverage").fill_nan(None))


def _side_bets(rng: np.random.Generator, at: _Ticks, players: list[Player]) -> pl.DataFrame:
    """Every player's side bets, one at a time, resolved by the rule (module docstring)."""
    n, p = at.total.size, len(players)
    game = np.repeat(np.arange(n), p)
    who = np.tile(np.arange(p), n)
    last = at.total[game]  # bets are placed at ticks the game is alive (≤ last price tick)
    rug = at.rug_tick[game]
    start = np.where(rng.random(game.size) < PRESALE_SIDEBET_CHANCE, 0,
                     rng.geometric(SIDEBET_CHANCE, game.size))
    out_g, out_w, out_s = [], [], []
    live = start <= last
    while live.any():
        game, who, start, last, rug = (a[live] for a in (game, who, start, last, rug))
        out_g.append(game)
        out_w.append(who)
        out_s.append(start)
        end = start + SIDEBET_WINDOW_TICKS
        won = (rug >= 0) & (rug <= end)
        start = end + rng.geometric(SIDEBET_CHANCE, game.size)  # from the tick after the end
        live = ~won & (start <= last)
    g, w, s = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (out_g, out_w, out_s))
    m = g.size
    end = s + SIDEBET_WINDOW_TICKS
    rug = at.rug_tick[g]
    resolved = (rug >= 0)
    won = resolved & (rug <= end)
    stake = np.array(SIDEBET_STAKES_SOL)[rng.integers(0, len(SIDEBET_STAKES_SOL), m)]
    payout = np.where(won, stake * SIDEBET_PAYOUT_X, 0.0)
    pc = _player_columns(players, w)
    practice = pc["practice"]
    presale_us = at.start_us[g] - (rng.random(m) * PRESALE_MS * 1000).astype(np.int64)
    placed_us = np.where(s == 0, presale_us, at.recv_us[at.starts[g] + s])
    return pl.DataFrame({
        "game_id": at.ids[g], "player_id": pc["player_id"], "start_tick": s.astype(np.int32),
        "end_tick": end.astype(np.int32), "username": pc["username"], "bet_amount_sol": stake,
        "payout_x": np.full(m, SIDEBET_PAYOUT_X), "coin_address": pc["coin_address"],
        "practice": practice, "bonus_portion_sol": np.where(practice, stake, 0.0),
        "real_portion_sol": np.where(practice, 0.0, stake),
        "placed_ts": pl.Series(placed_us).cast(_US), "placed_id": _uuids(rng, m),
        "payout_id": pl.Series(_uuids(rng, m)).zip_with(pl.Series(resolved),
                                                        pl.Series([None] * m, dtype=pl.String)),
        "resolved": resolved, "won": pl.Series(won).zip_with(
            pl.Series(resolved), pl.Series([None] * m, dtype=pl.Boolean)),
        "resolved_tick": pl.Series(np.where(won, rug, s).astype(np.int32)).zip_with(
            pl.Series(resolved), pl.Series([None] * m, dtype=pl.Int32)),
        "payout_sol": pl.Series(payout).zip_with(pl.Series(resolved),
                                                 pl.Series([None] * m, dtype=pl.Float64)),
        "profit_sol": pl.Series(payout - stake).zip_with(
            pl.Series(resolved), pl.Series([None] * m, dtype=pl.Float64)),
    })
