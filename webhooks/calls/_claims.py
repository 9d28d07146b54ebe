"""Claiming a conversation's (or an MCP session's) webhook calls without ever waiting on the
event loop.

A claim is one short upsert in the store (``ConversationLimits``), but it may wait on a
database lock or the network, so a server's loop must not make it itself: see
:class:`ClaimWorker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .._exceptions import BudgetExhausted, ConversationLimitReached
from ..definitions._budgets import Budget
from ._inplace import InPlaceClaims
from ._limits import ConversationLimits

__all__ = ["CLAIM_TIMEOUT", "ClaimWorker"]

logger = logging.getLogger("webhooks.claims")


#: Seconds a claim may wait on the database before the call is answered as unavailable. On
#: the thread, time in its queue while the database answers the claims ahead does not count.
CLAIM_TIMEOUT = 10.0


# tenant, conversation, budget, the loop and future of the request, and its timeout's timer.
_Claim = tuple[
    str, str, Budget | None, asyncio.AbstractEventLoop, "asyncio.Future[None]", asyncio.TimerHandle
]
_Outcome = tuple["asyncio.Future[None]", BaseException | None, asyncio.TimerHandle]
_T = TypeVar("_T")


def _settle(outcomes: list[_Outcome]) -> None:
    for future, error, timer in outcomes:
        timer.cancel()
        if future.done():  # the request was cancelled meanwhile; the call stays counted
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(None)


def _end_waits(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # not expired meanwhile
            future.set_result(None)


def _on_their_loops(
    items: list[tuple[asyncio.AbstractEventLoop, _T]], handle: Callable[[list[_T]], None]
) -> None:
    """From the claims thread: ``handle`` each loop's items on that loop, one wake-up each."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_T]] = {}
    for loop, item in items:
        by_loop.setdefault(loop, []).append(item)
    for loop, grouped in by_loop.items():
        # A closed loop raises RuntimeError: nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(handle, grouped)


def _expire(future: asyncio.Future[None]) -> None:
    # Answered as unavailable; a claim already handed to the thread may still be counted.
    if not future.done():
        future.set_exception(TimeoutError("the conversation's claim took too long"))


