"""The rugslab error tree. Every error rugslab raises on purpose derives from `RugslabError`.

    RugslabError
    ├── ConfigError          a flag or RUGSLAB_* variable has a value rugslab cannot use
    ├── InputFormatError     a file is not in any capture/recording format rugslab reads (.path)
    ├── FrameError           one frame cannot be parsed (.reason); becomes a `rejects` row
    ├── SchemaViolation      rows fail a pandera schema (.table, .failure_cases)
    ├── LakeError            the lake cannot be read or written (.path)
    ├── QueryError           SQL given to the catalog failed (.sql)
    ├── FairnessError        a provably-fair input is unusable (.game_id)
    └── LookaheadError       a strategy asked for a tick it has not reached (.tick, .requested)

Library errors are translated where they enter: `raise LakeError(str(e), path=p) from e`.
Messages name the argument, the value and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RugslabError(Exception):
    """Root of every error rugslab raises on purpose."""


class ConfigError(RugslabError):
    """A flag, argument or `RUGSLAB_*` variable has a value that cannot be used."""


class InputFormatError(RugslabError):
    """A file is in no format rugslab can read."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class FrameError(RugslabError):
    """One frame or record cannot be parsed; the ingest turns it into a `rejects` row."""

    def __init__(self, reason: str, *, raw: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


class SchemaViolation(RugslabError):
    """Rows fail the pandera schema of a lake table."""

    def __init__(self, message: str, *, table: str, failure_cases: Any = None) -> None:
        super().__init__(message)
        self.table = table
        self.failure_cases = failure_cases


class LakeError(RugslabError):
    """The lake cannot be read or written."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class LakeWriteError(LakeError):
    """The lake cannot be written (read-only or full disk, permissions, lost commit races):
    a read of the lake may still work."""


class QueryError(RugslabError):
    """SQL run against the lake catalog failed."""

    def __init__(self, message: str, *, sql: str | None = None) -> None:
        super().__init__(message)
        self.sql = sql


class FairnessError(RugslabError):
    """A provably-fair input (seed, game id, version) cannot be used."""

    def __init__(self, message: str, *, game_id: str | None = None) -> None:
        super().__init__(message)
        self.game_id = game_id


class LookaheadError(RugslabError):
    """A strategy asked the backtest engine for a tick it has not reached yet (reading ahead).

    `tick` is the tick the strategy is at, `requested` the one it asked for."""

    def __init__(self, message: str, *, tick: int, requested: int) -> None:
        super().__init__(message)
        self.tick = tick
        self.requested = requested
