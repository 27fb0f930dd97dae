"""`ray_engine._QuietInit` without Ray: signals that come during `ray.init` are recorded and
acted on after it, as the handlers before init would have; `ray.init`'s own SIGTERM handler is
kept out and put back. (The real thing, with Ray: tests/faults/test_backtest_signals.py.)"""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest

from rugslab.cli import _raised_by
from rugslab.cli.stopping import Terminated, sigterm_raises
from rugslab.strategy.ray_engine import _QuietInit


def _fake_ray() -> SimpleNamespace:
    def set_sigterm_handler(handler: object) -> None:
        signal.signal(signal.SIGTERM, handler)  # what Ray's does

    return SimpleNamespace(_private=SimpleNamespace(
        utils=SimpleNamespace(set_sigterm_handler=set_sigterm_handler)))


def test_a_sigint_during_init_is_raised_after_it() -> None:
    ray = _fake_ray()
    quiet = _QuietInit(ray)
    with quiet:
        os.kill(os.getpid(), signal.SIGINT)  # handled at once: recorded, not raised
        ray._private.utils.set_sigterm_handler(lambda n, f: None)  # kept out
    assert quiet.caught == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        quiet.deliver()


def test_a_sigterm_during_init_calls_the_handler_before_init() -> None:
    ray = _fake_ray()
    original = ray._private.utils.set_sigterm_handler
    with sigterm_raises():
        quiet = _QuietInit(ray)
        with quiet:
            ray._private.utils.set_sigterm_handler(lambda n, f: None)  # ray.init's: kept out
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
        assert ray._private.utils.set_sigterm_handler is original  # put back
        assert quiet.caught == [signal.SIGTERM, signal.SIGINT]
        with pytest.raises(Terminated):  # SIGTERM wins
            quiet.deliver()


def test_without_a_python_sigterm_handler_a_sigterm_during_init_exits_143() -> None:
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        quiet = _QuietInit(_fake_ray())
        with quiet:
            os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(SystemExit) as e:
            quiet.deliver()
        assert e.value.code == 143
    finally:
        signal.signal(signal.SIGTERM, before)


def test_nothing_caught_nothing_delivered() -> None:
    quiet = _QuietInit(_fake_ray())
    with quiet:
        pass
    quiet.deliver()


def test_terminated_is_found_inside_the_exception_ray_wraps_it_in() -> None:
    try:
        try:
            raise Terminated("SIGTERM")
        except Terminated as t:
            raise SystemError("returned a result with an exception set") from t
    except SystemError as e:
        assert _raised_by(e, Terminated)
        assert not _raised_by(e, KeyboardInterrupt)
    assert not _raised_by(ValueError("x"), Terminated)
