"""Notebook 06's live chart updates in a browser: the notebook is opened in JupyterLab in
headless Chromium and run from the page (so its kernel talks to this page's widget), against a
live server replaying a capture on loopback (from when the notebook connects); while its
`watch` cell runs, the chart's vega
marks are sampled every second and must change (more marks, other geometry), then stop
changing when the watch ends.

`tests/_jupyterlab_live.py` drives JupyterLab and Chromium (the helpers of
`_jupyterlab_offline.py`, used by `test_notebooks_offline.py` for notebook 01). Chromium reaches
only 127.0.0.1 (its host resolver maps every other name nowhere); the network namespace of
that test is not used here, since the kernel must reach the live server this test runs.
Needs Debian's `chromium`: without it the test skips, or fails when `CI=true`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from test_notebooks_offline import _chromium

from rugslab.live.run import LiveOptions
from rugslab.testing import running_live_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "06_live.ipynb"
DRIVER = Path(__file__).with_name("_jupyterlab_live.py")
CAPTURE = "2025-12-06_active-to-cooldown.jsonl"  # 137 live ticks, then a cooldown
WATCH_S = 20


def _cell(nb: nbformat.NotebookNode, text: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, captures_dir: Path) -> dict[str, Any]:
    chromium = _chromium()
    work = tmp_path_factory.mktemp("live-chart")
    (work / "lake").mkdir()
    (work / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, work / "notebooks" / NOTEBOOK.name)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    chart, watch = _cell(nb, "live_chart(board)"), _cell(nb, "await watch(")
    # the replay starts when the notebook's client connects: its 137 ticks at 2x (~17 s) all
    # fall inside the watch, whenever the kernel gets there
    opts = LiveOptions(port=0, replay=(captures_dir / CAPTURE,), speed=2.0, wait_for_clients=1)
    with running_live_server(options=opts) as live:
        env = {**os.environ, "RUGSLAB_LIVE_URL": live.url,
               "RUGSLAB_LIVE_SECONDS": str(WATCH_S), "RUGSLAB_LAKE": str(work / "lake"),
               "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        done = subprocess.run(
            [sys.executable, str(DRIVER), "--root", str(work / "notebooks"),
             "--state", str(work / "state"), "--chromium", chromium,
             "--chart-cell", str(chart), "--until-cell", str(watch),
             "--seconds", str(WATCH_S + 240), NOTEBOOK.name],
            capture_output=True, text=True, timeout=WATCH_S + 420, env=env, check=False)
    if done.returncode:
        pytest.fail(f"{DRIVER.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_the_notebook_ran_in_the_page_without_errors(samples: dict[str, Any]) -> None:
    assert samples["until_cell_done"], "the watch cell never finished"
    assert samples["kernel_errors"] == [] and not samples["error_text"]
    assert samples["outside_requests"] == []


def test_the_live_chart_changes_while_the_watch_runs_and_then_holds(
        samples: dict[str, Any]) -> None:
    drawn = [(s["t"], c) for s in samples["samples"] for c in s["charts"]
             if c.get("marks", c.get("painted", 0)) > 0]
    assert drawn, "the live chart never drew"
    kinds = {c["kind"] for _, c in drawn}
    assert len(kinds) == 1  # one chart: the JupyterChart's vega view
    size = "marks" if kinds == {"svg"} else "painted"
    states = [(c[size], c["digest"]) for _, c in drawn]
    # redrawn as ticks arrive: many distinct pictures, and more marks at the end than at
    # the first drawing (the game's line and its signals grow)
    assert len(set(states)) >= 5, states
    assert states[-1][0] > states[0][0]
    # the watch has ended by the last samples: the picture holds
    assert states[-1] == states[-2]
