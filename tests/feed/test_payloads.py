"""Payload field helpers: `req_num` judges a present value as `num` does (whose quick check for
the usual price must keep its full rule)."""

from __future__ import annotations

import math

import pytest

from rugslab.errors import FrameError
from rugslab.feed.payloads import num, req_num

VALUES = [1.5, 0.0, -0.0, 2.0**31, 1e308, -1.5, math.inf, -math.inf, math.nan, 3, -3, True,
          "1.5", None]


@pytest.mark.parametrize("nonneg", [True, False])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_req_num_judges_a_present_value_as_num_does(value: object, nonneg: bool) -> None:
    try:
        want: object = num(value, "ctx", "price", nonneg=nonneg)
    except FrameError as e:
        want = e.reason
    try:
        got: object = req_num({"price": value}, "price", "ctx", nonneg=nonneg)
    except FrameError as e:
        got = e.reason
    assert repr(got) == repr(want) and type(got) is type(want)


def test_req_num_names_a_missing_key() -> None:
    with pytest.raises(FrameError, match=r"ctx\.price missing: expected a number"):
        req_num({}, "price", "ctx")
