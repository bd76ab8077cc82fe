"""ReviewTimer with a fake clock: visible, attended time only."""

from __future__ import annotations

import pytest

from reviewdesk.core.review_timer import ReviewTimer


def test_counts_from_start() -> None:
    timer = ReviewTimer()
    assert timer.elapsed(5.0) == 0.0  # nothing shown yet
    timer.start(100.0)
    timer.activity(110.0)
    assert timer.elapsed(125.0) == pytest.approx(25.0)


def test_idle_gap_counts_only_the_grace() -> None:
    timer = ReviewTimer(idle_grace=60.0)
    timer.start(0.0)
    timer.activity(10.0)
    # 300 s without input: only 60 of them count.
    assert timer.elapsed(310.0) == pytest.approx(70.0)
    timer.activity(310.0)
    assert timer.elapsed(320.0) == pytest.approx(80.0)


def test_hidden_time_does_not_count() -> None:
    timer = ReviewTimer()
    timer.start(0.0)
    timer.activity(20.0)
    timer.hidden(30.0)
    assert timer.elapsed(500.0) == pytest.approx(30.0)
    timer.hidden(600.0)  # twice is once
    timer.shown_again(1000.0)
    timer.shown_again(1001.0)  # twice is once: the clock runs from the first
    assert timer.elapsed(1005.0) == pytest.approx(35.0)


def test_start_hidden_and_restart() -> None:
    timer = ReviewTimer()
    timer.start(0.0, visible=False)
    assert timer.elapsed(50.0) == 0.0
    timer.shown_again(50.0)
    assert timer.elapsed(52.0) == pytest.approx(2.0)
    timer.start(60.0)  # the next draft starts from zero
    assert timer.elapsed(61.0) == pytest.approx(1.0)
    timer.stop()
    assert timer.elapsed(100.0) == 0.0
    assert not timer.running


def test_clock_going_backwards_counts_nothing() -> None:
    timer = ReviewTimer()
    timer.start(10.0)
    timer.activity(5.0)
    assert timer.elapsed(10.0) == 0.0
    with pytest.raises(ValueError, match="idle_grace"):
        ReviewTimer(idle_grace=-1)
