"""Fixtures of the fault suite: the mutation corpus's bases, and `rugslab` in a subprocess
(optionally as user `nobody`, so permissions hold for a root test run)."""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from corpus import Base, load_bases

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534


@pytest.fixture(scope="session")
def bases(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Base]:
    """The real lines the corpus damages (`corpus.load_bases`)."""
    return load_bases(shared_dir, tmp_path_factory.mktemp("bases"))


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A fresh folder every user may enter (pytest's tmp_path sits in a root-only folder)."""
    path = Path(tempfile.mkdtemp(prefix="rugslab-faults-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        for p in path.rglob("*"):  # give back what a test locked, so it can be removed
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _nobody_python(env_items: tuple[tuple[str, str], ...]) -> str | None:
    """An interpreter of this Python version that user nobody may run with this environment
    (the test's own may sit under root's home, e.g. pyenv's), or None."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, shutil.which(version), f"/usr/bin/{version}"]
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            res = subprocess.run([exe, "-c", "import rugslab.cli, polars"], env=dict(env_items),
                                 preexec_fn=_as_nobody, capture_output=True, timeout=120,
                                 check=False)
        except OSError:
            continue
        if res.returncode == 0:
            return exe
    return None


@pytest.fixture
def rugslab_cli(open_tmp: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m rugslab ARGS...` in a subprocess of this worktree; `as_nobody=True` runs
    it as user nobody (root only: the test is skipped otherwise)."""

    def run(*args: str, as_nobody: bool = False, timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
        path = os.pathsep.join([str(REPO), *site.getsitepackages()])
        env = {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1",
               "NUMBA_CACHE_DIR": str(open_tmp / ".numba")}
        exe: str | None = sys.executable
        if as_nobody:
            if os.geteuid() != 0:
                pytest.skip("running rugslab as user nobody needs root (permissions are real)")
            exe = _nobody_python(tuple(sorted(env.items())))
            if exe is None:
                pytest.skip("no Python interpreter that user nobody may run imports rugslab")
        return subprocess.run(
            [exe, "-m", "rugslab", *args], capture_output=True, text=True, env=env,
            timeout=timeout, preexec_fn=_as_nobody if as_nobody else None, check=False,
        )

    return run

