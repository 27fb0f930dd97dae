"""What the collector shows while it runs: the live status line and completed-game counting.

`FeedStatus.observe(frame)` looks at each frame cheaply (no row building: that is the
assembler's job) to know the current game, tick and phase, ticks missed live (a jump in
`tickCount`), rugs, and revealed seeds of games this session saw live.
"""

from __future__ import annotations

import time
from collections import deque

from rugslab.collector.client import ConnectionEvent
from rugslab.feed.frames import Frame
from rugslab.feed.phases import phase_of


class FeedStatus:
    """Running state of the feed for the status line and the stop rule."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._arrivals: deque[float] = deque()
        self.game_id: str | None = None
        self.tick: int | None = None
        self.phase: str = "-"
        self.reconnects = 0
        self.connected = False
        self.missed_ticks = 0
        self.live_games: set[str] = set()
        self.rugged: set[str] = set()
        self.complete: set[str] = set()
        self._last_tick: dict[str, int] = {}

    @property
    def games_complete(self) -> int:
        """Games seen live whose server seed this session has seen revealed."""
        return len(self.complete)

    def observe(self, frame: Frame) -> bool:
        """Update from one frame. Returns True when the lake should be written soon (a game
        rugged, or a seed of a game seen live was revealed)."""
        self._arrivals.append(time.monotonic())
        if frame.event != "gameStateUpdate":
            return False
        p = frame.payload
        if not isinstance(p, dict):
            return False
        flush = False
        gid = p.get("gameId")
        phase = phase_of(p)
        if isinstance(gid, str):
            self.game_id = gid
            self.phase = phase.name.lower() if phase is not None else "-"
            tick = p.get("tickCount")
            if p.get("active") is True and type(tick) is int:
                self.tick = tick
                self.live_games.add(gid)
                last = self._last_tick.get(gid)
                if last is not None and tick > last + 1 and not p.get("rugged"):
                    self.missed_ticks += tick - last - 1
                if last is None or tick > last:
                    self._last_tick[gid] = tick
            if p.get("rugged") is True and gid not in self.rugged:
                self.rugged.add(gid)
                flush = True
        for entry in p.get("gameHistory") or ():
            if not isinstance(entry, dict):
                continue
            eid = entry.get("id")
            pf = entry.get("provablyFair")
            revealed = isinstance(pf, dict) and isinstance(pf.get("serverSeed"), str)
            if revealed and eid in self.live_games and eid not in self.complete:
                self.complete.add(eid)
                flush = True
        return flush

    def on_connection(self, ev: ConnectionEvent) -> None:
        """Count reconnects (every connect after the first)."""
        if ev.kind == "connected":
            if ev.connection_no > 1:
                self.reconnects += 1
            self.connected = True
        elif ev.kind == "disconnected":
            self.connected = False

    def frames_per_s(self) -> float:
        """Frames per second over the last `window_s` seconds."""
        now = time.monotonic()
        while self._arrivals and now - self._arrivals[0] > self.window_s:
            self._arrivals.popleft()
        return len(self._arrivals) / self.window_s

    def line(self, durable_lag_s: float, since_lake_write_s: float | None) -> str:
        """The status line: rate, game, tick and phase, reconnects, gaps, durability."""
        game = self.game_id or "-"
        tick = "-" if self.tick is None else str(self.tick)
        lake = "never" if since_lake_write_s is None else f"{max(0.0, since_lake_write_s):.0f}s ago"
        link = "up" if self.connected else "DOWN"
        return (
            f"[collect] {self.frames_per_s():4.1f} frames/s | game {game} tick {tick} "
            f"{self.phase} | link {link}, reconnects {self.reconnects} | missed ticks "
            f"{self.missed_ticks} | games complete {self.games_complete} | journal unsynced "
            f"{durable_lag_s:.1f}s | lake written {lake}"
        )
