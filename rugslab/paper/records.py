"""The order log's events as lake rows (`paper_decisions`, `paper_results`) and as messages.

`PaperRecords` follows the events of an `OrderLog` (`rugslab.strategy.orders`): an `order`
starts a decision row, its `fill` or `lapse` completes it (a filled side bet or buy also
starts a result row), a `settle` completes the result. When a game ends, its rows are
final and move to `take()`'s batch for the lake, with the game's `paper_games` row
(`add_game`). A censored game (a backtest's, or a paper run's whose end it never saw:
`rugslab.strategy.engine`, `rugslab.paper.trader`) voids what it leaves undecided through
the log itself: such a bet or position is settled "void" (stake back, P&L 0) and an order
pending at its last known tick lapses "censored", recorded with status void.
The same class turns a backtest's log into the same rows (`rugslab.paper.compare`), so a
paper run and the backtest are compared row for row.

`message(...)` is the JSON-safe dict of one event for the live `paper` channel (NaN → null).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rugslab.strategy.orders import CENSORED_END, OrderEvent
from rugslab.tables.batch import RowBatch

DECISIONS, RESULTS, GAMES = "paper_decisions", "paper_results", "paper_games"


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else x


@dataclass(slots=True)
class PaperRecords:
    """Rows of one run (module docstring): `run_id`, the strategy's name, its checked
    parameters as JSON and the latency are on every row."""

    run_id: str
    strategy: str
    params_json: str
    latency_ticks: int
    decisions: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    batch: RowBatch = field(default_factory=RowBatch)

    def _base(self, ev: OrderEvent, game_id: str) -> dict[str, Any]:
        return {"run_id": self.run_id, "order_no": ev.order, "strategy_name": self.strategy,
                "params_json": self.params_json, "game_id": game_id}

    def add(self, ev: OrderEvent, *, game_id: str, seen_tick: int | None = None,
            ts_us: int | None = None) -> None:
        """Fold one event of game `game_id` in (`seen_tick`: the newest tick the run had seen;
        `ts_us`: the receive time of the frame that brought it)."""
        if ev.event == "order":
            self.decisions[ev.order] = {
                **self._base(ev, game_id), "kind": ev.kind, "decision_tick": ev.tick,
                "seen_tick": seen_tick, "decided_ts": ts_us,
                "latency_ticks": self.latency_ticks, "stake_sol": _num(ev.stake_sol),
                "cash_sol": ev.cash_sol, "status": None, "reason": None, "fill_tick": None,
                "fill_price_x": None, "filled_stake_sol": None}
        elif ev.event == "fill":
            d = self.decisions[ev.order]
            d.update(status="filled", fill_tick=ev.tick, fill_price_x=_num(ev.price_x),
                     filled_stake_sol=_num(ev.stake_sol))
            if ev.kind != "sell":
                self.results[ev.order] = {
                    **self._base(ev, game_id),
                    "kind": "sidebet" if ev.kind == "sidebet" else "position",
                    "decision_tick": d["decision_tick"], "fill_tick": ev.tick,
                    "fill_price_x": _num(ev.price_x), "stake_sol": ev.stake_sol,
                    "outcome": None, "settle_tick": None, "exit_price_x": None,
                    "rug_tick": None, "payout_sol": None, "pnl_sol": None,
                    "bankroll_sol": ev.cash_sol, "settled_ts": None}
        elif ev.event == "lapse":  # pending when a censored game's record stopped: void
            self.decisions[ev.order].update(
                status="void" if ev.outcome == CENSORED_END else "lapsed", reason=ev.outcome)
        elif ev.event == "settle":
            self.results[ev.order].update(
                outcome=ev.outcome, settle_tick=ev.tick, exit_price_x=_num(ev.price_x),
                payout_sol=ev.back_sol, pnl_sol=ev.back_sol - ev.stake_sol,
                bankroll_sol=ev.cash_sol, settled_ts=ts_us)

    def close_game(self, game_id: str, *, rug_tick: int | None) -> int:
        """Move the rows of `game_id` to the batch (`rug_tick` on its results); the number of
        rows moved."""
        moved = 0
        for table, rows in ((DECISIONS, self.decisions), (RESULTS, self.results)):
            for k in [k for k, r in rows.items() if r["game_id"] == game_id]:
                row = rows.pop(k)
                if table == RESULTS:
                    row["rug_tick"] = rug_tick
                self.batch.add(table, row)
                moved += 1
        return moved

    def add_game(self, row: dict[str, Any]) -> None:
        """Add a game's `paper_games` row (`row` holds its own columns and `game_id`; the
        run's columns are added here) to the batch."""
        self.batch.add(GAMES, {"run_id": self.run_id, "strategy_name": self.strategy,
                               "params_json": self.params_json, **row})

    def take(self) -> RowBatch:
        """The rows of the games closed since the last call (the caller writes them)."""
        out, self.batch = self.batch, RowBatch()
        return out


def message(ev: OrderEvent, **context: Any) -> dict[str, Any]:
    """One order event as a JSON-safe dict for the `paper` channel: `type` (the event),
    the event's fields (NaN → None) and `context` (run, game, seen tick, time)."""
    return {"type": ev.event, **context, "order_no": ev.order, "kind": ev.kind,
            "tick": ev.tick, "price_x": _num(ev.price_x), "stake_sol": _num(ev.stake_sol),
            "back_sol": _num(ev.back_sol), "cash_sol": ev.cash_sol,
            "outcome": ev.outcome or None}
