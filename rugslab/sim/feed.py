"""The simulated live feed: a pure, seeded generator of the frames the rugs.fun server sends.

`simulate_feed` yields `ScheduledFrame`s (send time, event, argument list) and opens no socket;
`rugslab.sim.server` puts them on the wire. Each game follows the real cycle, field by field as
in `../shared/captures/2025-12-12_two-rugs.jsonl` (Dec 2025 era, version v3):

    cooldown  t0           full frame (36 fields): new gameId, cooldownTimer 15000, gameHistory
                           (last 10 games, newest first, seeds revealed), stats, highestToday*
              t0+0.1k      minimal 7-field frames 14900 → 10100 (100 ms steps)
    presale   t0+5.0       21-field flip frame (allowPreRoundBuys true, timer 10000, tradeCount
                           of the previous game), then minimal frames 10000 → 100
    active    t0+15+k/4    tick 0: 14-field start frame; ticks 1..N-1: 21-field frames with
                           price, tickCount, tradeCount, partialPrices (last 5 ticks, str keys)
    rug       tick N       rugged=true, active still true, price = crash price, partialPrices
                           ending at N; then 0.3–5 s later a 36-field frame with tickCount
                           N+1..N+3 whose gameHistory does not yet hold this game
    next      +0.5 s       the next game's cooldown frame reveals this game in gameHistory[0]

The price path is `rugslab.fair.game.replay_game(server_seed, game_id, "v3")`, so every
simulated game verifies; the crash price (not produced by the generator) is drawn from the
feed's seed as u · 0.02 · min(1, last price), u uniform in (0, 1]. `standard/newTrade` goes out
as `[trace, payload]` at most once per 8 ticks (the newest trade, as the real feed samples them);
side bets show only in later `gameHistory[].globalSidebets` (Dec 2025: no public newSideBet).
Times (`at_s`) are seconds from the feed start divided by `speed`; the payload timestamps
(ms) follow an unscaled simulated clock starting at `start_ms`.

The feed ends with the cooldown frame of the game after the last one, so every played game's
seed is revealed. Before the first game the history is empty (it fills as games are played).
Source: PROTOCOL.md; the captures named above.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rugslab.errors import ConfigError
from rugslab.fair.game import check_version, replay_game
from rugslab.feed.rules import MAX_TICKS, NOMINAL_TICK_MS, seed_hash
from rugslab.sim.players import Crowd

#: 2025-12-13 00:00:00 UTC: simulated clock origin (ms since the Unix epoch).
DEFAULT_START_MS = 1_765_584_000_000
COOLDOWN_MS = 15_000
PRESALE_MS = 10_000
TIMER_STEP_MS = 100
TICK_S = NOMINAL_TICK_MS / 1000
HISTORY_LEN = 10
STATS_GAMES = 100
TRADE_EVERY_TICKS = 8
SHITCOINS = [{"address": "0xPractice", "ticker": "FREE", "name": "Practice SOL",
              "max_bet": 10000, "max_win": 100000}]
RUG_ROYALE: dict[str, Any] = {"status": "INACTIVE", "activeEventId": None, "currentEvent": None,
              "upcomingEvents": [], "events": []}


@dataclass(frozen=True, slots=True)
class ScheduledFrame:
    """One frame to send.

    Attributes:
        at_s: send time, seconds after the feed start (already divided by the speed); never
            decreases along a feed.
        event: Socket.IO event name.
        args: the argument list (`emit(event, *args)`); two-argument events are [trace, payload].
        raw: when set, a wire-level Socket.IO packet text sent instead of `event`/`args`
            (fault injection of packets that are not valid JSON).
    """

    at_s: float
    event: str
    args: list[Any]
    raw: str | None = None


def new_server_seed(rng: random.Random) -> str:
    """A 64-hex-digit server seed."""
    return f"{rng.getrandbits(256):064x}"


def new_game_id(rng: random.Random, ts_ms: int) -> str:
    """`YYYYMMDD-<16 hex>` with the UTC date of `ts_ms`."""
    day = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y%m%d")
    return f"{day}-{rng.getrandbits(64):016x}"


def draw_crash_price(rng: random.Random, last_price: float) -> float:
    """The post-rug price: u · 0.02 · min(1, last_price), u uniform in (0, 1]."""
    return (1.0 - rng.random()) * 0.02 * min(1.0, last_price)


def trace_arg(rng: random.Random) -> dict[str, Any]:
    """The OpenTelemetry marker the server puts before some payloads."""
    return {"__trace": True,
            "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01"}


def partial_prices(prices: list[Any], tick: int) -> dict[str, Any]:
    """The sliding window of the last 5 ticks ending at `tick` (`prices[t]` for each t)."""
    start = max(0, tick - 4)
    return {"startTick": start, "endTick": tick,
            "values": {str(t): prices[t] for t in range(start, tick + 1)}}


def _check(n_games: int | None, speed: float, players: int) -> None:
    if n_games is not None and n_games < 0:
        raise ConfigError(f"Invalid games {n_games!r}: expected 0 or more (None: no end).")
    if not speed > 0:
        raise ConfigError(f"Invalid speed {speed!r}: expected a number > 0 (1 = real time).")
    if players < 0:
        raise ConfigError(f"Invalid players {players!r}: expected 0 or more.")


def simulate_feed(
    n_games: int | None,
    seed: int,
    speed: float = 1.0,
    players: int = 20,
    *,
    start_ms: int = DEFAULT_START_MS,
    version: str = "v3",
    max_ticks: int = MAX_TICKS,
) -> Iterator[ScheduledFrame]:
    """Yield the simulated feed of `n_games` games (None: endless), deterministic for `seed`.

    Args:
        n_games: games to play; the feed ends with the next game's first cooldown frame.
        seed: fixes every seed, id, price, player and timing.
        speed: time scale (2 = twice as fast as the real server).
        players: simulated players (trades, side bets, leaderboard).
        start_ms: simulated wall clock at the start (payload timestamps, game-id dates).
        version: provably-fair version of the price path ("v3" like the Dec 2025 feed).
        max_ticks: generator tick cap (5000 on the real server).

    Raises:
        ConfigError: negative `n_games`/`players`, `speed` ≤ 0.
        FairnessError: unknown `version`.
    """
    _check(n_games, speed, players)
    check_version(version)
    yield from _Sim(seed, speed, players, start_ms, version, max_ticks).run(n_games)


class _Sim:
    """State carried across games: clock, players, history window, statistics."""

    def __init__(self, seed: int, speed: float, players: int, start_ms: int, version: str,
                 max_ticks: int) -> None:
        self.rng = random.Random(seed)
        self.speed = speed
        self.start_ms = start_ms
        self.version = version
        self.max_ticks = max_ticks
        self.crowd = Crowd(self.rng, players)
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_LEN)
        self.peaks: deque[float] = deque(maxlen=STATS_GAMES)
        self.best: tuple[str, float, int, list[Any]] | None = None  # day, peak, ts, prices
        self.t = 0.0
        self.connected = 200
        self.leaderboard: list[dict[str, Any]] = []
        self.last_trade_count = 0

    def frame(self, event: str, args: list[Any], dt: float = 0.0) -> ScheduledFrame:
        return ScheduledFrame((self.t + dt) / self.speed, event, args)

    def ts_ms(self, dt: float = 0.0) -> int:
        return self.start_ms + round((self.t + dt) * 1000)

    def players_online(self) -> int:
        self.connected = max(1, self.connected + self.rng.randint(-2, 2))
        return self.connected

    def stats(self) -> dict[str, Any]:
        peaks = self.peaks
        avg = sum(peaks) / len(peaks) if peaks else 0.0
        out: dict[str, Any] = {"averageMultiplier": avg}
        for x in (2, 10, 50, 100):
            out[f"count{x}x"] = sum(1 for p in peaks if p >= x)
        return out

    def full_extras(self) -> dict[str, Any]:
        day = datetime.fromtimestamp(self.ts_ms() / 1000, tz=UTC).strftime("%Y%m%d")
        best = self.best if self.best and self.best[0] == day else None
        out: dict[str, Any] = {"gameHistory": [dict(g) for g in self.history], **self.stats(),
                               "highestToday": best[1] if best else None,
                               "highestTodayTimestamp": best[2] if best else None,
                               "highestTodayPrices": list(best[3]) if best else []}
        for x in (2, 10, 50):
            out.update({f"godCandle{x}x": None, f"godCandle{x}xTimestamp": None,
                        f"godCandle{x}xPrices": [], f"godCandle{x}xMassiveJump": None})
        out["availableShitcoins"] = [dict(c) for c in SHITCOINS]
        return out

    def state(self, game_id: str, pf: dict[str, Any], *, active: bool, price: Any,
              tick: int, rugged: bool, pp: dict[str, Any], timer: int, presale: bool,
              leaderboard: list[dict[str, Any]], trade_count: int) -> dict[str, Any]:
        """The 21-field frame (presale flip, active ticks, rug)."""
        return {"active": active, "price": price, "partialPrices": pp,
                "tradeCount": trade_count, "rugged": rugged, "tickCount": tick,
                "cooldownTimer": timer, "cooldownPaused": False, "pauseMessage": "",
                "allowPreRoundBuys": presale, **self.stats(), "leaderboard": leaderboard,
                "gameId": game_id, "connectedPlayers": self.players_online(),
                "rugpool": {"instarugCount": 1, "threshold": 10, "rugpoolAmount": 0.7011900015},
                "rugRoyale": dict(RUG_ROYALE), "provablyFair": dict(pf)}

    def full(self, game_id: str, pf: dict[str, Any], *, active: bool, price: Any, tick: int,
             rugged: bool, pp: dict[str, Any], timer: int) -> dict[str, Any]:
        """The 36-field "full" frame (cooldown start, post-rug)."""
        return {**self.full_extras(), "active": active, "price": price, "rugged": rugged,
                "tickCount": tick, "cooldownTimer": timer, "cooldownPaused": False,
                "pauseMessage": "", "allowPreRoundBuys": False,
                "leaderboard": [dict(e) for e in self.leaderboard], "gameId": game_id,
                "connectedPlayers": self.players_online(), "gameVersion": self.version,
                "partialPrices": pp, "provablyFair": dict(pf)}

    def minimal(self, game_id: str, pf: dict[str, Any], timer: int, presale: bool,
                leaderboard: list[dict[str, Any]]) -> dict[str, Any]:
        return {"gameId": game_id, "cooldownTimer": timer, "cooldownPaused": False,
                "allowPreRoundBuys": presale, "leaderboard": leaderboard,
                "connectedPlayers": self.players_online(), "provablyFair": dict(pf)}

    def run(self, n_games: int | None) -> Iterator[ScheduledFrame]:
        played = 0
        while True:
            game_id = new_game_id(self.rng, self.ts_ms())
            seed = new_server_seed(self.rng)
            pf = {"serverSeedHash": seed_hash(seed), "version": self.version}
            start_pp = partial_prices([1], 0)
            yield self.frame("gameStateUpdate", [self.full(
                game_id, pf, active=False, price=1, tick=0, rugged=False, pp=start_pp,
                timer=COOLDOWN_MS)])
            if n_games is not None and played >= n_games:
                return
            yield from self.play(game_id, seed, pf)
            played += 1

    def cooldown(self, game_id: str, pf: dict[str, Any]) -> Iterator[ScheduledFrame]:
        steps = (COOLDOWN_MS - PRESALE_MS) // TIMER_STEP_MS
        for k in range(1, steps):
            yield self.frame("gameStateUpdate", [self.minimal(
                game_id, pf, COOLDOWN_MS - k * TIMER_STEP_MS, False, self.leaderboard)],
                k * TIMER_STEP_MS / 1000)
        self.t += steps * TIMER_STEP_MS / 1000
        self.crowd.new_game(game_id)
        yield self.frame("gameStateUpdate", [self.state(
            game_id, pf, active=False, price=1, tick=0, rugged=False,
            pp=partial_prices([1], 0), timer=PRESALE_MS, presale=True, leaderboard=[],
            trade_count=self.last_trade_count)])
        yield self.frame("gameStateUpdate", [self.minimal(game_id, pf, PRESALE_MS, True, [])])
        self.crowd.presale(self.ts_ms())
        board = self.crowd.leaderboard(1.0, presale=True)
        for k in range(1, PRESALE_MS // TIMER_STEP_MS):
            yield self.frame("gameStateUpdate", [self.minimal(
                game_id, pf, PRESALE_MS - k * TIMER_STEP_MS, True, board)],
                k * TIMER_STEP_MS / 1000)
        self.t += PRESALE_MS / 1000

    def play(self, game_id: str, seed: str, pf: dict[str, Any]) -> Iterator[ScheduledFrame]:
        yield from self.cooldown(game_id, pf)
        path = replay_game(seed, game_id, self.version, max_ticks=self.max_ticks)
        prices: list[Any] = [1, *path.prices[1:]]
        rug_tick = len(prices)
        crowd = self.crowd
        t_start = self.t
        last_sent = 0
        for tick in range(rug_tick):
            self.t = t_start + tick * TICK_S
            if tick == 0:
                yield self.frame("gameStateUpdate", [{
                    "active": True, "price": 1, "rugged": False, "tickCount": 0,
                    "cooldownTimer": 0, "cooldownPaused": False, "pauseMessage": "",
                    "allowPreRoundBuys": False, "leaderboard": [], "gameId": game_id,
                    "connectedPlayers": self.players_online(), "gameVersion": self.version,
                    "partialPrices": partial_prices(prices, 0), "provablyFair": dict(pf)}])
            else:
                crowd.on_tick(tick, prices[tick], self.ts_ms())
                yield self.frame("gameStateUpdate", [self.state(
                    game_id, pf, active=True, price=prices[tick], tick=tick, rugged=False,
                    pp=partial_prices(prices, tick), timer=0, presale=False,
                    leaderboard=crowd.leaderboard(prices[tick]),
                    trade_count=crowd.trade_count)])
            if tick % TRADE_EVERY_TICKS == 0 and crowd.trade_count > last_sent:
                last_sent = crowd.trade_count
                trade = crowd.last_trade
                if trade is not None:
                    yield self.frame("standard/newTrade", [trace_arg(self.rng), trade], 0.005)
        # the rug: crash price at tick N, liquidations, then the post-rug frame
        self.t = t_start + rug_tick * TICK_S
        crash = draw_crash_price(self.rng, float(prices[-1]))
        prices.append(crash)
        crowd.on_rug(rug_tick, crash, self.ts_ms())
        self.leaderboard = crowd.leaderboard(crash)
        self.last_trade_count = crowd.trade_count
        rug_pp = partial_prices(prices, rug_tick)
        yield self.frame("gameStateUpdate", [self.state(
            game_id, pf, active=True, price=crash, tick=rug_tick, rugged=True, pp=rug_pp,
            timer=0, presale=False, leaderboard=self.leaderboard,
            trade_count=crowd.trade_count)])
        rug_ms = self.ts_ms()
        self.t += self.rng.uniform(0.3, 5.0)
        yield self.frame("gameStateUpdate", [self.full(
            game_id, pf, active=True, price=crash, tick=rug_tick + self.rng.randint(1, 3),
            rugged=True, pp=rug_pp, timer=0)])
        self.t += 0.5
        self.reveal(game_id, seed, prices, path.peak_multiplier, rug_ms)

    def reveal(self, game_id: str, seed: str, prices: list[Any], peak: float,
               rug_ms: int) -> None:
        """Add the finished game to the history window and the statistics."""
        self.history.appendleft({
            "id": game_id, "timestamp": rug_ms, "prices": prices, "peakMultiplier": peak,
            "rugged": True, "globalTrades": [],
            "globalSidebets": [dict(s) for s in self.crowd.sidebets],
            "provablyFair": {"serverSeed": seed, "serverSeedHash": seed_hash(seed)},
            "gameVersion": self.version})
        self.peaks.append(peak)
        day = datetime.fromtimestamp(rug_ms / 1000, tz=UTC).strftime("%Y%m%d")
        if self.best is None or self.best[0] != day or peak > self.best[1]:
            self.best = (day, peak, rug_ms, prices)


__all__ = ["ScheduledFrame", "draw_crash_price", "new_game_id", "new_server_seed",
           "partial_prices", "simulate_feed", "trace_arg"]