class ClaimWorker:
    """Claims conversation calls without ever waiting on the event loop.

    On a SQLite file a claim is first tried in place with a statement that never waits
    (:class:`InPlaceClaims`): far cheaper than a hand-over to a thread. When that
    would wait (another writer holds the lock), and always on PostgreSQL, the claim goes to one
    long-lived thread fed by a queue, which settles the claims queued meanwhile with a single
    wake-up of each loop and also runs SQLite's checkpoint after enough claims in place. Either
    way the count is the same upsert in the store. Why each choice, with the figures:
    ``bench/README.md``.
    """

    def __init__(self, limits: ConversationLimits, *, timeout: float = CLAIM_TIMEOUT) -> None:
        self.limits = limits
        #: The claims that never wait, on a SQLite file; None elsewhere.
        self.in_place = InPlaceClaims(limits) if InPlaceClaims.possible(limits) else None
        self.timeout = timeout
        self._queue: queue.SimpleQueue[list[_Claim]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._checkpointing = False
        # When the database last answered a claim on the thread (time.monotonic()).
        self._answered = 0.0
        # Claims waiting for the checkpoint to end: the loop and future of each.
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    async def claim(self, tenant: str, conversation: str, *, budget: Budget | None = None) -> None:
        """Count one call of ``conversation`` (within ``budget``, if given) without blocking
        the loop.

        Raises ``ConversationLimitReached`` at the limit, ``BudgetExhausted`` when the budget
        is spent, ``TimeoutError`` after ``timeout`` seconds of waiting on the database, and
        whatever else the store raised.
        """
        if self._claimed_in_place(tenant, conversation, budget):
            return
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        deadline = loop.time() + self.timeout
        if await self._checkpoint_ended(loop, deadline) and self._claimed_in_place(
            tenant, conversation, budget
        ):
            return
        future: asyncio.Future[None] = loop.create_future()
        timer = loop.call_at(deadline, self._expire_unanswered, future, started)
        self._put([(tenant, conversation, budget, loop, future, timer)])
        await future

    def _expire_unanswered(self, future: asyncio.Future[None], started: float) -> None:
        """Time out a claim on the thread once the database has answered none of the thread's
        claims for ``timeout`` seconds since it was made; until then, look again.

        The thread claims one at a time, so under a burst a claim waits in its queue while the
        database answers the ones ahead: that is not waiting on the database.
        """
        if future.done():
            return
        left = max(started, self._answered) + self.timeout - time.monotonic()
        if left > 0:
            asyncio.get_running_loop().call_later(left, self._expire_unanswered, future, started)
        else:
            _expire(future)

    def open_in_place(self) -> None:
        """Open this thread's connection for claims in place, if any: call it from the event
        loop's thread before it serves (opening may wait)."""
        if self.in_place is not None:
            self.in_place.open()

    def close(self) -> None:
        """Close the connections of the claims in place (the engine's pool is the caller's)."""
        if self.in_place is not None:
            self.in_place.close()

    def _claimed_in_place(self, tenant: str, conversation: str, budget: Budget | None) -> bool:
        in_place = self.in_place
        if in_place is None:
            return False
        try:
            claimed = in_place.claim(tenant, conversation, budget=budget)
        except (ConversationLimitReached, BudgetExhausted):
            raise
        except Exception:  # nothing counted: the thread claims it on its own, and reports
            return False
        if claimed and in_place.checkpoint_due and not self._checkpointing:
            self._checkpointing = True
            try:
                self._put([])  # an empty batch: the thread wakes up and checkpoints
            except Exception as exc:  # the call is counted; the next one tries again
                self._checkpointing = False
                logger.warning("cannot start the checkpoint (%s)", type(exc).__name__)
        return claimed

    async def _checkpoint_ended(self, loop: asyncio.AbstractEventLoop, deadline: float) -> bool:
        """Wait until our own checkpoint ends, if one is under way; whether one was.

        Its RESTART holds the writers back, so it most likely refused the claim in place; sent
        to the thread instead, such claims set off a cascade of hand-overs (bench/README.md).
        """
        with self._lock:
            if not self._checkpointing:
                return False
            ended: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, ended))
        timer = loop.call_at(deadline, _expire, ended)
        try:
            await ended
        finally:
            timer.cancel()
        return True

    def _put(self, batch: list[_Claim]) -> None:
        if self._thread is None:
            self._start()
        self._queue.put(batch)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # A daemon: it holds no state worth finishing, and must not keep a stopping
                # process alive.
                self._thread = threading.Thread(
                    target=self._serve, name="conversation-claims", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        while True:
            batch = self._queue.get()
            while True:
                try:
                    batch += self._queue.get_nowait()
                except queue.Empty:
                    break
            outcomes: list[tuple[asyncio.AbstractEventLoop, _Outcome]] = []
            for tenant, conversation, budget, loop, future, timer in batch:
                error: BaseException | None = None
                try:
                    self.limits.claim(tenant, conversation, budget=budget)
                except Exception as exc:  # handed to the awaiting request, raised there
                    error = exc
                self._answered = time.monotonic()
                outcomes.append((loop, (future, error, timer)))
            _on_their_loops(outcomes, _settle)
            if self._checkpointing and self.in_place is not None:
                try:
                    self.in_place.checkpoint()
                except Exception as exc:  # the log grows meanwhile; tried again later
                    logger.warning("checkpoint failed (%s)", type(exc).__name__)
                finally:
                    with self._lock:
                        self._checkpointing = False
                        waiting, self._waiting = self._waiting, []
                    _on_their_loops(waiting, _end_waits)
