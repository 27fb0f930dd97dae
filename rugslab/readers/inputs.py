"""Inputs: the files named on the command line, folders walked, each real file once.

    iter_inputs([Path("captures/"), Path("more.jsonl")])   → Path, Path, ...

Symbolic links are followed, but every real folder is walked once and every real file yielded
once (by device and inode), so `loop -> .` under a folder neither hangs the walk nor reads its
files again. What cannot be walked (a folder without read permission, a broken or looping
link, a pipe) is handed to the caller's `on_skip` with the reason and the fix.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rugslab.errors import InputFormatError

#: File names `iter_inputs` never yields: documentation beside the data.
SKIP_NAMES = frozenset({"README.md", "README", "README.txt"})


def _visible(name: str) -> bool:
    return not name.startswith(".") and name not in SKIP_NAMES


def _unusable(e: OSError) -> str:
    """Why an entry found in a folder cannot be read, and what to do."""
    if e.errno == errno.ELOOP:
        return "symbolic link loop (the link leads back to itself); remove or fix the link"
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        return "broken symbolic link (its target does not exist); remove or fix the link"
    return f"cannot be reached ({e.strerror or e}); check its permissions"


def iter_inputs(
    paths: Iterable[Path | str],
    *,
    on_skip: Callable[[Path, str], None] | None = None,
    counters: Counter[str] | None = None,
) -> Iterator[Path]:
    """Expand files and folders into input files, for the CLI.

    Folders are walked recursively in sorted order; hidden entries (name starting with `.`)
    and README files are skipped. A file named explicitly is always yielded, even if hidden.
    Symbolic links are followed, but every real folder is walked once and every real file
    yielded once (by device and inode): a link back to a parent (`loop -> .`) is not walked
    again, and a file reached twice (named twice, linked, or hard-linked) is read once; each
    repeat is counted (`inputs.folders_seen_again`, `inputs.files_seen_again`).

    Args:
        paths: files and/or folders.
        on_skip: called with (path, reason) for a folder that cannot be listed, a broken or
            looping link, an entry that cannot be reached, or one that is not a regular file
            (a pipe, socket or device); the walk goes on. None: raise instead.
        counters: receives the `inputs.*` counts.

    Yields:
        Paths of regular files, folders expanded in place, in the order given.

    Raises:
        InputFormatError: a path given does not exist (the message names it), or (without
            `on_skip`) an entry cannot be read.
    """
    counters = Counter() if counters is None else counters

    def skip(p: Path, why: str) -> None:
        if on_skip is None:
            raise InputFormatError(f"Input {str(p)!r}: {why}.", path=p)
        on_skip(p, why)

    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for raw in paths:
        p = Path(raw)
        try:
            st = os.stat(p)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR) and not os.path.islink(p):
                raise InputFormatError(
                    f"Input path {str(p)!r} does not exist; pass capture files or folders.",
                    path=p,
                ) from e
            skip(p, _unusable(e))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(p, st, seen_dirs, seen_files, skip, counters)
        elif _new(st, seen_files, counters, p, skip):
            yield p


def _new(
    st: os.stat_result,
    seen: set[tuple[int, int]],
    counters: Counter[str],
    p: Path,
    skip: Callable[[Path, str], None],
) -> bool:
    """True for a regular file not yielded before (else counted or skipped)."""
    if not stat.S_ISREG(st.st_mode):
        skip(p, "not a regular file (a pipe, socket or device); leave it out of the inputs")
        return False
    key = (st.st_dev, st.st_ino)
    if key in seen:
        counters["inputs.files_seen_again"] += 1
        return False
    seen.add(key)
    return True


def _walk(
    root: Path,
    st: os.stat_result,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    skip: Callable[[Path, str], None],
    counters: Counter[str],
) -> Iterator[Path]:
    """Depth-first, sorted by name; each real folder once (no recursion: links may nest)."""

    def listing(folder: Path, st: os.stat_result) -> Iterator[str] | None:
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            counters["inputs.folders_seen_again"] += 1
            return None
        seen_dirs.add(key)
        try:
            names = sorted(os.listdir(folder))
        except OSError as e:
            skip(folder, f"folder cannot be listed ({e.strerror or e}), so none of its files "
                 "were read; make it readable (chmod a+rx) or leave it out")
            return None
        return (os.path.join(folder, n) for n in names if _visible(n))

    first = listing(root, st)
    stack = [first] if first is not None else []
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        child = Path(entry)
        try:
            cst = os.stat(child)  # follows links
        except OSError as e:
            skip(child, _unusable(e))
            continue
        if stat.S_ISDIR(cst.st_mode):
            sub = listing(child, cst)
            if sub is not None:
                stack.append(sub)
        elif _new(cst, seen_files, counters, child, skip):
            yield child


def input_size(path: Path) -> int:
    """The file's size in bytes for a progress total (0 if it vanished: reading says so)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
