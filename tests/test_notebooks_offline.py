"""A notebook's charts draw with no network: executed, then opened in JupyterLab in headless
Chromium where only 127.0.0.1 can be reached (issue 17, defect 8).

`notebooks/01_tick_timing.ipynb` (four charts: bars with rules, two line charts with points
and legends, rules with points) runs on a lake of `../shared/captures`, once as it is and once
with altair's default renderer put back after `open_lake()` (the renderer before the fix: it
loads vega from cdn.jsdelivr.net). Each is saved twice, trusted and untrusted (an untrusted
notebook, e.g. an archive opened later, has its output scripts stripped by JupyterLab), and
`tests/_jupyterlab_offline.py` opens the four in JupyterLab inside `unshare --net` (a network
namespace with only loopback; where that is refused, Chromium's host resolver rules alone
keep it offline) and reports what each chart output drew. The default renderer's charts must
come out blank ("Error loading script" where trusted), so the check cannot pass vacuously.

Needs Debian's `chromium`: without it the tests skip, or fail when `CI=true`.
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
from nbclient import NotebookClient

from rugslab.notebook import build_lake

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "01_tick_timing.ipynb"
DRIVER = Path(__file__).with_name("_jupyterlab_offline.py")
#: put back after the cell that calls open_lake(): altair's renderer before issue 17
CDN_RENDERER = ('import altair as alt\n\nalt.renderers.enable("default")  '
                "# altair's CDN renderer, as before issue 17")
RENDERERS = ("offline", "cdn")
TRUST = ("trusted", "untrusted")


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    msg = ("Debian's chromium is not installed: `apt-get install chromium` (this test opens "
           "executed notebooks in JupyterLab in headless Chromium).")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def _loopback_only() -> list[str]:
    """A command prefix that runs a command in a new network namespace with only `lo` up
    ([] where this machine refuses one: not root and no user namespaces)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return []
    for unshare in (["unshare", "--net"], ["unshare", "--net", "--map-root-user"]):
        tried = subprocess.run([*unshare, "ip", "link", "set", "lo", "up"],
                               capture_output=True, check=False)
        if tried.returncode == 0:
            return [*unshare, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    return []


def _is_chart(output: dict[str, Any]) -> bool:
    data = output.get("data", {})
    page = data.get("text/html", "")
    page = "".join(page) if isinstance(page, list) else page
    return ("vega" in page or "rugslab-chart" in page
            or any(k.startswith("application/vnd.vegalite") or k == "image/svg+xml"
                   for k in data))


def _charts_per_cell(nb: nbformat.NotebookNode) -> dict[int, int]:
    """Cell index → number of chart outputs, for the cells that have any."""
    counts = {i: sum(_is_chart(o) for o in cell.get("outputs", []))
              for i, cell in enumerate(nb.cells)}
    return {i: n for i, n in counts.items() if n}


def _execute(lake: Path, *, renderer: str) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if renderer == "cdn":
        at = next(i for i, c in enumerate(nb.cells)
                  if c.cell_type == "code" and "open_lake()" in c.source)
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(CDN_RENDERER))
    env = {**os.environ, "RUGSLAB_LAKE": str(lake), "RUGSLAB_SAMPLE_SIZE": "2000",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute(env=env)
    return nb


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory, captures_dir: Path) -> dict[str, Any]:
    """The driver's report on the four notebooks, plus `expected` (name → cell → charts)
    and `isolated` (whether it ran in a loopback-only network namespace)."""
    chromium = _chromium()
    work = tmp_path_factory.mktemp("offline-charts")
    build_lake(work / "lake", inputs=[captures_dir])
    root = work / "notebooks"
    root.mkdir()
    expected: dict[str, dict[int, int]] = {}
    for renderer in RENDERERS:
        nb = _execute(work / "lake", renderer=renderer)
        for trust in TRUST:
            # different metadata, so trusting one copy (by content hash) leaves the other
            nb.metadata["rugslab_offline_test"] = trust
            name = f"{renderer}-{trust}.ipynb"
            nbformat.write(nb, root / name)
            expected[name] = _charts_per_cell(nb)
    isolate = _loopback_only()
    shots = work / "screenshots"
    shots.mkdir()
    cmd = [*isolate, sys.executable, str(DRIVER), "--root", str(root),
           "--state", str(work / "state"), "--chromium", chromium,
           "--screenshots", str(shots),
           "--trust", "offline-trusted.ipynb", "--trust", "cdn-trusted.ipynb",
           "--chart-cells", json.dumps({k: sorted(v) for k, v in expected.items()}),
           *expected]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode:
        pytest.fail(f"{DRIVER.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    report["expected"] = expected
    report["isolated"] = bool(isolate)
    report["screenshots"] = shots
    return report


def test_the_notebook_under_test_has_charts(pages: dict[str, Any]) -> None:
    charts = pages["expected"]["offline-trusted.ipynb"]
    assert sum(charts.values()) >= 3, f"{NOTEBOOK.name} has fewer charts: test another notebook"
    assert all(pages["expected"][f"{r}-{t}.ipynb"] == {
        i + (r == "cdn"): n for i, n in charts.items()} for r in RENDERERS for t in TRUST)


def test_the_browser_could_reach_only_loopback(pages: dict[str, Any]) -> None:
    if not pages["isolated"]:
        pytest.skip("no network namespace here (needs root or user namespaces): Chromium's "
                    "host resolver rules alone kept the pages offline")
    assert pages["internet"] == "unreachable"


@pytest.mark.parametrize("trust", TRUST)
def test_every_chart_draws_in_jupyterlab_with_no_network(pages: dict[str, Any],
                                                         trust: str) -> None:
    name = f"offline-{trust}.ipynb"
    page, expected = pages["notebooks"][name], pages["expected"][name]
    drawn = {i: page["cells"][i]["charts"] for i in expected}
    assert {i: len(c) for i, c in drawn.items()} == expected, (
        f"blank charts; see {pages['screenshots'] / name}.png")
    charts = [c for cell in drawn.values() for c in cell]
    # trusted: the SVG inline (hover tooltips); untrusted: the <img> JupyterLab lets through
    assert {c["kind"] for c in charts} == ({"svg"} if trust == "trusted" else {"img"})
    # every chart has marks, and its marks carry their values as hover tooltips
    assert all(c["marks"] > 0 and c["tooltips"] > 0 for c in charts)
    assert not page["error_text"] and page["outside_requests"] == []


@pytest.mark.parametrize("trust", TRUST)
def test_the_check_finds_altairs_cdn_charts_blank(pages: dict[str, Any], trust: str) -> None:
    name = f"cdn-{trust}.ipynb"
    page, expected = pages["notebooks"][name], pages["expected"][name]
    assert all(page["cells"][i]["outputs"] and page["cells"][i]["charts"] == []
               for i in expected)
    if trust == "trusted":
        # the defect as reported: the output's script runs, the CDN cannot be reached
        assert page["error_text"]
        assert any(u.startswith("https://cdn.jsdelivr.net/npm/vega@")
                   for u in page["outside_requests"])
