"""Typed field access for event payloads: every value the assembler keeps is checked here.

The feed is JSON, so a field can hold anything. These getters return the value when it has
the expected type and raise `FrameError` otherwise, with a reason that names the field, the
value and what was expected, e.g. `gameStateUpdate.tickCount '12' (str): expected int`.
The assembler turns each `FrameError` into a `rejects` row; nothing here is silently coerced
(a string tick is an error, not a tick), except that an integral JSON number is accepted where
a float is expected (`1` for a price of 1.0). Prices are bounded by what the game allows
(`price`: `feed.rules.PRICE_MAX_X`), here rather than in the lake schema only, because a price
feeds its game's `peak_x` before any row is validated.
"""

from __future__ import annotations

import math
import re
import sys
from decimal import Decimal
from typing import Any

from rugslab.errors import FrameError
from rugslab.feed.rules import GAME_ID_PATTERN, PRICE_MAX_X

_GAME_ID = re.compile(GAME_ID_PATTERN)
_HASH = re.compile(r"^[0-9a-f]{64}$")
_MAX_SHOWN = 60
#: Largest int a lake column holds (Int32); larger values are refused here, not in the writer.
INT_MAX = 2**31 - 1
_FLOAT_MAX = sys.float_info.max


def shown(value: Any) -> str:
    """A short printable form of `value` for an error reason (type included)."""
    r = repr(value)
    if len(r) > _MAX_SHOWN:
        r = r[: _MAX_SHOWN - 3] + "..."
    return f"{r} ({type(value).__name__})"


def short_number(x: float) -> str:
    """A finite bound or value as short, exact text: `1e9` for 1e9, `5001` for 5001.0,
    `1.23e29`, `-0.5`, `1234567.5`."""
    if x.is_integer() and abs(x) < 1e6:
        return str(int(x))
    # repr is the shortest text that reads back as x; Decimal drops its trailing zeros
    return str(Decimal(repr(x)).normalize()).replace("E+", "e").replace("E", "e")


def _fail(ctx: str, key: str, value: Any, expected: str) -> FrameError:
    return FrameError(f"{ctx}.{key} {shown(value)}: expected {expected}")


def req_int(d: dict[str, Any], key: str, ctx: str, *, lo: int = 0, hi: int = INT_MAX) -> int:
    """`d[key]` as an int in [lo, hi] (bools and floats are refused).

    Raises:
        FrameError: missing, not an int, or out of range.
    """
    v = d.get(key)
    if type(v) is int and lo <= v <= hi:
        return v
    if key not in d:
        raise FrameError(f"{ctx}.{key} missing: expected an int in [{lo}, {hi}]")
    raise _fail(ctx, key, v, f"an int in [{lo}, {hi}]")


def opt_int(d: dict[str, Any], key: str, ctx: str, *, lo: int = 0, hi: int = INT_MAX) -> int | None:
    """`d[key]` as an int in [lo, hi], or None when absent/null."""
    v = d.get(key)
    if v is None:
        return None
    if type(v) is int and lo <= v <= hi:
        return v
    raise _fail(ctx, key, v, f"an int in [{lo}, {hi}] or null")


def num(
    value: Any, ctx: str, key: str, *, nonneg: bool = True, hi: float = _FLOAT_MAX,
    lo: float = -_FLOAT_MAX, what: str = "value",
) -> float:
    """`value` as a finite float (int accepted; bool refused) in [`lo`, `hi`], and ≥ 0 when
    `nonneg` (then `lo` is not used).

    Raises:
        FrameError: not a number, not finite, negative when `nonneg`, or outside [lo, hi]
            (reason `<ctx>.<key> 1.23e+29 (float): <what> <= 1e9 failed, beyond what the game
            allows`).
    """
    t = type(value)
    if t is float and 0.0 <= value <= hi:  # the usual value, fit either way (NaN, inf fail)
        return value
    floor = 0.0 if nonneg else lo
    if t is float:
        if math.isfinite(value) and floor <= value <= hi:
            return value
    elif t is int and floor <= value <= hi:
        return float(value)
    if (t is float or t is int) and hi < value < math.inf:
        raise FrameError(f"{ctx}.{key} {shown(value)}: {what} <= {short_number(hi)} failed, "
                         "beyond what the game allows")
    if (t is float or t is int) and -math.inf < value < floor and not nonneg:
        raise FrameError(f"{ctx}.{key} {shown(value)}: {what} >= {short_number(lo)} failed, "
                         "beyond what the game allows")
    raise _fail(ctx, key, value, "a finite number >= 0" if nonneg else "a finite number")


