"""The mutation corpus: real captures and a recording, damaged in every way a file gets damaged.

Generated at test time from `../shared` (never committed), with fixed random seeds:

    bases = load_bases(shared_dir, tmp_dir)        # real lines of four formats
    mutant = case.build(bases)                     # one damaged file and what it must give

Bases (lines without their line ends):

    seq          12 lines of 2025-12-12_two-rugs.jsonl (`{seq, ts, event, data}`)
    event-type   12 lines of 2025-12-06_active-to-cooldown.jsonl (`{timestamp, event_type, data}`)
    archive      the same 12 frames of the 12-12 capture, written by `ArchiveWriter`
    legacy       game_20251031_090831.jsonl, a whole recording (68 lines, none torn)
    curated      2026-02-06_phase-samples.json (one JSON document of 11 frames)

Every mutant says what an ingest of it must give, worked out here from the lines, not by a
reader: `good` (original lines that survive whole: their frames must all be kept),
`bad_lines` (1-based lines of the file that must each become a `rejects` row naming the file
and the line; 0 for the curated document, one record without lines), and `cut` (a gzip
stream that breaks, `cut_after` that many lines: exit status 1, the file listed as cut short).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rugslab.readers import ArchiveWriter, read_frames

WINDOW = 12
LEGACY_FILE = "game_20251031_090831.jsonl"
OVERSIZED_BYTES = 9 << 20  # past detection's 8 MiB line limit
GARBAGE = b"\x00\x01\xfe garbage <html>502 Bad Gateway</html> }{"
# per base: (field, wrong value); each replaces the field on its own line
WRONG_TYPES: dict[str, list[tuple[str, object]]] = {
    "seq": [("seq", "7"), ("ts", 1765577835), ("event", 12), ("event", ""), ("data", KeyError),
            ("ts", "yesterday")],
    "event-type": [("timestamp", 1765), ("event_type", None), ("event_type", ["x"]),
                   ("data", KeyError), ("timestamp", "not a time")],
    "archive": [("v", 2), ("seq", "1"), ("recv_wall_ns", 1.5), ("session", 5), ("args", {}),
                ("event", None), ("recv_mono_ns", "x")],
    "legacy": [("tick", "5"), ("price", "1.0"), ("game_id", 42), ("active", "yes"),
               ("timestamp", 5), ("tick", -1), ("phase", 3), ("price", -2.0)],
}
_PRICE = re.compile(rb'"price": [-0-9.e]+')
_GAME_ID = re.compile(rb'"game_id": "[^"]*"')

# an item of a mutated file: (text, True = an original line / False = a bad line / None = blank)
Item = tuple[bytes, bool | None]


@dataclass(frozen=True)
class Base:
    """Real lines of one format, and the name its mutants are written under."""

    name: str
    lines: list[bytes]
    file_name: str


@dataclass
class Mutant:
    """One damaged input file and what ingesting it must give."""

    file_name: str
    data: bytes
    good: list[bytes] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    cut: bool = False  # the gzip stream breaks: exit status 1, listed as cut short
    cut_after: int | None = None  # ... after this many lines (None: said in bytes of text)


@dataclass(frozen=True)
class Case:
    """A base and a mutation; `str(case)` is the test id."""

    base: str
    mutation: str
    make: Callable[[Base, random.Random], Mutant]

    def __str__(self) -> str:
        return f"{self.base}-{self.mutation}"

    def build(self, bases: dict[str, Base]) -> Mutant:
        """The mutant of this case (seeded by its id: the same bytes on every run)."""
        return self.make(bases[self.base], random.Random(str(self)))


def load_bases(shared: Path, work: Path) -> dict[str, Base]:
    """The bases, read from `shared` (the archive is written into `work`)."""
    caps, recs = shared / "captures", shared / "recordings"
    seq = (caps / "2025-12-12_two-rugs.jsonl").read_bytes().splitlines()[:WINDOW]
    evt = (caps / "2025-12-06_active-to-cooldown.jsonl").read_bytes().splitlines()[:WINDOW]
    src = work / "seq-window.jsonl"
    src.write_bytes(b"\n".join(seq) + b"\n")
    with ArchiveWriter(work / "archive", "0123456789abcdef0123456789abcdef") as w:
        for frame in read_frames(src):
            w.write_frame(frame)  # type: ignore[arg-type]  # a capture window: no BadRecord
    (archive,) = w.paths
    curated = caps / "2026-02-06_phase-samples.json"
    return {
        "seq": Base("seq", seq, "two-rugs.jsonl"),
        "event-type": Base("event-type", evt, "active-to-cooldown.jsonl"),
        "archive": Base("archive", archive.read_bytes().splitlines(), "journal-1.jsonl"),
        "legacy": Base("legacy", (recs / LEGACY_FILE).read_bytes().splitlines(), LEGACY_FILE),
        "curated": Base("curated", [curated.read_bytes()], "phase-samples.json"),
    }


def _file(base: Base, items: list[Item], eol: bytes = b"\n") -> Mutant:
    m = Mutant(base.file_name, b"".join(text + eol for text, _ in items))
    for n, (text, kind) in enumerate(items, 1):
        if kind:
            m.good.append(text)
        elif kind is False:
            m.bad_lines.append(n)
    return m


def _originals(base: Base) -> list[Item]:
    return [(line, True) for line in base.lines]


def _at(where: str, lines: list[bytes]) -> int:
    return 0 if where == "first" else len(lines) // 2


def _replace(where: str, damage: Callable[[bytes, random.Random], bytes]) -> Callable[
        [Base, random.Random], Mutant]:
    def make(base: Base, rng: random.Random) -> Mutant:
        items = _originals(base)
        k = _at(where, base.lines)
        items[k] = (damage(base.lines[k], rng), False)
        return _file(base, items)
    return make


def _insert(where: str, line: Callable[[Base], bytes]) -> Callable[[Base, random.Random], Mutant]:
    def make(base: Base, rng: random.Random) -> Mutant:
        items = _originals(base)
        items.insert(_at(where, base.lines), (line(base), False))
        return _file(base, items)
    return make


def _cut(line: bytes, rng: random.Random) -> bytes:
    return line[: rng.randint(1, len(line) - 2)]  # never the closing brace


def _flip(line: bytes, rng: random.Random) -> bytes:
    b = bytearray(line)
    for i in [*rng.sample(range(len(b) - 1), 3), len(b) - 1]:  # the closing brace always
        b[i] ^= 0x80
    return bytes(b)


def _number(token: bytes) -> Callable[[bytes, random.Random], bytes]:
    """A non-JSON number (NaN, Infinity) where a price or a game id was, or appended to the
    record (the legacy importer reads NaN, as Python's json does, and rejects it in a field
    it uses; in a field it ignores NaN would pass)."""
    def damage(line: bytes, rng: random.Random) -> bytes:
        if _PRICE.search(line):
            return _PRICE.sub(b'"price": ' + token, line, count=1)
        if _GAME_ID.search(line):
            return _GAME_ID.sub(b'"game_id": ' + token, line, count=1)
        return line[: line.rindex(b"}")] + b', "x": ' + token + b"}"
    return damage


def _nested(base: Base) -> bytes:
    deep = b"[" * 100_000 + b"]" * 100_000  # past orjson's 1024 levels and Python's 1000
    return b'{"type": "tick", "deep": ' + deep + b"}" if base.name == "legacy" else deep


def _oversized(base: Base) -> bytes:
    return b'{"event": "x", "pad": "' + b"A" * OVERSIZED_BYTES  # never closed


def _wrong_types(base: Base, rng: random.Random) -> Mutant:
    items = _originals(base)
    fields = WRONG_TYPES[base.name]
    step = max(1, (len(base.lines) - 1) // len(fields))
    for i, (key, value) in enumerate(fields):
        k = 1 + step * i  # tick lines of the recording (its line 0 starts the game)
        obj = json.loads(base.lines[k])
        if value is KeyError:
            del obj[key]
        else:
            obj[key] = value
        items[k] = (json.dumps(obj).encode(), False)
    return _file(base, items)


def _duplicated(base: Base, rng: random.Random) -> Mutant:
    items = _originals(base)
    k = len(items) // 2
    return _file(base, [*items[: k + 1], items[k], *items[k + 1 :], items[0], items[-1]])


def _shuffled(base: Base, rng: random.Random) -> Mutant:
    items = _originals(base)
    rng.shuffle(items)
    return _file(base, items)


def _crlf(base: Base, rng: random.Random) -> Mutant:
    return _file(base, _originals(base), b"\r\n")


def _blank_lines(base: Base, rng: random.Random) -> Mutant:
    items: list[Item] = [(b"", None), (b" \t ", None)]
    for item in _originals(base):
        items += [item, (b"", None)]
    return _file(base, items)


def _empty(base: Base, rng: random.Random) -> Mutant:
    return Mutant(base.file_name, b"")


def _gzip_whole(base: Base, rng: random.Random) -> Mutant:
    m = _file(base, _originals(base))
    m.data, m.file_name = gzip.compress(m.data, mtime=0), base.file_name + ".gz"
    return m


def _gzip_broken(packed: bytes, base: Base) -> Mutant:
    """What a reader must get from a broken gzip stream: the text zlib decodes from it."""
    text = b""
    d = zlib.decompressobj(wbits=31)
    for i in range(len(packed)):  # byte by byte: every byte of text before the break
        try:
            text += d.decompress(packed[i : i + 1])
        except zlib.error:
            break
    *whole, partial = text.split(b"\n")
    items: list[Item] = [(line, True) for line in whole]
    if partial:
        items.append((partial, partial in base.lines))
    m = _file(base, items)
    m.data, m.file_name = packed, base.file_name + ".gz"
    # no line at all: the file reads as empty and the cut is told in bytes of text
    m.cut, m.cut_after = True, len(items) or None
    return m


def _gzip_cut(base: Base, rng: random.Random) -> Mutant:
    packed = gzip.compress(b"\n".join(base.lines) + b"\n", mtime=0)
    return _gzip_broken(packed[: rng.randint(len(packed) // 3, 2 * len(packed) // 3)], base)


def _gzip_header_only(base: Base, rng: random.Random) -> Mutant:
    packed = gzip.compress(b"\n".join(base.lines) + b"\n", mtime=0)
    return _gzip_broken(packed[:10], base)


def _gzip_bad_checksum(base: Base, rng: random.Random) -> Mutant:
    packed = bytearray(gzip.compress(b"\n".join(base.lines) + b"\n", mtime=0))
    packed[-8] ^= 0xFF  # the CRC-32 of the trailer: all text decodes, the check fails
    return _gzip_broken(bytes(packed), base)


def _gzip_bad_method(base: Base, rng: random.Random) -> Mutant:
    packed = bytearray(gzip.compress(b"\n".join(base.lines) + b"\n", mtime=0))
    packed[2] = 7  # compression method 7 (only 8, deflate, exists): nothing decodes
    return _gzip_broken(bytes(packed), base)


def _curated_whole(base: Base, rng: random.Random) -> Mutant:
    doc = json.loads(base.lines[0])  # name → entry: each entry is one frame
    good = [json.dumps(v).encode() for v in doc.values()]
    return Mutant(base.file_name, base.lines[0], good=good)


def _curated_cut(base: Base, rng: random.Random) -> Mutant:
    text = base.lines[0]
    # the document is one record: one rejects row, without a line
    return Mutant(base.file_name, text[: rng.randint(len(text) // 2, len(text) - 10)],
                  bad_lines=[0])


def _curated_gzip_cut(base: Base, rng: random.Random) -> Mutant:
    packed = gzip.compress(base.lines[0], mtime=0)
    cut = packed[: rng.randint(len(packed) // 2, len(packed) - 10)]
    return Mutant(base.file_name + ".gz", cut, bad_lines=[0], cut=True)


LINE_MUTATIONS: dict[str, Callable[[Base, random.Random], Mutant]] = {
    "cut-first": _replace("first", _cut),
    "cut-mid": _replace("mid", _cut),
    "flip-first": _replace("first", _flip),
    "flip-mid": _replace("mid", _flip),
    "garbage-first": _insert("first", lambda base: GARBAGE),
    "garbage-mid": _insert("mid", lambda base: GARBAGE),
    "nested-first": _insert("first", _nested),
    "nested-mid": _insert("mid", _nested),
    "nan-first": _replace("first", _number(b"NaN")),
    "nan-mid": _replace("mid", _number(b"NaN")),
    "infinity-mid": _replace("mid", _number(b"-Infinity")),
    "wrong-types": _wrong_types,
    "duplicated": _duplicated,
    "shuffled": _shuffled,
    "crlf": _crlf,
    "blank-lines": _blank_lines,
    "empty": _empty,
    "gzip": _gzip_whole,
    "gzip-cut": _gzip_cut,
    "gzip-header-only": _gzip_header_only,
    "gzip-bad-checksum": _gzip_bad_checksum,
    "gzip-bad-method": _gzip_bad_method,
}
#: Large mutants (9 MiB lines).
BIG_MUTATIONS = {"oversized-first": _insert("first", _oversized),
                 "oversized-mid": _insert("mid", _oversized)}

#: The default run: every mutation of the 12-12 capture and of the recording, the document's.
CASES = [
    *(Case(b, name, make) for b in ("seq", "legacy") for name, make in LINE_MUTATIONS.items()),
    Case("curated", "whole", _curated_whole),
    Case("curated", "cut", _curated_cut),
    Case("curated", "gzip-cut", _curated_gzip_cut),
]
#: Marked slow by the tests: the same mutations of the other line formats, and the big ones.
SLOW_CASES = [
    *(Case(b, name, make) for b in ("event-type", "archive")
      for name, make in LINE_MUTATIONS.items()),
    *(Case(b, name, make) for b in ("seq", "legacy") for name, make in BIG_MUTATIONS.items()),
]
