"""iter_inputs expands folders for the CLI; gzip is found by content."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

import rugslab.readers.files as files_module
import rugslab.readers.frames as frames_module
from rugslab.errors import InputFormatError
from rugslab.readers import iter_inputs
from rugslab.readers.files import is_gzip, iter_lines, line_text, metered
from rugslab.readers.frames import read_frames


def test_folders_expand_recursively_sorted_skipping_readme_and_hidden(tmp_path: Path) -> None:
    for rel in [
        "b/2.jsonl",
        "b/1.jsonl",
        "a.jsonl",
        "README.md",
        ".hidden.jsonl",
        ".git/x.jsonl",
        "c/README.md",
        "c/d/3.jsonl.gz",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    explicit = tmp_path / ".hidden.jsonl"
    got = [p.relative_to(tmp_path).as_posix() for p in iter_inputs([tmp_path, explicit])]
    assert got == ["a.jsonl", "b/1.jsonl", "b/2.jsonl", "c/d/3.jsonl.gz", ".hidden.jsonl"]


def test_recordings_folder_lists_the_125_recordings(recordings_dir: Path) -> None:
    got = list(iter_inputs([recordings_dir]))
    assert len(got) == 125 and all(p.suffix == ".jsonl" for p in got)


def test_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="does not exist"):
        list(iter_inputs([tmp_path / "nope"]))


def test_gzip_is_told_by_magic_bytes_not_name(tmp_path: Path) -> None:
    p = tmp_path / "plain.gz"
    p.write_text('{"a": 1}\n\n  \n{"b": 2}\n')
    assert not is_gzip(p)
    q = tmp_path / "packed.jsonl"
    q.write_bytes(gzip.compress(p.read_bytes()))
    assert is_gzip(q)
    assert [(n, line_text(line)) for n, line in iter_lines(q)] == [(1, '{"a": 1}'), (4, '{"b": 2}')]


def test_corrupt_gzip_raises_input_format_error(tmp_path: Path) -> None:
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:60])
    with pytest.raises(InputFormatError, match="cut short or corrupt"):
        list(iter_lines(p))


def test_line_text_caps_at_64_kib_and_replaces_bad_utf8() -> None:
    assert len(line_text(b"x" * 100_000)) == 65536
    assert line_text(b"a\xffb\n") == "a\ufffdb"


@pytest.mark.parametrize("gz", [False, True])
def test_the_read_meter_follows_the_open_file(tmp_path: Path, gz: bool) -> None:
    # random text: the gzip file stays large (Python >= 3.12 reads gzip input 128 KiB at a time)
    rnd = random.Random(7)
    text = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, rnd.randbytes(48).hex().encode())
                    for i in range(40_000))
    p = tmp_path / "lines.jsonl"
    p.write_bytes(gzip.compress(text) if gz else text)
    size = p.stat().st_size
    assert size > 2_000_000
    seen = []
    with metered() as meter:
        assert meter.position == 0  # nothing opened yet
        for n, _line in iter_lines(p, buffer_size=4096):
            if n % 500 == 0:
                seen.append(meter.position)
        assert meter.position == 0  # closed
    assert seen == sorted(seen) and 0 < seen[0] < seen[-1] <= size
    assert len(set(seen)) > 5  # it moved while the file was read, not only at its end
    assert files_module.active_meter() is None  # the context is left as found
    with metered() as other:  # a meter only follows files opened in its own context
        pass
    lines = iter_lines(p)
    next(lines)  # a file open now, outside that context
    assert other.position == 0
    lines.close()


def test_a_disk_error_mid_file_is_an_input_format_error_after_the_frames_before(
    captures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = frames_module.read_seq_lines

    def failing(path: Path, counters: object, **kw: object) -> object:
        it = real(path, counters, **kw)  # type: ignore[arg-type]
        yield next(it)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(frames_module, "read_seq_lines", failing)
    got = []
    with pytest.raises(InputFormatError, match=r"cannot be read to its end \(Input/output error"):
        for item in read_frames(captures_dir / "2025-12-12_two-rugs.jsonl"):
            got.append(item)
    assert len(got) == 1
