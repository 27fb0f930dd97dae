"""The paper trader: a strategy of the backtest engine played on the feed, tick by tick.

`PaperTrader.feed(frame)` takes every frame as it arrives. The strategy plays one bankroll
(the engine's batch of one path) by the engine's own code (`Engine.step`), so its execution
rules are the backtest's: an order decided at tick t fills at t + latency at that tick's
price (a tick without a price: the next one that has one), side bets cover 40 ticks from
their start and win iff the rug comes by the window's end, stakes are capped by the cash.
What differs is only how a game is known:

- Ticks arrive one by one. The engine steps the path to each tick the feed has shown alive
  (`Engine.step(settle_quiet=False)`), never beyond, so no decision sees a later tick.
- A tick the run missed gets its price from a later frame's `partialPrices` window (up to 4
  back), else stays NaN, as in the lake; the backtest rule still decides at that tick, when
  the run learns of it. Such a decision is *late*: its `seen_tick` (the newest tick the run
  had seen) is above its `decision_tick`; the summary counts them.
- A game ends at its rug frame (`rug_tick_of`); its end tick (the rug tick − 1) is then
  known, and the engine settles what is open exactly as a backtest would (`end_games`). A
  game whose rug frame the run missed ends from the price path a later `gameHistory`
  reveals, or from reaching the cap. Without either (or when the run stops mid-game) its
  end is unknown: the game is *censored* at its last tick seen alive, exactly as a lake
  backtest keeps a game whose rug was not recorded (`rugslab.strategy.engine`, the
  `games.last_live_tick` of the lake built from the same frames), and the backtest's own
  settlement (`rugslab.strategy.settlement.settle_game_ends`) settles it: a side bet whose
  window closed alive lost, a window reaching past the last tick and a position still open
  are void (stake back), an order due after it lapses "censored" (status void).
- A game is played only when the run saw it before it started (cooldown or presale, or its
  tick 0): a game joined later is skipped, since its early decisions would use ticks long
  gone.

Nothing is ever sent to rugs.fun. Every order event goes to `on_event` as a JSON-safe dict
(`rugslab.paper.records.message`) with game events (`game_start`, `game_skipped`,
`game_end`); the rows for the lake (`paper_decisions`, `paper_results`, and a
`paper_games` row per game played or skipped) wait in `take_rows()` from the end of each
game (a skipped game's row from when it is skipped).
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rugslab.errors import FrameError
from rugslab.feed.frames import Frame, iso_utc
from rugslab.feed.phases import GamePhase
from rugslab.feed.rules import MAX_TICKS
from rugslab.paper.observe import StateObservation, observe, revealed_path
from rugslab.paper.records import PaperRecords, message
from rugslab.paper.stream import LiveStream
from rugslab.strategy.book import Book
from rugslab.strategy.engine import Engine, ExecutionRules
from rugslab.strategy.orders import OrderEvent, OrderLog
from rugslab.strategy.protocol import Strategy
from rugslab.tables.batch import RowBatch

EventSink = Callable[[dict[str, Any]], None]
_ONE = np.zeros(1, np.int64)
_UNLIMITED = int(np.iinfo(np.int64).max)
_BEFORE_START = (GamePhase.COOLDOWN, GamePhase.PRESALE)
#: Games left behind whose late frames are ignored (the second rug frame of a game can come
#: after the next game's first cooldown frame).
_LEFT_GAMES = 16
CENSORED_MISSED_END = ("the run missed the game's end (no rug frame, no revealed price "
                       "path): censored at its last tick seen alive")
CENSORED_STOPPED = "the run stopped before the game ended: censored at its last tick seen alive"
#: `game_end.ended_by` / `paper_games.ended_by`: how the run learnt the game's end.
RUG, HISTORY, CAP, CENSORED = "rug", "history", "cap", "censored"


@dataclass(slots=True)
class _Game:
    game_id: str
    playing: bool
    game_no: int
    joined_tick: int | None  # the tick of the first frame seen (None: before the start)
    seen_ts: int | None
    known: int = -1  # the highest tick the feed has shown alive
    over: bool = False
    start: tuple[float, int, int, int] = (0.0, 0, 0, 0)  # cash, orders, bets, voided


@dataclass(slots=True)
class TraderCounts:
    """What a paper trader saw and did (for the summary). `games_observed`: games played or
    skipped (a game seen only before its start, when the run stopped, is not counted)."""

    frames: int = 0
    stale_frames: int = 0
    bad_frames: int = 0
    last_bad_reason: str | None = None
    games_observed: int = 0
    games_played: int = 0
    games_skipped: int = 0
    games_censored: int = 0
    ended_from_history: int = 0
    orders: int = 0
    late_orders: int = 0
    fills: int = 0
    lapses: int = 0
    event_errors: int = 0
    last_event_error: str | None = None


class PaperTrader:
    """One strategy, one bankroll, on the frames given to `feed` (module docstring).

    Args:
        strategy: a `Strategy` (e.g. `make_strategy("sidebet-fixed", {...})`).
        rules: bankroll, latency and ruin rule, as in a backtest.
        params_json: the strategy's checked parameters as JSON (on every row).
        run_id: 32 hex digits (default: a new uuid4).
        on_event: called with each event dict as it happens; its errors are counted, never
            raised (a broken listener must not stop the trading).
    """

    def __init__(self, strategy: Strategy, rules: ExecutionRules, *, params_json: str = "{}",
                 run_id: str | None = None, on_event: EventSink | None = None) -> None:
        self.rules = rules
        self.run_id = run_id or uuid.uuid4().hex
        self.strategy_name = getattr(strategy, "name", type(strategy).__name__)
        self.stream = LiveStream()
        self.log = OrderLog(listener=self._on_order)
        self.engine = Engine(strategy, rules, self.stream, n=1, games=_UNLIMITED,
                             checkpoints=np.zeros(1, np.int64), log=self.log)
        self.engine.begin()  # the path waits at tick 0 of the next game the feed shows
        self.records = PaperRecords(self.run_id, self.strategy_name, params_json,
                                    rules.latency_ticks)
        self.on_event = on_event
        self.counts = TraderCounts()
        self.played: list[str] = []  # games played to a known or censored end, in order
        self.ended_from_history: list[str] = []  # ... of which ended from a revealed path
        self.censored: list[str] = []  # ... of which censored (end never seen)
        self.game: _Game | None = None
        self._left: deque[str] = deque(maxlen=_LEFT_GAMES)  # games left behind, newest last
        self._seen: int | None = None
        self._ts: int | None = None

    # -- state --------------------------------------------------------------------------
    @property
    def book(self) -> Book:
        """The engine's books (one path)."""
        return self.engine.book

    @property
    def bankroll_sol(self) -> float:
        """Cash now (stakes at risk not included)."""
        return float(self.book.cash[0])

    @property
    def stopped(self) -> bool:
        """The bankroll stopped playing (ruin with `stop_at_ruin`): nothing more to do."""
        return not bool(self.book.live[0])

    def take_rows(self) -> RowBatch:
        """Lake rows of the games ended since the last call."""
        return self.records.take()

    # -- frames -------------------------------------------------------------------------
    def feed(self, frame: Frame) -> None:
        """Take one frame (any event; only `gameStateUpdate` matters)."""
        try:
            obs = observe(frame)
        except FrameError as e:
            self.counts.bad_frames += 1
            self.counts.last_bad_reason = e.reason
            return
        if obs is None:
            return
        self.counts.frames += 1
        if obs.game_id in self._left:
            self.counts.stale_frames += 1
            return
        self._ts = obs.recv_ts_us
        g = self.game
        if g is not None and obs.game_id != g.game_id:
            if g.playing and not g.over and not self._end_elsewhere(g, obs):
                return  # a minimal frame of the next game: look again at its next one
            self._left.append(g.game_id)
            g = None
        if g is None:
            g = self.game = self._start(obs)
        if not g.playing or g.over or obs.tick is None:
            return
        if obs.phase is GamePhase.ACTIVE:
            if obs.price_x is not None:
                self.stream.record_live(obs.tick, obs.price_x, obs.recv_ts_us)
            self.stream.record_known(obs.window, below=obs.tick + 1)
            if obs.tick > g.known:
                g.known = obs.tick
                self._advance(obs.tick, seen=obs.tick)
        elif obs.phase is GamePhase.RUG and obs.rug_tick is not None:
            self.stream.record_known(obs.window, below=obs.rug_tick)
            self._end(g, obs.rug_tick - 1, RUG)

    def stop(self) -> None:
        """End the run: a game in play is censored at its last tick seen alive (its end is
        unknown; module docstring); one that has not started yet is simply left."""
        g = self.game
        if g is not None and g.playing and not g.over:
            if g.known < 0:
                g.over = True  # nothing happened in it: the path still waits at its tick 0
            else:
                self._end(g, g.known, CENSORED, reason=CENSORED_STOPPED)

    # -- games --------------------------------------------------------------------------
    def _start(self, obs: StateObservation) -> _Game:
        before = obs.phase in _BEFORE_START or (obs.phase is GamePhase.ACTIVE and obs.tick == 0)
        b = self.book
        g = _Game(obs.game_id, before and not self.stopped, self.counts.games_observed,
                  None if obs.phase in _BEFORE_START else obs.tick, obs.recv_ts_us,
                  start=(self.bankroll_sol, self.counts.orders, int(b.bets[0]),
                         int(b.voided[0])))
        if not g.playing:
            self.counts.games_skipped += 1
            self.counts.games_observed += 1
            why = ("the bankroll stopped at ruin" if self.stopped else
                   f"joined at tick {obs.tick}" if obs.tick is not None else "joined late")
            self.records.add_game(self._game_row(g, "skipped", why))
            self._emit({"type": "game_skipped", "game_id": g.game_id, "reason": why})
            return g
        self._emit({"type": "game_start", "game_id": g.game_id,
                    "bankroll_sol": self.bankroll_sol})
        return g

    def _advance(self, tick: int, *, seen: int) -> None:
        """Step the path through every event up to `tick` (known alive)."""
        b, self._seen = self.book, seen
        while b.live[0] and b.tick[0] <= tick:
            self.engine.step(_ONE, settle_quiet=False)

    def _end(self, g: _Game, end: int, ended_by: str, *, reason: str | None = None) -> None:
        """The game's last tick with a price is `end`: the rug tick − 1 (`RUG`, `HISTORY`),
        the cap, or the last tick seen alive of a censored game; settle it (the engine's
        `end_games`, which also starts the path's next game)."""
        b = self.book
        rugged = ended_by in (RUG, HISTORY)
        b.end[0], b.rugged[0], b.censored[0] = end, rugged, ended_by == CENSORED
        self._advance(end, seen=end + 1 if rugged else end)
        self.engine.end_games(_ONE)  # settles; the stream waits for the next game
        g.over = True
        rug = end + 1 if rugged else None
        self.records.close_game(g.game_id, rug_tick=rug)
        c = self.counts
        c.games_played += 1
        c.games_observed += 1
        self.played.append(g.game_id)
        if ended_by == CENSORED:
            c.games_censored += 1
            self.censored.append(g.game_id)
        self.records.add_game(self._game_row(g, "played", reason, ended_by, end, rug))
        self._emit({"type": "game_end", "game_id": g.game_id, "ended_by": ended_by,
                    "end_tick": end, "rug_tick": rug, "reason": reason,
                    "bankroll_sol": self.bankroll_sol, "games_played": c.games_played})

    def _end_elsewhere(self, g: _Game, obs: StateObservation) -> bool:
        """A frame of another game came before our game's rug frame: end it at the cap or
        from a revealed price path, or censor it; False to wait for a fuller frame."""
        if g.known < 0:  # it never started: nothing to settle
            g.over = True
            return True
        if g.known >= MAX_TICKS:
            self._end(g, MAX_TICKS, CAP)
            return True
        path = revealed_path(obs.history, g.game_id) if obs.history is not None else None
        if path is not None:
            rug = len(path) - 1
            self.stream.record_known(list(enumerate(path)), below=rug)
            self.counts.ended_from_history += 1
            self.ended_from_history.append(g.game_id)
            self._end(g, rug - 1, HISTORY)
            return True
        if obs.history is not None or obs.phase not in _BEFORE_START:
            self._end(g, g.known, CENSORED, reason=CENSORED_MISSED_END)
            return True
        return False

    def _game_row(self, g: _Game, status: str, reason: str | None, ended_by: str | None = None,
                  end: int | None = None, rug: int | None = None) -> dict[str, Any]:
        """The game's `paper_games` row (`rugslab.tables.paper.PaperGameRow`)."""
        b, played = self.book, status == "played"
        cash, orders, bets, voided = g.start
        return {"game_id": g.game_id, "game_no": g.game_no, "status": status, "reason": reason,
                "ended_by": ended_by, "joined_tick": g.joined_tick,
                "end_tick": end, "rug_tick": rug,
                "orders": self.counts.orders - orders, "bets": int(b.bets[0]) - bets,
                "voided": int(b.voided[0]) - voided, "bankroll_start_sol": cash,
                "bankroll_sol": self.bankroll_sol, "seen_ts": g.seen_ts,
                "ended_ts": self._ts if played else None}

    # -- events -------------------------------------------------------------------------
    def _on_order(self, ev: OrderEvent) -> None:
        gid = self.game.game_id if self.game is not None else ""
        self.records.add(ev, game_id=gid, seen_tick=self._seen, ts_us=self._ts)
        c = self.counts
        if ev.event == "order":
            c.orders += 1
            c.late_orders += self._seen is not None and ev.tick < self._seen
        c.fills += ev.event == "fill"
        c.lapses += ev.event == "lapse"
        self._emit(message(ev, game_id=gid, seen_tick=self._seen))

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event({**event, "run_id": self.run_id, "strategy": self.strategy_name,
                           "recv_ts": iso_utc(self._ts)})
        except Exception as e:  # a listener's failure must not stop the trading
            self.counts.event_errors += 1
            self.counts.last_event_error = f"{type(e).__name__}: {e}"
