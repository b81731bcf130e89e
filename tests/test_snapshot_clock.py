"""The engine's clock: one row dated far in the future cannot move "now" (issue 10, section 5)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from discovery.snapshot import load_snapshot
from discovery.snapshot.load import FUTURE_SLACK, _now
from discovery.store import Store


def test_now_is_the_latest_time_within_a_day_of_the_wall_clock() -> None:
    wall = int(time.time())
    times = [np.array([wall - 100, wall - 5]), np.array([wall - 50])]
    assert _now(None, times) == wall - 5
    assert _now(1234, times) == 1234  # a world or an evaluation sets its own clock
    soon = wall + FUTURE_SLACK // 2  # a little ahead (clock skew) still counts
    assert _now(None, [np.array([wall - 5, soon])]) == soon


def test_the_wall_clock_is_the_time_itself() -> None:
    wall = int(time.time())
    assert abs(_now(None, [np.array([wall - 86_400 * 30])], wall_clock=True) - wall) < 5


def test_an_outlier_in_9999_is_ignored_with_a_warning() -> None:
    wall = int(time.time())
    year_9999 = 253_402_214_400
    with pytest.warns(UserWarning, match="1 rows are dated more than a day in the future"):
        assert _now(None, [np.array([wall - 60, year_9999]), np.array([wall - 90])]) == wall - 60


def test_only_outliers_fall_back_to_the_wall_clock() -> None:
    with pytest.warns(UserWarning):
        now = _now(None, [np.array([253_402_214_400])])
    assert abs(now - time.time()) < 5


def test_a_live_store_keeps_its_clock_when_one_post_is_from_the_far_future(tmp_path) -> None:
    wall = int(time.time())
    with Store.open(tmp_path / "live.db") as s:
        s.set_clock("fixed", at=wall - 3600)  # a replay at its own now: the data cannot move it
        with s.transaction():
            s.add_accounts([(1, "ana", "", "person", wall - 1000)])
            s.add_posts(
                [
                    (1, 1, wall - 3600, "today #x", "photo", None, 0, 0),
                    (2, 1, 253_402_214_400, "from 9999 #x", "photo", None, 0, 0),
                ]
            )
        assert load_snapshot(s, cache=False).now == wall - 3600
        s.set_clock("wall")  # live: the wall clock, and a warning about the outlier
        with pytest.warns(UserWarning, match="discovery doctor"):
            snap = load_snapshot(s, cache=False)
    assert abs(snap.now - time.time()) < 5
