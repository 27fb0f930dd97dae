"""The README's "Read the lake from anything" snippets, run as written on an ingested lake:
each must print the lake's tick count (so no engine counts a replaced row twice) and exit 0."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rugslab.lake.catalog import read_table
from rugslab.lake.delta_maintain import compact_table
from rugslab.lake.writer import write_batch
from rugslab.tables.batch import RowBatch

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Read the lake from anything"
GID = "20251207-e8186dbf38e046d1"


def _snippets() -> dict[str, str]:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n#", start + len(SECTION))
    blocks = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)
    names = {}
    for code in blocks:
        engine = ("ray" if "import ray" in code else "duckdb" if "import duckdb" in code
                  else "polars" if "scan_delta" in code else "pyarrow")
        names[engine] = code
    return names


SNIPPETS = _snippets()


def test_the_readme_has_a_snippet_per_engine() -> None:
    assert sorted(SNIPPETS) == ["duckdb", "polars", "pyarrow", "ray"]


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A lake whose ticks partition was written in 5 commits and then compacted, so its
    folder holds the replaced files beside the compacted one (as after any compaction)."""
    home = tmp_path_factory.mktemp("home")
    for part in range(5):
        b = RowBatch()
        b.extend("ticks", [{"game_id": GID, "tick": t, "price_x": 1.0 + t / 100,
                            "source": "live", "is_rug": False}
                           for t in range(part * 10, part * 10 + 10)])
        write_batch(home / "lake", b)
    assert compact_table(home / "lake", "ticks").files_removed >= 5
    on_disk = len(list((home / "lake" / "ticks").glob("date=*/*.parquet")))
    assert on_disk > 1  # the replaced files are still there: a glob would count rows twice
    return home, read_table("ticks", home / "lake").height


@pytest.mark.parametrize("engine", ["duckdb", "polars", "pyarrow",
                                    pytest.param("ray", marks=pytest.mark.slow)])
def test_a_readme_snippet_reads_each_tick_once(engine: str, lake_home: tuple[Path, int]) -> None:
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'ray[data]')")
    home, ticks = lake_home
    assert ticks == 50
    run = subprocess.run([sys.executable, "-c", SNIPPETS[engine]], cwd=home,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == str(ticks)
    assert "terminate called" not in run.stderr
