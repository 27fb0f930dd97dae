"""Run a notebook in JupyterLab in headless Chromium and sample one cell's live chart.

Run by tests/test_notebook_live_chart.py; stdlib only, with the venv's python (it reuses the
JupyterLab and DevTools helpers of `_jupyterlab_offline.py`):

    python tests/_jupyterlab_live.py --root NOTEBOOKS --state STATE --chromium PATH \
        --chart-cell N --until-cell M --seconds S NAME

It starts `jupyter lab` on 127.0.0.1 (the app exposed to the page as `window.jupyterapp`),
opens NAME, runs all its cells from the page (`notebook:run-all-cells`: the kernel runs
attached to this page, so a widget's updates reach it), and then, every `--every` seconds
until cell M has an output (plus two samples) or `--seconds` have passed, reads what cell N's
outputs drew: for each `<canvas>` the painted pixels and a digest of its pixels, for each
`<svg>` its vega marks and a digest of their geometry. It prints one JSON object:

    {"samples": [{"t": s, "charts": [{"kind", "painted" | "marks", "digest"}]}],
     "until_cell_done": bool, "cells_with_output": n, "error_text": bool,
     "outside_requests": [...], "kernel_errors": [output texts of error outputs]}
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# run as a script: its folder is on sys.path
from _jupyterlab_offline import LOAD_TIMEOUT_S, DevTools, start_lab

SAMPLE = r"""
((n) => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')]
    .find(p => !p.classList.contains('lm-mod-hidden'));
  const nb = panel && panel.querySelector('.jp-Notebook');
  if (!nb) return {ready: false};
  const cells = [...nb.querySelectorAll('.jp-Cell')];
  const digest = values => {
    let h = 2166136261 >>> 0;
    for (const v of values) { h ^= v; h = Math.imul(h, 16777619) >>> 0; }
    return h.toString(16);
  };
  const charts = [];
  const cell = cells[n];
  for (const out of cell ? cell.querySelectorAll('.jp-OutputArea-output') : []) {
    for (const c of out.querySelectorAll('canvas')) {
      let painted = 0, data = [];
      try {
        data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 0 && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) {
            painted++;
          }
        }
      } catch (e) {}
      charts.push({kind: 'canvas', painted, digest: digest(data)});
    }
    for (const svg of out.querySelectorAll('svg')) {
      if (svg.parentElement.closest('svg')) continue;
      const marks = [...svg.querySelectorAll('.role-mark > *')];
      const text = marks.map(m => m.getAttribute('d') || m.getAttribute('transform') || '')
        .join('|');
      charts.push({kind: 'svg', marks: marks.length,
                   digest: digest([...text].map(ch => ch.charCodeAt(0)))});
    }
  }
  const errors = [...nb.querySelectorAll('.jp-OutputArea-output[data-mime-type*="error"]')]
    .map(e => e.innerText.slice(0, 2000));
  const tab = document.querySelector(
    '#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel');
  const has = cells.map(c => !!c.querySelector('.jp-OutputArea-output'));
  return {ready: true, tab: tab ? tab.textContent : '', cells: cells.length, has_output: has,
          cells_with_output: has.filter(Boolean).length,
          charts, errors, error_text: document.body.innerText.includes('Error loading script')};
})
"""
#: the notebook's kernel is up (a command run before would find no kernel and do nothing)
KERNEL_READY = ("(() => { const w = window.jupyterapp.shell.currentWidget; "
                "return !!(w && w.sessionContext && w.sessionContext.isReady "
                "&& w.sessionContext.kernelDisplayStatus === 'idle'); })()")
RUN_ALL = "window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => true)"


def sample(tools: DevTools, session: str, cell: int) -> dict[str, Any]:
    got = tools.call("Runtime.evaluate", {"expression": f"{SAMPLE}({cell})",
                                          "returnByValue": True}, session=session)
    return got["result"].get("value") or {"ready": False}


def run(tools: DevTools, url: str, name: str, cell: int, until: int, seconds: float,
        every: float) -> dict[str, Any]:
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    tools.call("Network.enable", session=session)
    tools.call("Page.navigate", {"url": url}, session=session)
    start = time.monotonic()
    state: dict[str, Any] = {}
    while time.monotonic() - start < LOAD_TIMEOUT_S:
        time.sleep(0.5)
        state = sample(tools, session, cell)
        if state.get("ready") and state.get("tab") == name and state.get("cells"):
            break
    else:
        raise RuntimeError(f"{name} did not open in {LOAD_TIMEOUT_S} s: {state}")
    while not tools.call("Runtime.evaluate", {"expression": KERNEL_READY, "returnByValue": True},
                         session=session)["result"].get("value"):
        if time.monotonic() - start > LOAD_TIMEOUT_S:
            raise RuntimeError(f"the kernel of {name} was not ready in {LOAD_TIMEOUT_S} s")
        time.sleep(0.5)
    started = tools.call("Runtime.evaluate", {"expression": RUN_ALL, "awaitPromise": False},
                         session=session)
    if "exceptionDetails" in started:
        raise RuntimeError(f"could not run the notebook's cells: {started['exceptionDetails']}")
    samples = []
    t0 = time.monotonic()
    after = 0  # samples taken since cell `until` had an output
    while time.monotonic() - t0 < seconds and after < 3:
        time.sleep(every)
        state = sample(tools, session, cell)
        samples.append({"t": round(time.monotonic() - t0, 2), "charts": state.get("charts", [])})
        done = state.get("has_output") or []
        after += until < len(done) and done[until]
    report = {"samples": samples, "until_cell_done": after > 0,
              "cells_with_output": state.get("cells_with_output", 0),
              "error_text": state.get("error_text", False),
              "kernel_errors": state.get("errors", []),
              "outside_requests": [
                  u for u in tools.requests(session)
                  if not u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:",
                                       "blob:", "about:"))]}
    tools.call("Target.closeTarget", {"targetId": target})
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--chart-cell", type=int, required=True)
    ap.add_argument("--until-cell", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("notebook")
    args = ap.parse_args()
    lab, port = start_lab(args.root, args.state, [],
                          ("--LabApp.expose_app_in_browser=True",))
    tools = None
    try:
        tools = DevTools(args.chromium, args.state / "chromium", args.state / "chromium.log")
        url = f"http://127.0.0.1:{port}/lab/workspaces/live-test/tree/{args.notebook}?reset"
        report = run(tools, url, args.notebook, args.chart_cell, args.until_cell, args.seconds,
                     args.every)
    finally:
        if tools is not None:
            tools.close()
        lab.terminate()
        try:
            lab.wait(15)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
