"""The pause of an action whose service keeps failing, step by step on a clock the test
moves (the calls themselves are in test_calls.py)."""

from __future__ import annotations

import pytest

from webhooks import FAILURES_TO_PAUSE, FIRST_PAUSE, Category
from webhooks.calls._pauses import FAILURE_WINDOW, MAX_PAUSE, Pause, Pauses

KEY = ("acme", "order_status")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pauses(clock: Clock) -> Pauses:
    return Pauses(clock=clock)


def fail(pauses: Pauses, times: int, category: str = Category.TIMEOUT) -> list[object]:
    return [pauses.record(KEY, 1, category) for _ in range(times)]


def test_the_thresholds_are_the_documented_ones() -> None:
    assert (FAILURES_TO_PAUSE, FAILURE_WINDOW, FIRST_PAUSE, MAX_PAUSE) == (5, 30.0, 5.0, 60.0)


def test_five_failures_in_a_row_pause_the_calls(pauses: Pauses, clock: Clock) -> None:
    changes = fail(pauses, FAILURES_TO_PAUSE - 1)
    assert changes == [None] * 4
    assert pauses.admit(KEY, 1) == 0
    pause = pauses.record(KEY, 1, Category.UNAVAILABLE)
    assert isinstance(pause, Pause)
    assert (pause.seconds, pause.failures, pause.reason) == (FIRST_PAUSE, 5, "unavailable")
    assert pauses.admit(KEY, 1) is pause
    clock.now += FIRST_PAUSE - 0.01
    assert pauses.admit(KEY, 1) is pause
    assert pauses.paused() == {KEY: pause}


def test_after_the_pause_one_call_probes_and_the_others_wait(pauses: Pauses, clock: Clock) -> None:
    fail(pauses, FAILURES_TO_PAUSE)
    clock.now += FIRST_PAUSE
    probe = pauses.admit(KEY, 1)
    assert probe == 1  # the probe's ticket
    assert isinstance(pauses.admit(KEY, 1), Pause)  # held back while it runs
    assert pauses.record(KEY, 1, "ok", probe) is True  # served again
    assert pauses.admit(KEY, 1) == 0
    assert pauses.paused() == {}


def test_a_failed_probe_doubles_the_pause_up_to_the_most(pauses: Pauses, clock: Clock) -> None:
    fail(pauses, FAILURES_TO_PAUSE)
    lengths = []
    for _ in range(6):
        clock.now += MAX_PAUSE
        probe = pauses.admit(KEY, 1)
        assert isinstance(probe, int)
        assert probe > 0
        pause = pauses.record(KEY, 1, Category.TIMEOUT, probe)
        assert isinstance(pause, Pause)
        lengths.append(pause.seconds)
    assert lengths == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]


def test_failures_spread_over_more_than_the_window_do_not_pause(
    pauses: Pauses, clock: Clock
) -> None:
    for _ in range(3 * FAILURES_TO_PAUSE):
        assert pauses.record(KEY, 1, Category.TIMEOUT) is None
        clock.now += FAILURE_WINDOW / (FAILURES_TO_PAUSE - 1) + 0.1
    assert pauses.admit(KEY, 1) == 0


@pytest.mark.parametrize("answer", ["ok", Category.NOT_FOUND, Category.REJECTED])
def test_any_answer_under_500_starts_the_count_again(pauses: Pauses, answer: str) -> None:
    fail(pauses, FAILURES_TO_PAUSE - 1)
    assert pauses.record(KEY, 1, answer) is None
    assert fail(pauses, FAILURES_TO_PAUSE - 1) == [None] * 4
    assert pauses.admit(KEY, 1) == 0


@pytest.mark.parametrize("outcome", [Category.REFUSED, Category.RATE_LIMITED])
def test_a_call_that_never_reached_the_service_changes_nothing(
    pauses: Pauses, outcome: str
) -> None:
    fail(pauses, FAILURES_TO_PAUSE - 1)
    assert pauses.record(KEY, 1, outcome) is None
    assert isinstance(pauses.record(KEY, 1, Category.TIMEOUT), Pause)


def test_late_failures_of_calls_made_before_the_pause_do_not_lengthen_it(
    pauses: Pauses,
) -> None:
    (*_, pause) = fail(pauses, FAILURES_TO_PAUSE)
    assert fail(pauses, 3) == [None] * 3
    assert pauses.admit(KEY, 1) is pause


def test_a_changed_definition_starts_afresh(pauses: Pauses) -> None:
    fail(pauses, FAILURES_TO_PAUSE)
    assert isinstance(pauses.admit(KEY, 1), Pause)
    assert pauses.admit(KEY, 2) == 0  # a new revision: another URL, perhaps


def test_a_probe_that_ended_without_an_answer_lets_the_next_call_probe(
    pauses: Pauses, clock: Clock
) -> None:
    fail(pauses, FAILURES_TO_PAUSE)
    clock.now += FIRST_PAUSE
    probe = pauses.admit(KEY, 1)
    assert isinstance(probe, int)
    pauses.release(KEY, probe)  # cancelled: no news
    assert pauses.admit(KEY, 1) == probe + 1


@pytest.mark.parametrize("outcome", [Category.REFUSED, Category.RATE_LIMITED])
def test_a_probe_that_never_reached_the_service_lets_the_next_call_probe(
    pauses: Pauses, clock: Clock, outcome: str
) -> None:
    """Refused by the address rules during an outage, say: no news, not a stuck pause."""
    fail(pauses, FAILURES_TO_PAUSE)
    clock.now += FIRST_PAUSE
    probe = pauses.admit(KEY, 1)
    assert isinstance(probe, int)
    assert pauses.record(KEY, 1, outcome, probe) is None
    assert pauses.admit(KEY, 1) == probe + 1


def test_only_the_probe_can_lengthen_a_pause(pauses: Pauses, clock: Clock) -> None:
    """A slow call from before the pause that times out while the probe is in flight is
    not the probe's answer: the pause stays, and no second probe goes out."""
    fail(pauses, FAILURES_TO_PAUSE)
    clock.now += FIRST_PAUSE
    probe = pauses.admit(KEY, 1)
    assert isinstance(probe, int)
    assert pauses.record(KEY, 1, Category.TIMEOUT, 0) is None  # the slow one, late
    clock.now += MAX_PAUSE
    assert isinstance(pauses.admit(KEY, 1), Pause)  # still one probe at a time
    longer = pauses.record(KEY, 1, Category.TIMEOUT, probe)
    assert isinstance(longer, Pause)
    assert longer.seconds == 2 * FIRST_PAUSE


def test_a_pause_dropped_for_a_changed_definition_is_told(pauses: Pauses) -> None:
    told: list[tuple[str, str]] = []
    pauses.on_discard = told.append
    fail(pauses, FAILURES_TO_PAUSE)
    assert pauses.admit(KEY, 2) == 0
    assert told == [KEY]


def test_actions_are_paused_apart(pauses: Pauses) -> None:
    fail(pauses, FAILURES_TO_PAUSE)
    assert pauses.admit(("acme", "other"), 1) == 0
    assert pauses.admit(("globex", "order_status"), 1) == 0


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        Pauses(failures=0)
    with pytest.raises(ValueError, match="thresholds"):
        Pauses(first_pause=10, max_pause=5)
