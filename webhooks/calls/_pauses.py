"""Pausing the calls of an action whose service keeps failing (a circuit breaker).

When :data:`FAILURES_TO_PAUSE` calls of one action fail in a row (a timeout, a 5xx answer, a
connection or TLS failure, an answer that is not HTTP), the last of them less than
:data:`FAILURE_WINDOW` seconds after the first, its calls stop for a pause: users hear the
unavailable sentence at once instead of waiting for the timeout, and the service is left
alone to recover. When the pause is over, one call goes through as a probe while the others
are still answered at once; if it succeeds the action is served again, if it fails the next
pause is twice as long (:data:`FIRST_PAUSE` seconds, doubling up to :data:`MAX_PAUSE`). Any
answer under 500 (a 4xx too: the service is up) resets the count and ends a pause; a call
that never reached the service (refused by the URL rules, over a limit) changes nothing.

Per process, not shared through the store: deciding costs a dictionary lookup, with no
database round trip on every call and nothing to lose when the store is away; each replica
learns within :data:`FAILURES_TO_PAUSE` failures of its own, so N replicas send at most N
times as many failing calls and N probes per pause. What a replica decided is written to the
store when it changes (a pause begins or ends), for the operators' console only.

A changed definition (a new revision: another URL, another timeout) starts afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .._categories import Category

__all__ = [
    "COUNTED",
    "FAILURES_TO_PAUSE",
    "FAILURE_WINDOW",
    "FIRST_PAUSE",
    "MAX_PAUSE",
    "Pause",
    "Pauses",
]

#: Failures in a row that pause an action's calls.
FAILURES_TO_PAUSE = 5
#: Seconds within which those failures must fall (from the first to the last).
FAILURE_WINDOW = 30.0
#: The first pause, in seconds; each failed probe doubles it, up to :data:`MAX_PAUSE`.
FIRST_PAUSE = 5.0
MAX_PAUSE = 60.0
#: The failures that say the service itself is in trouble.
COUNTED = frozenset({Category.TIMEOUT, Category.UNAVAILABLE, Category.INVALID_RESPONSE})
#: The outcomes of calls that never reached the service.
_NO_NEWS = frozenset({Category.REFUSED, Category.RATE_LIMITED})


@dataclass(frozen=True, slots=True)
class Pause:
    """A pause of an action's calls: ``seconds`` long, ending at ``until`` (the clock's
    time), after ``failures`` failures in a row, the last of category ``reason``; ``wall_until``
    is the same end as a Unix time, for the console."""

    seconds: float
    until: float
    wall_until: float
    failures: int
    reason: str


class _State:
    __slots__ = ("failures", "first_failure", "pause", "probe", "revision", "tickets")

    def __init__(self, revision: int) -> None:
        self.revision = revision
        self.failures = 0
        self.first_failure = 0.0
        self.pause: Pause | None = None
        #: The ticket of the probe in flight (0: none), and the last ticket given.
        self.probe = 0
        self.tickets = 0


class Pauses:
    """The pauses of one process's calls, per action (a key such as ``(tenant, name)``).

    :meth:`admit` before a call says whether it may go out, and as what; :meth:`record`
    after it, with its outcome and what :meth:`admit` gave, says whether a pause began or
    ended. Options (keyword-only) are the thresholds above, and ``clock`` (monotonic seconds)
    for tests. ``on_discard``, when set, hears of a pause dropped because its action's
    definition changed. Not thread-safe: one event loop's.
    """

    def __init__(
        self,
        *,
        failures: int = FAILURES_TO_PAUSE,
        window: float = FAILURE_WINDOW,
        first_pause: float = FIRST_PAUSE,
        max_pause: float = MAX_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or window <= 0 or first_pause <= 0 or max_pause < first_pause:
            raise ValueError("invalid pause thresholds")
        self._failures = failures
        self._window = window
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._clock = clock
        self._states: dict[tuple[str, str], _State] = {}
        self.on_discard: Callable[[tuple[str, str]], None] | None = None

    def _state(self, key: tuple[str, str], revision: int) -> _State:
        state = self._states.get(key)
        if state is None or state.revision != revision:
            state = self._states[key] = _State(revision)
        return state

    def admit(self, key: tuple[str, str], revision: int) -> Pause | int:
        """Whether a call of ``key`` (at definition ``revision``) may go out now: ``0`` as
        any call, a positive ticket as the probe after a pause (until its outcome is recorded
        with that ticket, the others are held back), or else the :class:`Pause` that holds it
        back."""
        state = self._states.get(key)
        if state is None or state.pause is None:
            return 0
        if state.revision != revision:  # the definition changed: start afresh
            del self._states[key]
            if self.on_discard is not None:
                self.on_discard(key)
            return 0
        if state.probe or self._clock() < state.pause.until:
            return state.pause
        state.tickets += 1
        state.probe = state.tickets
        return state.probe

    def record(
        self, key: tuple[str, str], revision: int, outcome: str, ticket: int = 0
    ) -> Pause | bool | None:
        """Record the ``outcome`` (``ok`` or a failure category) of a call :meth:`admit` let
        go with ``ticket``: the new :class:`Pause` if one began, ``True`` if a pause ended,
        else ``None``. Only the probe's own failure lengthens a pause: a call from before
        it that fails late is already counted."""
        if outcome in _NO_NEWS:
            self.release(key, ticket)
            return None
        if outcome not in COUNTED:
            # The service answered: it is up.
            state = self._states.pop(key, None)
            ended = state is not None and state.pause is not None and state.revision == revision
            return True if ended else None
        state = self._state(key, revision)
        now = self._clock()
        if state.pause is not None:
            if not ticket or ticket != state.probe:
                return None
            # The probe failed: a longer pause.
            state.probe = 0
            seconds = min(state.pause.seconds * 2, self._max_pause)
            state.failures += 1
            state.pause = self._pause(seconds, now, state.failures, outcome)
            return state.pause
        if state.failures == 0 or now - state.first_failure > self._window:
            state.failures, state.first_failure = 0, now
        state.failures += 1
        if state.failures < self._failures:
            return None
        state.pause = self._pause(self._first_pause, now, state.failures, outcome)
        return state.pause

    def release(self, key: tuple[str, str], ticket: int) -> None:
        """The call admitted with ``ticket`` brought no news of the service (cancelled, or
        never reached it): if it was the probe, the next call probes."""
        state = self._states.get(key)
        if state is not None and ticket and state.probe == ticket:
            state.probe = 0

    def paused(self) -> dict[tuple[str, str], Pause]:
        """The actions paused now (a probe in flight included)."""
        now = self._clock()
        return {
            key: state.pause
            for key, state in self._states.items()
            if state.pause is not None and (state.probe or now < state.pause.until)
        }

    def _pause(self, seconds: float, now: float, failures: int, reason: str) -> Pause:
        return Pause(
            seconds=seconds,
            until=now + seconds,
            wall_until=time.time() + seconds,
            failures=failures,
            reason=str(reason),
        )