def req_num(
    d: dict[str, Any], key: str, ctx: str, *, nonneg: bool = True, hi: float = _FLOAT_MAX,
    lo: float = -_FLOAT_MAX, what: str = "value",
) -> float:
    """`d[key]` as a finite float; see `num`. Raises FrameError when missing or bad."""
    if key not in d:
        raise FrameError(f"{ctx}.{key} missing: expected a number")
    return num(d[key], ctx, key, nonneg=nonneg, hi=hi, lo=lo, what=what)


def opt_num(
    d: dict[str, Any], key: str, ctx: str, *, nonneg: bool = False, hi: float = _FLOAT_MAX,
    lo: float = -_FLOAT_MAX, what: str = "value",
) -> float | None:
    """`d[key]` as a finite float, or None when absent/null."""
    v = d.get(key)
    if v is None:
        return None
    return num(v, ctx, key, nonneg=nonneg, hi=hi, lo=lo, what=what)


def price(value: Any, ctx: str, key: str) -> float:
    """`value` as a price multiple: a finite number in [0, `feed.rules.PRICE_MAX_X`].

    Raises:
        FrameError: not such a number; above the bound the reason reads
            `<ctx>.<key> 1.23e+29 (float): price_x <= 1e9 failed, beyond what the game
            allows`.
    """
    return num(value, ctx, key, hi=PRICE_MAX_X, what="price_x")


def req_price(d: dict[str, Any], key: str, ctx: str) -> float:
    """`d[key]` as a price multiple (`price`). Raises FrameError when missing or bad."""
    if key not in d:
        raise FrameError(f"{ctx}.{key} missing: expected a price multiple")
    return price(d[key], ctx, key)


def opt_price(d: dict[str, Any], key: str, ctx: str) -> float | None:
    """`d[key]` as a price multiple (`price`), or None when absent/null."""
    v = d.get(key)
    return None if v is None else price(v, ctx, key)


def opt_str(d: dict[str, Any], key: str, ctx: str) -> str | None:
    """`d[key]` as a str, or None when absent/null."""
    v = d.get(key)
    if v is None or type(v) is str:
        return v
    raise _fail(ctx, key, v, "a string or null")


def req_str(d: dict[str, Any], key: str, ctx: str) -> str:
    """`d[key]` as a non-empty str. Raises FrameError when missing, empty or not a str."""
    v = d.get(key)
    if type(v) is str and v:
        return v
    if key not in d:
        raise FrameError(f"{ctx}.{key} missing: expected a string")
    raise _fail(ctx, key, v, "a non-empty string")


def req_id(d: dict[str, Any], key: str, ctx: str) -> str:
    """`d[key]` as an id string: a non-empty str, or an int rendered in decimal.

    Aug 2025 trade ids are numeric strings, Dec 2025 ids UUIDs; a bare JSON int is accepted.
    """
    v = d.get(key)
    if type(v) is str and v:
        return v
    if type(v) is int:
        return str(v)
    if key not in d:
        raise FrameError(f"{ctx}.{key} missing: expected an id string")
    raise _fail(ctx, key, v, "an id string")


def opt_bool(d: dict[str, Any], key: str, ctx: str) -> bool | None:
    """`d[key]` as a bool, or None when absent/null."""
    v = d.get(key)
    if v is None or v is True or v is False:
        return v
    raise _fail(ctx, key, v, "true, false or null")


def game_id(value: Any, ctx: str, key: str = "gameId") -> str:
    """`value` as a game id `YYYYMMDD-<16 lowercase hex>`.

    Raises:
        FrameError: missing (None), not a str, or not of that form.
    """
    if type(value) is str and _GAME_ID.match(value):
        return value
    if value is None:
        raise FrameError(f"{ctx}.{key} missing: expected a game id YYYYMMDD-<16 hex>")
    raise _fail(ctx, key, value, "a game id YYYYMMDD-<16 hex>")


def opt_hash_hex(value: Any, ctx: str, key: str = "serverSeedHash") -> str | None:
    """`value` as a SHA-256 hex digest (64 lowercase hex), or None when null/absent."""
    if value is None:
        return None
    if type(value) is str and _HASH.match(value):
        return value
    raise _fail(ctx, key, value, "64 lowercase hex digits (SHA-256) or null")


def as_dict(value: Any, ctx: str) -> dict[str, Any]:
    """`value` when it is a dict. Raises FrameError otherwise."""
    if type(value) is dict:
        return value
    raise FrameError(f"{ctx} {shown(value)}: expected an object")


def as_list(value: Any, ctx: str) -> list[Any]:
    """`value` when it is a list. Raises FrameError otherwise."""
    if type(value) is list:
        return value
    raise FrameError(f"{ctx} {shown(value)}: expected a list")
