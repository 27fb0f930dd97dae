"""Ray as the distributed engine: an ensemble's or a sweep's chunks as Ray tasks.

    from rugslab.strategy.ray_engine import ray_executor
    with ray_executor(num_cpus=2) as ex:                 # Ray embedded on this machine
        rows = sweep("sidebet-fixed", grid, MonteCarloSource(), paths=1000, games=500,
                     executor=ex)
    with ray_executor(address="10.0.0.5:6379") as ex:    # a cluster (`ray start --head`)
        e = run_ensemble(strategy, source, paths=100_000, games_per_path=500, executor=ex)

`rugslab backtest --engine ray [--address ADDR]` does the same. Same seed, same numbers as the
local engine: a chunk is a pure function of its `ChunkTask` (`rugslab.strategy.ensemble`) and
the results are gathered in task order, wherever and in whatever order the chunks ran
(`tests/strategy/test_ray_engine.py`).

Ray's life: `ray_session` starts Ray only when this process has not (`ray.init`); without an
address it starts a new instance on this machine (`address="local"`: never an existing cluster
by accident) with `num_cpus` CPUs, no dashboard, a small object store unless told otherwise, and
worker logs kept out of this terminal; with an address it connects to that cluster. It shuts
down only an instance it started, so a notebook's own `ray.init` survives a backtest.

The executor submits the chunks as Ray tasks, at most `IN_FLIGHT_PER_CPU` per cluster CPU at a
time (the results of finished chunks wait in the object store until read, in order), and puts
each distinct source in the object store once: a lake source's arrays are shared by its chunks
rather than pickled into each. A Ctrl-C or an error cancels the chunks not yet done
(`ray.cancel(force=True)`), and the session then shuts down the Ray it started.

Every node of a cluster runs the chunks with its own Python: install the same rugslab (and
Ray version) on each (README, "Running on Ray"). A cluster's address is checked first
(`check_reachable`: a TCP connection within `CONNECT_TIMEOUT_S`), since `ray.init` retries for
minutes when nothing listens there.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from rugslab.errors import ConfigError
from rugslab.lake.ray_scan import require_ray
from rugslab.strategy.book import PathSummaries
from rugslab.strategy.ensemble import ChunkTask, Executor

#: Chunks submitted but not yet read, per CPU of the cluster: enough to keep every CPU busy
#: while the results are read in order, few enough to bound the object store's use.
IN_FLIGHT_PER_CPU = 4
#: The object store of an instance started here (bytes), unless `object_store_memory` is
#: given: chunk results are small (~2 KB a path) and read as they come.
DEFAULT_OBJECT_STORE_BYTES = 200 * 2**20


def _fix(address: str) -> str:
    return (f"start a cluster with `ray start --head` and pass the address it prints "
            f"(--address HOST:6379), check that this machine reaches {address!r}, runs "
            "the cluster's Ray version and has its auth token if it uses one (Ray's token "
            "authentication: `ray get-auth-token` on the head, RAY_AUTH_TOKEN here), or drop "
            "--address to run Ray on this machine")


#: Seconds to wait for a cluster's address to accept a connection before `ray.init` (which
#: itself retries for minutes when nothing listens there).
CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when nothing accepts a TCP connection at `address` (`HOST:PORT` or
    `ray://HOST:PORT`; `auto` is not checked: Ray finds the cluster on this machine itself).

    Raises:
        ConfigError: `address` is not HOST:PORT, or no connection within `timeout_s`; the
            message names --address and the fix.
    """
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"Invalid --address {address!r}: expected HOST:PORT (the address "
                          "`ray start --head` prints, e.g. 10.0.0.5:6379), ray://HOST:10001 "
                          "or auto.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ConfigError(f"Cannot reach the Ray cluster at --address {address}: {e}; "
                          f"{_fix(address)}.") from e


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                object_store_memory: int | None = None) -> Iterator[Any]:
    """Ray, initialised for the block: an instance already initialised in this process is
    used as it is; else a new one on this machine (no address) or the cluster at `address`.
    Only an instance started here is shut down at the end (also on Ctrl-C or an error).

    Args:
        address: a running cluster (`HOST:PORT` from `ray start --head`, `auto` for the
            cluster on this machine, or `ray://HOST:10001`); None: start Ray here.
        num_cpus: CPUs of an instance started here (None: every core). Not with `address`
            (a cluster's size is its own).
        object_store_memory: bytes of an instance started here (default
            `DEFAULT_OBJECT_STORE_BYTES`).

    Yields:
        The `ray` module.

    Raises:
        ConfigError: Ray is not installed; `num_cpus` < 1, or given with `address`; the
            cluster cannot be reached (the message names --address and the fix); Ray is
            already initialised here for another cluster.
    """
    if num_cpus is not None and num_cpus < 1:
        raise ConfigError(f"Invalid --workers {num_cpus}: expected a whole number ≥ 1.")
    if num_cpus is not None and address is not None:
        raise ConfigError(f"--workers {num_cpus} goes with Ray on this machine; a cluster "
                          f"(--address {address}) uses all of its CPUs: drop --workers.")
    ray = require_ray()
    if address is not None:
        check_reachable(address)
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if address not in (None, "auto", current):
            raise ConfigError(f"Ray is already initialised in this process (cluster "
                              f"{current}), so --address {address} cannot be used: call "
                              "ray.shutdown() first, or drop --address.")
        yield ray
        return
    kw: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        # a new instance, never a cluster `ray start` left running on this machine
        kw.update(address="local", num_cpus=num_cpus, include_dashboard=False,
                  object_store_memory=object_store_memory or DEFAULT_OBJECT_STORE_BYTES)
    else:
        kw.update(address=address)
    quiet = _QuietInit(ray)
    try:
        with quiet:
            try:
                ray.init(**kw)
            except (ConnectionError, TimeoutError, ValueError, RuntimeError) as e:
                if address is None:
                    raise ConfigError(f"Ray could not start on this machine: {e}") from e
                raise ConfigError(f"Cannot reach the Ray cluster at --address {address}: "
                                  f"{str(e).strip().splitlines()[0]}; {_fix(address)}.") from e
        quiet.deliver()  # a SIGINT or SIGTERM that came during ray.init acts now
        yield ray
    finally:
        ray.shutdown()


