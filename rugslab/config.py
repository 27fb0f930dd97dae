"""Settings: flags and `RUGSLAB_*` environment variables, read once, into a frozen dataclass.

Config flows one way: CLI flags / environment → `Settings` → keyword arguments. Library code
never reads `os.environ`; only `Settings.from_env` does.

Variables:
    RUGSLAB_LAKE         lake folder (default `./lake`)
    RUGSLAB_SAMPLE_SIZE  cap on games/rows that notebooks analyse (default: no cap)
    RUGSLAB_URL          feed URL for the collector (default `https://backend.rugs.fun`)
    RUGSLAB_LIVE_URL     a running `rugslab serve live` for notebook 06 (default: none, the
                         notebook serves the simulated feed itself)
    RUGSLAB_LIVE_SECONDS how long notebook 06 watches the live feed (default 300)

Two are read where they are used, since every lake connection needs them whoever opens it:
`RUGSLAB_QUERIES` (the named queries' folder, `lake.queries.queries_folder`) and
`RUGSLAB_DUCKDB_MEMORY` (DuckDB's memory cap per connection, default 2GB; more spills to a
temporary folder: `lake.catalog.duckdb_memory_limit`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal, TextIO

from rugslab.errors import ConfigError

#: Where status lines go: a stream, None (silent), or `STDERR`, the process's standard error
#: at the time of the call (a default bound at import would keep a stream that may be closed
#: by then, e.g. one a test harness swapped in).
Out = TextIO | Literal["stderr"] | None
STDERR: Final = "stderr"


def status_stream(out: Out) -> TextIO | None:
    """`out` with `STDERR` resolved to the current `sys.stderr`."""
    return sys.stderr if out == STDERR else out  # type: ignore[return-value]


DEFAULT_LAKE = Path("lake")
DEFAULT_URL = "https://backend.rugs.fun"
DEFAULT_FRONTEND_VERSION = "1.0"
DEFAULT_BATCH_FRAMES = 20_000
#: How long notebook 06 watches the live server unless RUGSLAB_LIVE_SECONDS says otherwise.
DEFAULT_LIVE_SECONDS = 300.0
#: Ingest also writes the raw frames once their arguments pass this many bytes, so memory is
#: bounded when frames are larger than usual (20k frames of the captures: ~150 MB).
RAW_BATCH_BYTES = 128 * 2**20
#: Ingest writes the tables other than raw_events once every this many `batch_frames`: their
#: rows are ~1% of a frame's bytes, and each write of them costs ~0.1 s whatever its size
#: (validation, merge and gap passes per partition).
DERIVED_EVERY_BATCHES = 5

#: Sort key for an unknown receive time (µs): later than any real one (year ~146,000), so
#: "earliest receipt wins" rules prefer a known time. Never written to the lake.
NO_RECV_TS_US = 1 << 62

@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. Build with `Settings.from_env()` then `.with_overrides(...)`."""

    lake: Path = DEFAULT_LAKE
    url: str = DEFAULT_URL
    sample_size: int | None = None
    batch_frames: int = DEFAULT_BATCH_FRAMES
    live_url: str | None = None
    live_seconds: float = DEFAULT_LIVE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `RUGSLAB_*` variables (from `env`, default `os.environ`).

        Raises:
            ConfigError: a variable holds a value that cannot be used; the message names it.
        """
        env = os.environ if env is None else env
        sample: int | None = None
        raw = env.get("RUGSLAB_SAMPLE_SIZE", "").strip()
        if raw:
            try:
                sample = int(raw)
            except ValueError:
                sample = -1
            if sample <= 0:
                raise ConfigError(
                    f"Invalid RUGSLAB_SAMPLE_SIZE {raw!r}: expected a positive whole number "
                    "(or unset it to use all data)."
                )
        seconds = DEFAULT_LIVE_SECONDS
        raw = env.get("RUGSLAB_LIVE_SECONDS", "").strip()
        if raw:
            seconds = parse_duration(raw, arg="RUGSLAB_LIVE_SECONDS")
        return cls(
            lake=Path(env.get("RUGSLAB_LAKE") or DEFAULT_LAKE),
            url=env.get("RUGSLAB_URL") or DEFAULT_URL,
            sample_size=sample,
            live_url=env.get("RUGSLAB_LIVE_URL") or None,
            live_seconds=seconds,
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced; `None` values are ignored (flag not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_as_of(text: str, *, arg: str = "--as-of") -> datetime:
    """An aware UTC datetime from ISO 8601 text (`2026-12-03`, `2026-12-03T13:40:02Z`,
    `...+01:00`); a time without an offset is UTC. A time before the lake existed is valid
    (the lake then reads as having no tables yet).

    Raises:
        ConfigError: the text is not ISO 8601, or it is later than now (a read as of a time
            not yet reached would change as rows arrive, so it could not be reproduced); the
            message names `arg`, the value and a form that works.
    """
    try:
        when = datetime.fromisoformat(text.strip())
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: the offset leaves years 1..9999
        raise ConfigError(
            f"Invalid {arg} {text!r}: expected an ISO 8601 time such as 2026-12-03T13:40:02Z "
            "(UTC) or 2026-12-03T14:40:02+01:00.") from None
    now = datetime.now(UTC)
    if when > now:
        raise ConfigError(
            f"Invalid {arg} {text!r}: it is later than now ({now.isoformat(timespec='seconds')}"
            "); the lake cannot be read as of a time not yet reached. Leave it out to read the "
            "latest, or pass a read time a report or `rugslab status` printed.")
    return when


def parse_duration(text: str, *, arg: str = "--duration") -> float:
    """Seconds from a duration like `90s`, `15m`, `8h`, `1d` or `1h30m` (a bare number = s).

    Raises:
        ConfigError: the text is not such a duration; the message names `arg` and the value.
    """
    import re

    s = text.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd]?)", s)
    if not s or not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd]?)", "", s).strip():
        raise ConfigError(
            f"Invalid {arg} {text!r}: expected a duration like 90s, 15m, 8h or 1h30m."
        )
    total = sum(float(n) * _DURATION_UNITS[u or "s"] for n, u in parts)
    if total <= 0:
        raise ConfigError(f"Invalid {arg} {text!r}: the duration must be longer than zero.")
    return total
