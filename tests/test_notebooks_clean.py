"""The research notebooks are committed clean and thin: no outputs, short code cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_CELL_LINES = 15


def test_the_research_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == ["00_lake_tour", "01_tick_timing", "02_rug_hazard",
                                           "03_sidebet_ev", "04_backtests", "05_provably_fair",
                                           "06_live", "07_players"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_no_outputs_and_thin_cells(path: Path) -> None:
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    with_outputs = [i for i, c in enumerate(code) if c.get("outputs")]
    counted = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
    assert with_outputs == [] and counted == [], "run `nbstripout notebooks/*.ipynb`"
    long = {i: len("".join(c["source"]).splitlines()) for i, c in enumerate(code)}
    assert {i: n for i, n in long.items() if n > MAX_CELL_LINES} == {}, (
        "move long cells into the package (rugslab.notebook or rugslab.analysis)")
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
