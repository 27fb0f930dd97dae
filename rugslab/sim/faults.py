"""Fault injection for the replay and simulation servers: seeded, counted, exact.

`apply_faults(frames, faults)` rewrites a stream of `ScheduledFrame`s. For every input frame it
draws exactly four uniforms from `random.Random(faults.seed)`, in this order, whatever happens:

    1. drop       r < drop        the frame is not sent
    2. malformed  r < malformed   the payload is replaced by garbage of one kind (kind and
                                  details come from a second RNG, seeded `f"{seed}-malformed"`)
    3. duplicate  r < duplicate   the frame is sent twice (same time)
    4. reorder    r < reorder     the frame swaps places with the next sent frame (each keeps
                                  the other's send time)

so a seed gives the same faults on the same input, and `FaultStats` counts each action.
Malformed kinds (`MALFORMED_KINDS`): `wrong_types` (numbers become strings, objects become
lists), `missing_keys` (gameId/tickCount/price/... removed), `garbage_string` (the payload is a
non-JSON-ish string), `truncated` (the payload dict is cut to a prefix of its keys and nested
structures are emptied), `truncated_packet` (the wire packet text itself is cut mid-JSON: it
is not valid Socket.IO at all).

Server-initiated disconnects (`disconnect_every_s`) are carried here but done by the server.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from rugslab.errors import ConfigError
from rugslab.feed.frames import is_trace
from rugslab.sim.feed import ScheduledFrame

MALFORMED_KINDS = ("wrong_types", "missing_keys", "garbage_string", "truncated",
                   "truncated_packet")
_GARBAGE = ("}{not json", "\x00\x01\x02", "undefined", "NaN]]", "<html>502 Bad Gateway</html>",
            "42[\"gameStateUpdate\"")
_KEYS_TO_DROP = ("gameId", "tickCount", "price", "partialPrices", "cooldownTimer", "active",
                 "rugged", "id", "type", "tickIndex")


@dataclass(frozen=True, slots=True)
class Faults:
    """What to inject. Probabilities are per frame, in [0, 1].

    Attributes:
        drop, duplicate, reorder, malformed: probabilities (see the module docstring).
        disconnect_every_s: wall seconds between server-initiated disconnects of every
            client (None: never).
        disconnect_kind: "socketio" (a Socket.IO DISCONNECT packet: the server says goodbye)
            or "transport" (the Engine.IO connection is closed, as on a crash or reboot).
        seed: seeds the fault RNG.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    malformed: float = 0.0
    disconnect_every_s: float | None = None
    disconnect_kind: str = "socketio"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder", "malformed"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ConfigError(f"Invalid --{name} {p!r}: expected a probability in [0, 1].")
        if self.disconnect_every_s is not None and not self.disconnect_every_s > 0:
            raise ConfigError(f"Invalid --disconnect-every {self.disconnect_every_s!r}: "
                              "expected seconds > 0 (or leave it out).")
        if self.disconnect_kind not in ("socketio", "transport"):
            raise ConfigError(f"Invalid --disconnect-kind {self.disconnect_kind!r}: expected "
                              "'socketio' or 'transport'.")

    @property
    def any_frame_faults(self) -> bool:
        """True when some per-frame fault has a probability above 0."""
        return any((self.drop, self.duplicate, self.reorder, self.malformed))


@dataclass(slots=True)
class FaultStats:
    """Counts of what `apply_faults` did (`malformed_kinds`: per kind)."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    malformed: int = 0
    malformed_kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The counts as a plain dict (for JSON summaries)."""
        return {"frames_in": self.frames_in, "frames_out": self.frames_out,
                "dropped": self.dropped, "duplicated": self.duplicated,
                "reordered": self.reordered, "malformed": self.malformed,
                "malformed_kinds": dict(self.malformed_kinds)}


def _wrong_types(x: Any, rng: random.Random) -> Any:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int | float):
        return str(x)
    if isinstance(x, str):
        return rng.randint(0, 9)
    if isinstance(x, dict):
        return [[k, _wrong_types(v, rng)] for k, v in x.items()]
    if isinstance(x, list):
        return {str(i): v for i, v in enumerate(x)}
    return x


def _truncate(x: Any, rng: random.Random) -> Any:
    if isinstance(x, dict):
        keys = list(x)
        cut = rng.randint(0, max(0, len(keys) - 1))
        return {k: ({} if isinstance(x[k], dict) else [] if isinstance(x[k], list) else x[k])
                for k in keys[:cut]}
    if isinstance(x, list):
        return x[: len(x) // 2]
    if isinstance(x, str):
        return x[: len(x) // 2]
    return None


def malform(frame: ScheduledFrame, kind: str, rng: random.Random) -> ScheduledFrame:
    """A copy of `frame` whose payload (last non-trace argument) is garbage of `kind`."""
    args = list(frame.args)
    idx = next((i for i in range(len(args) - 1, -1, -1) if not is_trace(args[i])), None)
    payload = args[idx] if idx is not None else None
    if kind == "truncated_packet":
        text = "42" + orjson.dumps([frame.event, *args]).decode()
        return replace(frame, raw=text[: max(3, rng.randint(3, max(3, len(text) - 1)))])
    if kind == "wrong_types":
        bad = _wrong_types(payload, rng)
    elif kind == "missing_keys":
        bad = ({k: v for k, v in payload.items() if k not in _KEYS_TO_DROP}
               if isinstance(payload, dict) else {})
    elif kind == "garbage_string":
        bad = rng.choice(_GARBAGE)
    elif kind == "truncated":
        bad = _truncate(payload, rng)
    else:
        raise ConfigError(f"Invalid malformed kind {kind!r}: expected one of {MALFORMED_KINDS}.")
    if idx is None:
        args.append(bad)
    else:
        args[idx] = bad
    return replace(frame, args=args)


def apply_faults(frames: Iterable[ScheduledFrame], faults: Faults,
                 stats: FaultStats | None = None) -> Iterator[ScheduledFrame]:
    """Yield `frames` with drops, garbage, duplicates and swaps (module docstring); lazy.

    Args:
        frames: frames in send order (`at_s` non-decreasing).
        faults: probabilities and seed.
        stats: counters updated as frames flow (pass one to read them afterwards).
    """
    st = stats if stats is not None else FaultStats()
    rng = random.Random(faults.seed)
    garbage_rng = random.Random(f"{faults.seed}-malformed")
    held: ScheduledFrame | None = None  # a frame waiting to swap with the next one

    def out(f: ScheduledFrame) -> Iterator[ScheduledFrame]:
        nonlocal held
        if held is not None:
            first, held = held, None
            st.frames_out += 2
            yield replace(f, at_s=first.at_s)
            yield replace(first, at_s=f.at_s)
        else:
            st.frames_out += 1
            yield f

    for frame in frames:
        st.frames_in += 1
        r_drop, r_bad, r_dup, r_swap = rng.random(), rng.random(), rng.random(), rng.random()
        if r_drop < faults.drop:
            st.dropped += 1
            continue
        f = frame
        if r_bad < faults.malformed:
            kind = MALFORMED_KINDS[garbage_rng.randrange(len(MALFORMED_KINDS))]
            f = malform(f, kind, garbage_rng)
            st.malformed += 1
            st.malformed_kinds[kind] = st.malformed_kinds.get(kind, 0) + 1
        copies = 2 if r_dup < faults.duplicate else 1
        st.duplicated += copies - 1
        for c in range(copies):
            if c == copies - 1 and held is None and r_swap < faults.reorder:
                held = f
                st.reordered += 1
                continue
            yield from out(f)
    if held is not None:
        st.frames_out += 1
        yield held
