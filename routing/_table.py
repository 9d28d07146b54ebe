"""The tenant's routing table, kept fresh by polling the action server.

One thread per table polls ``GET /tenants/<tenant>/routing`` every ``interval`` seconds with
the last ``ETag``; an unchanged table costs the action server a bare 304. A changed one is
matched against freshly (the matcher is rebuilt off the request path, embedding only the
texts that are new) and swapped in whole, so a message is always routed against one
consistent table. When the action server cannot be reached the last table stays in use; the
failure is logged once, and its end too.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._matcher import Embeddings, Matcher

__all__ = ["Table", "TablePoller"]

logger = logging.getLogger(__name__)

#: Seconds one poll may take before it counts as failed.
POLL_TIMEOUT = 5.0


@dataclass(frozen=True)
class Table:
    """One version of the tenant's actions (name -> enabled) and their matcher."""

    version: int
    actions: dict[str, bool]
    matcher: Matcher


def build_table(
    document: dict[str, Any],
    trained: dict[str, list[str]],
    negatives: list[str],
    embeddings: Embeddings,
) -> Table:
    """The table for the action server's ``document``: each action described by its name,
    description and examples, plus the model's own examples of it, and by what its questions
    ask for (its parameters' descriptions: what an answer to it is like). Only texts new since
    the last table are embedded; the ones no action has any more are forgotten."""
    actions: dict[str, bool] = {}
    documents: dict[str, list[str]] = {}
    questions: dict[str, list[str]] = {}
    for entry in document.get("actions") or []:
        name = str(entry["name"])
        actions[name] = bool(entry.get("enabled", True))
        documents[name] = [
            name,
            str(entry.get("description") or ""),
            *(str(example) for example in entry.get("examples") or []),
            *trained.get(name, []),
        ]
        questions[name] = [str(question) for question in entry.get("questions") or []]
    matcher = Matcher(documents, negatives, embeddings, questions=questions)
    embeddings.keep_only(matcher.texts)
    return Table(int(document.get("version") or 0), actions, matcher)


class TablePoller:
    """Polls ``url`` with ``token`` and keeps the current :class:`Table` (None until the first
    answer)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        interval: float,
        build: Callable[[dict[str, Any]], Table],
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the routing table's URL must be http(s): {url!r}")
        self.url = url
        self._token = token
        self._interval = interval
        self._build = build
        self._etag: str | None = None
        self._failing: str | None = None
        self._stop = threading.Event()
        self.current: Table | None = None
        self._thread = threading.Thread(target=self._run, name="webhook-routing", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def poll(self) -> None:
        """One poll: fetch the table if it changed."""
        request = urllib.request.Request(self.url)  # noqa: S310 - http(s), checked above
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        if self._etag is not None and self.current is not None:
            request.add_header("If-None-Match", self._etag)
        try:
            with urllib.request.urlopen(request, timeout=POLL_TIMEOUT) as response:  # noqa: S310
                document = json.loads(response.read())
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                self._recovered()
                return
            self._failed(f"HTTP {exc.code}")
            return
        except (OSError, ValueError) as exc:
            self._failed(type(exc).__name__)
            return
        self.current = self._build(document)
        self._etag = etag
        self._recovered()
        logger.info(
            "routing table version %s: %s action(s)",
            self.current.version,
            len(self.current.actions),
        )

    def _failed(self, why: str) -> None:
        if self._failing != why:  # once per kind of failure, not twice a second
            logger.warning(
                "cannot fetch the routing table from %s (%s); routing with %s",
                self.url.split("?")[0],
                why,
                "the last table" if self.current is not None else "the trained model only",
            )
        self._failing = why

    def _recovered(self) -> None:
        if self._failing is not None:
            logger.info("routing table reachable again at %s", self.url.split("?")[0])
        self._failing = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception as exc:  # a table that cannot be built: keep the last one
                self._failed(type(exc).__name__)
            self._stop.wait(self._interval)
