"""Open notebooks in JupyterLab in headless Chromium and report what each chart output drew.

Run by tests/test_notebooks_offline.py inside a network namespace that has only loopback
(`unshare --net`), so nothing but 127.0.0.1 can be reached; stdlib only, with the venv's
python (JupyterLab and nbformat come from it):

    python tests/_jupyterlab_offline.py --root NOTEBOOKS --state STATE --chromium PATH \
        [--trust NAME ...] NAME ...

It starts `jupyter lab` on 127.0.0.1 (no token, settings and trust database under STATE),
starts Chromium with `--remote-debugging-pipe` and drives it over the DevTools protocol: for
each notebook it opens `/lab/tree/NAME`, waits until the chart cells have rendered (and a few
seconds more for scripts), and reads the DOM. It prints one JSON object:

    {"internet": "unreachable" | "reachable: …", "notebooks": {NAME: {
        "cells": [{"outputs": n, "charts": [
            {"kind": "svg" | "img" | "canvas", "marks": n, "tooltips": marks with a <title>}]}],
        "error_text": bool ("Error loading script" anywhere on the page),
        "outside_requests": [URLs the page asked for beyond 127.0.0.1], "seconds": s}}}

A chart counts as drawn when an output holds an `<svg>` with vega marks (children of its
`.role-mark` groups), an `<img>` whose `data:image/svg+xml` source decodes to such an SVG and
that the browser decoded, or a `<canvas>` with painted pixels.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

#: after the chart cells have outputs, how long scripts get to draw (or fail to load)
SETTLE_S = 6.0
LOAD_TIMEOUT_S = 120.0

PROBE = r"""
(() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')]
    .find(p => !p.classList.contains('lm-mod-hidden'));
  const nb = panel && panel.querySelector('.jp-Notebook');
  if (!nb) return {cells: null};
  const MARKS = '.role-mark > path, .role-mark > rect, .role-mark > line, '
    + '.role-mark > circle, .role-mark > text, .role-mark > image';
  const marksOf = root => root.querySelectorAll(MARKS).length;
  const tipsOf = root => root.querySelectorAll(MARKS.replaceAll(',', ' > title,') + ' > title')
    .length;
  const painted = canvas => {
    try {
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) n++;
      }
      return n;
    } catch (e) { return 0; }
  };
  const decode = src => {
    const comma = src.indexOf(',');
    const head = src.slice(0, comma), body = src.slice(comma + 1);
    if (head.endsWith(';base64')) {
      const b = atob(body);
      return new TextDecoder().decode(Uint8Array.from(b, c => c.charCodeAt(0)));
    }
    return decodeURIComponent(body);
  };
  const cells = [...nb.querySelectorAll('.jp-Cell')].map(cell => {
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
    const charts = [];
    for (const out of outputs) {
      for (const svg of out.querySelectorAll('svg')) {
        if (svg.parentElement.closest('svg')) continue;
        charts.push({kind: 'svg', marks: marksOf(svg), tooltips: tipsOf(svg)});
      }
      for (const img of out.querySelectorAll('img[src^="data:image/svg+xml"]')) {
        const doc = new DOMParser().parseFromString(decode(img.src), 'image/svg+xml');
        const shown = img.complete && img.naturalWidth > 0;
        charts.push({kind: 'img', marks: shown ? marksOf(doc) : 0, tooltips: tipsOf(doc)});
      }
      for (const canvas of out.querySelectorAll('canvas')) {
        charts.push({kind: 'canvas', marks: painted(canvas) > 100 ? 1 : 0, tooltips: 0});
      }
    }
    return {outputs: outputs.length, charts: charts.filter(c => c.marks > 0)};
  });
  const tab = document.querySelector(
    '#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel');
  return {cells, tab: tab ? tab.textContent : '',
          error_text: document.body.innerText.includes('Error loading script')};
})()
"""


class DevTools:
    """The DevTools protocol over Chromium's `--remote-debugging-pipe` (fds 3 and 4,
    NUL-terminated JSON messages)."""

    def __init__(self, chromium: str, profile: Path, log: Path) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()
        high = [os.dup(fd) for fd in (cmd_r, res_w)]
        while min(high) <= 4:
            high = [os.dup(fd) for fd in high]

        def fds_3_and_4() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--window-size=1400,4000", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log.open("ab"), stderr=subprocess.STDOUT,
            pass_fds=(3, 4), preexec_fn=fds_3_and_4, start_new_session=True)
        for fd in (cmd_r, res_w, *high):
            os.close(fd)
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._res_r, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                buf += chunk
                *messages, buf = buf.split(b"\0")
                with self._cond:
                    for raw in messages:
                        msg = json.loads(raw)
                        if "id" in msg:
                            self._replies[msg["id"]] = msg
                        else:
                            self._events.append(msg)
                    self._cond.notify_all()

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        with self._cond:
            if not self._cond.wait_for(lambda: self._next in self._replies, timeout):
                raise TimeoutError(f"no DevTools reply to {method} in {timeout} s")
            reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    def requests(self, session: str) -> list[str]:
        with self._cond:
            return [e["params"]["request"]["url"] for e in self._events
                    if e.get("sessionId") == session
                    and e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def internet() -> str:
    """"unreachable" when no outside address answers or refuses (only loopback is up)."""
    try:
        socket.create_connection(("1.1.1.1", 443), timeout=3).close()
    except OSError as e:
        if isinstance(e, ConnectionRefusedError):
            return f"reachable: 1.1.1.1:443 refused ({e})"
        return "unreachable"
    return "reachable: connected to 1.1.1.1:443"


def start_lab(root: Path, state: Path, trust: list[str],
              extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], int]:
    """`jupyter lab` on a free port of 127.0.0.1 serving `root` (state under `state`, the
    notebooks `trust` signed, `extra` flags added); returns it and its port."""
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")):
        (state / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(state / sub)
    settings = {
        # every cell in the DOM (the default windowing may leave cells out of the DOM)
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "checkForUpdates": False, "fetchNews": "false"},
    }
    for rel, value in settings.items():
        path = state / "settings" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    if trust:
        from nbformat import read, sign

        notary = sign.NotebookNotary(data_dir=str(state / "data"))
        for name in trust:
            notary.sign(read(root / name, as_version=4))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--ServerApp.root_dir={root}", "--IdentityProvider.token=",
         "--ServerApp.password=", *extra],
        env=env, stdin=subprocess.DEVNULL, stdout=(state / "lab.log").open("ab"),
        stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2):
                return lab, port
        except OSError:
            if lab.poll() is not None or time.monotonic() > deadline:
                lab.kill()
                raise RuntimeError("jupyter lab did not start; its log:\n"
                                   + (state / "lab.log").read_text()[-3000:]) from None
            time.sleep(0.5)


def open_notebook(tools: DevTools, url: str, name: str, chart_cells: list[int],
                  screenshots: Path | None = None) -> dict[str, Any]:
    target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    tools.call("Network.enable", session=session)
    start = time.monotonic()
    tools.call("Page.navigate", {"url": url}, session=session)
    ready_at = None
    state: dict[str, Any] = {}
    while time.monotonic() - start < LOAD_TIMEOUT_S:
        time.sleep(0.5)
        state = tools.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True},
                           session=session)["result"].get("value") or {}
        cells = state.get("cells")
        if (not cells or state.get("tab") != name
                or any(i >= len(cells) or not cells[i]["outputs"] for i in chart_cells)):
            continue
        ready_at = ready_at or time.monotonic()
        if all(cells[i]["charts"] for i in chart_cells) or (
                time.monotonic() - ready_at > SETTLE_S):
            break
    state["seconds"] = round(time.monotonic() - start, 1)
    if screenshots is not None:
        shot = tools.call("Page.captureScreenshot", {"format": "png"}, session=session)
        (screenshots / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
    state["outside_requests"] = [
        u for u in tools.requests(session)
        if not u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:"))]
    tools.call("Target.closeTarget", {"targetId": target})
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--trust", action="append", default=[])
    ap.add_argument("--screenshots", type=Path, help="save a PNG of each page here")
    ap.add_argument("--chart-cells", default="{}",
                    help="JSON {NAME: [indexes of the cells with chart outputs]}")
    ap.add_argument("notebooks", nargs="+")
    args = ap.parse_args()
    chart_cells = json.loads(args.chart_cells)
    report: dict[str, Any] = {"internet": internet(), "notebooks": {}}
    lab, port = start_lab(args.root, args.state, args.trust)
    tools = None
    try:
        tools = DevTools(args.chromium, args.state / "chromium", args.state / "chromium.log")
        for k, name in enumerate(args.notebooks):
            # a fresh workspace each: JupyterLab would reopen the notebooks opened before
            url = f"http://127.0.0.1:{port}/lab/workspaces/offline-test-{k}/tree/{name}?reset"
            report["notebooks"][name] = open_notebook(
                tools, url, name, chart_cells.get(name, []), args.screenshots)
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
