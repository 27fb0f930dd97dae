"""What one paper run did: the summary `rugslab paper` prints (text) and sends at the end."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rugslab.paper.trader import PaperTrader


@dataclass(slots=True)
class PaperSummary:
    """Counts and money of a paper run (amounts in SOL; bets are settled bets and trades, not
    counting `voided` ones).

    `games_observed` = `games_played` + `games_skipped` (the run's `paper_games` rows);
    `games_censored` of those played ended censored (their end never seen: settled at the
    last tick seen alive, as a lake backtest settles them). `played` lists the games played,
    in order: the games a backtest must replay to check the run
    (`rugslab.paper.compare.backtest_rows`); `censored` those censored. `late_orders`: orders
    decided at a tick the run learnt of only later (a missed frame; `trader` docstring).
    `lake` is None when the rows are not written; `write_error` is set when the last lake
    write failed (its rows were not written).
    """

    run_id: str
    strategy: str
    params_json: str
    source: str
    bankroll_start_sol: float
    lake: str | None = None
    bankroll_sol: float = 0.0
    frames: int = 0
    bad_records: int = 0
    state_frames: int = 0
    bad_frames: int = 0
    games_observed: int = 0
    games_played: int = 0
    games_skipped: int = 0
    games_censored: int = 0
    ended_from_history: int = 0
    orders: int = 0
    late_orders: int = 0
    lapsed_orders: int = 0
    bets: int = 0
    wins: int = 0
    voided: int = 0
    staked_sol: float = 0.0
    pnl_sol: float = 0.0
    decisions_written: int = 0
    results_written: int = 0
    games_written: int = 0
    rows_rejected: int = 0
    write_failures: int = 0
    write_error: str | None = None
    event_errors: int = 0
    last_event_error: str | None = None
    seconds: float = 0.0
    stop_reason: str | None = None
    played: list[str] = field(default_factory=list)
    censored: list[str] = field(default_factory=list)

    def fill(self, trader: PaperTrader, seconds: float) -> None:
        """Take the trader's counts and books at the end of the run."""
        c, b = trader.counts, trader.book
        self.bankroll_sol = trader.bankroll_sol
        self.state_frames, self.bad_frames = c.frames, c.bad_frames
        self.games_observed = c.games_observed
        self.games_played, self.games_skipped = c.games_played, c.games_skipped
        self.games_censored, self.ended_from_history = c.games_censored, c.ended_from_history
        self.orders, self.late_orders, self.lapsed_orders = c.orders, c.late_orders, c.lapses
        self.bets, self.wins, self.voided = int(b.bets[0]), int(b.wins[0]), int(b.voided[0])
        self.staked_sol, self.pnl_sol = float(b.staked[0]), float(b.pnl[0])
        self.event_errors, self.last_event_error = c.event_errors, c.last_event_error
        self.played, self.censored = list(trader.played), list(trader.censored)
        self.seconds = seconds
        self.stop_reason = self.stop_reason or "stopped"

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-safe dict."""
        return asdict(self)

    def __str__(self) -> str:
        ev = self.pnl_sol / self.bets if self.bets else None
        lines = [
            f"paper run {self.run_id}: {self.strategy} {self.params_json}",
            f"  source: {self.source} ({self.frames:,} frames, {self.seconds:.1f} s; "
            f"stopped: {self.stop_reason})",
            f"  games: {self.games_observed} observed: {self.games_played} played ("
            f"{self.games_censored} censored: end not seen"
            + (f"; {self.ended_from_history} ended from a revealed price path"
               if self.ended_from_history else "")
            + f"), {self.games_skipped} skipped (joined late, or after a stop at ruin)",
            f"  orders: {self.orders} ({self.late_orders} decided late, {self.lapsed_orders} "
            "never filled)",
            f"  bets: {self.bets} settled, {self.wins} won"
            + (f" ({self.voided} void: a censored game left them undecided)"
               if self.voided else "")
            + f"; staked {self.staked_sol:.4f} SOL, "
            f"P&L {self.pnl_sol:+.4f} SOL"
            + (f" ({ev:+.4f} per bet)" if ev is not None else ""),
            f"  bankroll: {self.bankroll_start_sol:.4f} → {self.bankroll_sol:.4f} SOL",
            (f"  lake: {self.decisions_written} paper_decisions, {self.results_written} "
             f"paper_results, {self.games_written} paper_games rows written"
             + (f", {self.rows_rejected} rejected" if self.rows_rejected else "")
             if self.lake is not None else "  lake: not written (no --lake)"),
        ]
        if self.bad_records or self.bad_frames:
            lines.append(f"  input: {self.bad_records} unreadable records, {self.bad_frames} "
                         "malformed game-state frames (skipped)")
        if self.event_errors:
            lines.append(f"  events: {self.event_errors} not delivered (listener errors; last: "
                         f"{self.last_event_error})")
        if self.write_error:
            lines.append(f"  LAKE WRITE FAILED: {self.write_error} (the last rows were not "
                         "written)")
        return "\n".join(lines)
