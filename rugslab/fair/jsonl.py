"""Replay requests as JSON lines: the library behind `rugslab fair replay`.

Input, one object a line: `{"server_seed": str, "game_id": str, "version": "v1"|"v2"|"v3"}`.
Output, one object a line: the request's three fields plus `prices`, `peak_multiplier`,
`rugged`, `total_ticks` (see `rugslab.fair.game.GamePath`). Floats are written by orjson,
whose shortest round-trip form parses back to the identical double.

A bad line does not stop the stream: it yields a `BadRequest` naming the line number, what is
wrong and how to fix it, and the caller counts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from rugslab.errors import FairnessError
from rugslab.fair.fast import replay_games
from rugslab.feed.rules import GAME_VERSIONS

FIELDS = ("server_seed", "game_id", "version")
EXAMPLE = (
    '{"server_seed": "<revealed seed>", "game_id": "20251207-e8186dbf38e046d1", "version": "v3"}'
)


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """One parsed input line."""

    line_no: int
    server_seed: str
    game_id: str
    version: str


@dataclass(frozen=True, slots=True)
class BadRequest:
    """An input line that cannot be replayed, with a message naming the line and the fix."""

    line_no: int
    message: str


def parse_request(line: str | bytes, line_no: int) -> ReplayRequest:
    """Parse one JSON line into a `ReplayRequest`.

    Raises:
        FairnessError: not a JSON object, a field missing or not a string, or an unknown
            version. The message starts with `line <n>:` and says how to fix it.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        try:
            # a JavaScript string may hold lone UTF-16 surrogates ("\ud800"), which orjson
            # refuses and the standard library reads; the seed keeps them (`fair.seedrandom`
            # works on UTF-16 code units, as the published verifier does)
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise FairnessError(
                f"line {line_no}: not valid JSON ({e}); expected one object a line like "
                f"{EXAMPLE}") from e
    if not isinstance(obj, dict):
        raise FairnessError(
            f"line {line_no}: expected a JSON object like {EXAMPLE}, got {type(obj).__name__}"
        )
    for name in FIELDS:
        if name not in obj:
            raise FairnessError(
                f"line {line_no}: missing field {name!r}; every line needs {', '.join(FIELDS)}"
            )
        if not isinstance(obj[name], str):
            raise FairnessError(
                f"line {line_no}: field {name!r} is {obj[name]!r} ({type(obj[name]).__name__}); "
                "give it as a JSON string"
            )
    if obj["version"] not in GAME_VERSIONS:
        raise FairnessError(
            f"line {line_no}: version {obj['version']!r} is unknown; "
            f"use one of {', '.join(GAME_VERSIONS)}",
            game_id=obj["game_id"],
        )
    return ReplayRequest(line_no, obj["server_seed"], obj["game_id"], obj["version"])


def _replay_chunk(requests: list[ReplayRequest]) -> Iterator[bytes]:
    batch = replay_games(
        [r.server_seed for r in requests],
        [r.game_id for r in requests],
        [r.version for r in requests],
    )
    for i, r in enumerate(requests):
        lo, hi = int(batch.offsets[i]), int(batch.offsets[i + 1])
        out = {
            "server_seed": r.server_seed,
            "game_id": r.game_id,
            "version": r.version,
            "prices": batch.prices[lo:hi],
            "peak_multiplier": float(batch.peak_multiplier[i]),
            "rugged": bool(batch.rugged[i]),
            "total_ticks": int(batch.total_ticks[i]),
        }
        try:
            yield orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY)
        except orjson.JSONEncodeError:  # lone surrogates in a string: written as \uXXXX
            out["prices"] = out["prices"].tolist()
            yield json.dumps(out, separators=(",", ":")).encode()


def replay_jsonl(
    lines: Iterable[str | bytes], *, chunk_size: int = 512
) -> Iterator[bytes | BadRequest]:
    """Replay every request line, in input order.

    Args:
        lines: JSON lines (blank lines are skipped, not counted as errors).
        chunk_size: games replayed per compiled call (memory is bounded by one chunk's paths).

    Yields:
        For each non-blank line, in order: the output JSON line (bytes, no newline) or a
        `BadRequest`.
    """
    pending: list[ReplayRequest | BadRequest] = []

    def flush() -> Iterator[bytes | BadRequest]:
        good = [p for p in pending if isinstance(p, ReplayRequest)]
        done = iter(_replay_chunk(good)) if good else iter(())
        for p in pending:
            yield next(done) if isinstance(p, ReplayRequest) else p
        pending.clear()

    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            pending.append(parse_request(line, line_no))
        except FairnessError as e:
            pending.append(BadRequest(line_no, str(e)))
        if len(pending) >= chunk_size:
            yield from flush()
    yield from flush()
