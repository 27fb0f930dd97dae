"""Settings: flags and `RUGSLAB_*` environment variables, read once, into a frozen dataclass.

Config flows one way: CLI flags / environment → `Settings` → keyword arguments. Library code
never reads `os.environ`; only `Settings.from_env` does.

Variables:
    RUGSLAB_LAKE         lake folder (default `./lake`)
    RUGSLAB_SAMPLE_SIZE  cap on games/rows that notebooks analyse (default: no cap)
    RUGSLAB_URL          feed URL for the collector (default `https://backend.rugs.fun`)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from rugslab.errors import ConfigError

DEFAULT_LAKE = Path("lake")
DEFAULT_URL = "https://backend.rugs.fun"
DEFAULT_FRONTEND_VERSION = "1.0"
DEFAULT_BATCH_FRAMES = 20_000
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

#: Side-bet rule (PROTOCOL.md): window 40 ticks, pays 5x the stake, wins iff rug tick <= end.
SIDEBET_WINDOW_TICKS = 40
SIDEBET_PAYOUT_X = 5.0
#: Published generator: rug probability per tick and the tick cap.
RUG_PROB_PER_TICK = 0.005
MAX_TICKS = 5000
#: Highest tick a lake row may hold: the generator stops at MAX_TICKS, and the rug tick (the
#: crash price) may be one more. Used by the schemas, the assembler and the legacy importer.
TICK_MAX = MAX_TICKS + 1
NOMINAL_TICK_MS = 250.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. Build with `Settings.from_env()` then `.with_overrides(...)`."""

    lake: Path = DEFAULT_LAKE
    url: str = DEFAULT_URL
    sample_size: int | None = None
    batch_frames: int = DEFAULT_BATCH_FRAMES

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
        return cls(
            lake=Path(env.get("RUGSLAB_LAKE") or DEFAULT_LAKE),
            url=env.get("RUGSLAB_URL") or DEFAULT_URL,
            sample_size=sample,
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced; `None` values are ignored (flag not given)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


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