class _QuietInit:
    """`ray.init` with SIGINT and SIGTERM put off until it returns (main thread only; a no-op
    elsewhere). Delivered mid-init they crashed the driver (tests/faults/
    test_backtest_signals.py): a KeyboardInterrupt inside Ray's start-up segfaulted; a
    SIGTERM met Ray's C++ failure handler (a stack dump and an abort; not installed since
    `require_ray` sets `RAY_DISABLE_FAILURE_SIGNAL_HANDLER`), or the handler `ray.init` puts
    in place (`sys.exit(15)` mid-start-up, then a segfault at exit). So during init both
    signals are only recorded, `ray.init` is kept from replacing the SIGTERM handler, and
    `deliver` then acts on what was recorded as the handlers before init would have."""

    def __init__(self, ray: Any) -> None:
        self.caught: list[int] = []
        self._ray = ray
        self._main = threading.current_thread() is threading.main_thread()

    def _record(self, signum: int, frame: object) -> None:
        self.caught.append(signum)

    def __enter__(self) -> _QuietInit:
        if self._main:
            self._before = {s: signal.signal(s, self._record) for s in _PUT_OFF}
            utils = getattr(getattr(self._ray, "_private", None), "utils", None)
            self._utils = utils if hasattr(utils, "set_sigterm_handler") else None
            if self._utils is not None:  # ray.init calls it in the main thread
                self._set_sigterm = self._utils.set_sigterm_handler
                self._utils.set_sigterm_handler = lambda handler: None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._main:
            if self._utils is not None:
                self._utils.set_sigterm_handler = self._set_sigterm
            for s, handler in self._before.items():
                signal.signal(s, handler)

    def deliver(self) -> None:
        """Act on a signal recorded during init as the handler before init would have: a
        Python handler is called (KeyboardInterrupt, `cli.stopping.Terminated`); SIGTERM
        without one exits 143; an ignored signal stays ignored."""
        for s in _PUT_OFF:
            if s not in self.caught:
                continue
            handler = self._before.get(s)
            if callable(handler):
                handler(s, None)
            elif s == signal.SIGTERM and handler != signal.SIG_IGN:
                raise SystemExit(128 + signal.SIGTERM)
            elif s == signal.SIGINT and handler != signal.SIG_IGN:
                raise KeyboardInterrupt


#: The signals `_QuietInit` puts off, SIGTERM first (it wins over a SIGINT).
_PUT_OFF = (signal.SIGTERM, signal.SIGINT)


def _run_with(fn: Callable[[ChunkTask], PathSummaries], task: ChunkTask, source: Any
              ) -> PathSummaries:
    """`fn` of a chunk whose source was put in the object store apart from it."""
    return fn(replace(task, source=source))


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    """`fn(item)` (a task: `fn` is pickled with it, so any picklable callable works)."""
    return fn(item)


def ray_map(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """`map(fn, items)` as Ray tasks (Ray initialised): results in item order, read as the
    earliest pending item finishes, with at most `IN_FLIGHT_PER_CPU` tasks per cluster CPU
    submitted ahead. `ChunkTask` items have their source put in the object store once per
    distinct source. Closing the iterator early (an error, Ctrl-C) cancels what is pending.

    Raises:
        ConfigError: Ray is not installed.
        ray.exceptions.RayTaskError: a task raised (it wraps the task's exception).
    """
    ray = require_ray()
    items = list(items)
    chunks = all(isinstance(t, ChunkTask) for t in items)
    remote = ray.remote(_run_with if chunks else _apply)
    sources: dict[int, Any] = {}

    def submit(item: Any) -> Any:
        if not chunks:
            return remote.remote(fn, item)
        ref = sources.get(id(item.source))
        if ref is None:
            ref = sources[id(item.source)] = ray.put(item.source)
        return remote.remote(fn, replace(item, source=None), ref)

    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    window = IN_FLIGHT_PER_CPU * cpus
    pending: deque[Any] = deque()
    todo = iter(items)
    try:
        for item in todo:
            pending.append(submit(item))
            if len(pending) >= window:
                break
        while pending:
            result = ray.get(pending.popleft())
            for item in todo:  # one in, one out
                pending.append(submit(item))
                break
            yield result
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


@contextmanager
def ray_executor(address: str | None = None, *, num_cpus: int | None = None,
                 object_store_memory: int | None = None) -> Iterator[Executor]:
    """A map-like executor (`rugslab.strategy.ensemble.Executor`) running chunks as Ray
    tasks, for the block (`ray_session` starts and stops Ray as it says).

    Raises:
        ConfigError: as `ray_session`.
    """
    with ray_session(address, num_cpus=num_cpus, object_store_memory=object_store_memory):
        yield ray_map
