"""``LiveRouter``: the Rasa 3.6 NLU component routing requests into the generic dispatch.

After the intent classifiers (and the FallbackClassifier) it looks at each message: a request
for a webhook action becomes intent ``webhook`` with entity ``webhook_action`` naming it, which
the dispatch's rules and form take from there. See ``_decide`` for who wins between the trained
model and the live match. Every parse carries ``webhook_routing`` (what the model said, the
match, the decision) for the designer's eye (``/model/parse``) and the evaluation.

Configuration (``config.yml``), similarities being the cosines of sentence embeddings:
``threshold`` (how similar to an action's name, description or example a message must be to
be routed to it), ``margin`` (how much more similar to it than to any of the bot's other
training messages), ``trust_floor`` (how similar to some action a message the model calls a
webhook action's must be for the model to be believed), ``url`` of the routing table and
``poll_interval`` (seconds). The defaults were chosen on the development sets,
``tests/routing/set.yml`` and ``development.yml``.
The environment wins for what differs per deployment: ``WEBHOOKS_ROUTING_URL``, the token in
``WEBHOOKS_ROUTING_TOKEN`` (else ``ACTION_TOKEN``, the one Rasa's endpoints use), and
``WEBHOOKS_ROUTING_MODEL_DIR`` for the embedding model's files (see ``_encoder``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from . import _rasa_fixes
from ._decide import decide, trained_action
from ._encoder import shared_encoder
from ._matcher import Embeddings
from ._table import Table, TablePoller, build_table

__all__ = ["LiveRouter"]

logger = logging.getLogger(__name__)

# Every Rasa that runs our assistant loads this component: the place for what Rasa needs of us.
_rasa_fixes.apply()

WEBHOOK_INTENT = "webhook"
ACTION_ENTITY = "webhook_action"
FALLBACK_INTENT = "nlu_fallback"
_FILE = "live_router.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LiveRouter(GraphComponent):  # type: ignore[misc]  # Rasa ships no types
    """Routes messages to webhook actions, trained or saved since, through one dispatch."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "threshold": 0.4,
            "margin": 0.05,
            "trust_floor": 0.25,
            "url": "http://127.0.0.1:5055/tenants/demo/routing",
            "poll_interval": 0.5,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        trained: dict[str, list[str]] | None = None,
        negatives: list[str] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        #: The model's own examples per action (its intents webhook_X) and of everything else.
        self._trained = trained or {}
        self._negatives = negatives or []
        self._poller: TablePoller | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LiveRouter:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Keep the training messages: per trained action, and the rest as counter-examples."""
        trained: dict[str, list[str]] = {}
        negatives: list[str] = []
        for example in training_data.intent_examples:
            text = str(example.get("text") or "")
            action = trained_action(str(example.get("intent") or ""))
            if action is not None:
                trained.setdefault(action, []).append(text)
            elif text and not example.get("entities"):
                # A message carrying a value ("in Berlin", "4521") answers a question; as a
                # counter-example it would pull requests naming that value away from the action.
                negatives.append(text)
        with self._storage.write_to(self._resource) as directory:
            (directory / _FILE).write_text(
                json.dumps({"trained": trained, "negatives": negatives}), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LiveRouter:
        try:
            with model_storage.read_from(resource) as directory:
                saved = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError):
            logger.warning("the live router has no training data; routing on descriptions only")
            saved = {}
        router = cls(config, model_storage, resource, saved.get("trained"), saved.get("negatives"))
        # The model's files are checked here: a mismatch stops the model from loading at all.
        router._start(Embeddings(shared_encoder()))
        # The model's components are loaded in the pipeline's order, the classifiers before
        # this one: what they made stays out of the collector's way from now on.
        _rasa_fixes.freeze_loaded()
        return router

    def _start(self, embeddings: Embeddings) -> None:
        url = os.environ.get("WEBHOOKS_ROUTING_URL") or str(self._config["url"])
        token = os.environ.get("WEBHOOKS_ROUTING_TOKEN") or os.environ.get("ACTION_TOKEN", "")
        trained, negatives = self._trained, self._negatives

        def build(document: dict[str, Any]) -> Table:
            return build_table(document, trained, negatives, embeddings)

        poller = TablePoller(url, token, interval=float(self._config["poll_interval"]), build=build)
        poller.start()
        # A model replaced by another (PUT /model) stops polling when it is collected.
        weakref.finalize(self, poller.stop)
        self._poller = poller

    def process(self, messages: list[Message]) -> list[Message]:
        table = self._poller.current if self._poller is not None else None
        for message in messages:
            self._route(message, table)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def _route(self, message: Message, table: Table | None) -> None:
        text = str(message.get("text") or "")
        intent = message.get("intent") or {}
        name = str(intent.get("name") or "")
        started = time.perf_counter()
        try:
            match = table.matcher.match(text) if table is not None and text.strip() else None
        except Exception:  # never the message's end: the model decides alone
            logger.exception("the live router could not match a message; the model decides")
            match = None
        took = time.perf_counter() - started
        decision = decide(
            name,
            match,
            live=table.actions if table is not None else None,
            trained=self._trained,
            threshold=float(self._config["threshold"]),
            floor=float(self._config["trust_floor"]),
            margin=float(self._config["margin"]),
        )
        message.set(
            "webhook_routing",
            {
                "model_intent": name,
                "model_confidence": round(float(intent.get("confidence") or 0.0), 4),
                "match": None
                if match is None
                else {
                    "action": match.action,
                    "score": round(match.score, 4),
                    "negative": round(match.negative, 4),
                    "scores": {a: round(s, 4) for a, s in match.scores.items()},
                    "answers": {a: round(s, 4) for a, s in match.answers.items()},
                },
                "action": decision.action,
                "by": decision.by,
                "table_version": table.version if table is not None else None,
                "ms": round(took * 1000, 2),
            },
            add_to_output=True,
        )
        if decision.fallback:
            confidence = float(intent.get("confidence") or 0.0)
            message.set("intent", {"name": FALLBACK_INTENT, "confidence": confidence}, True)
            return
        if decision.action is None:
            return
        if decision.by == "router" and match is not None:
            confidence = match.score
        else:
            confidence = float(intent.get("confidence") or 1.0)
        message.set("intent", {"name": WEBHOOK_INTENT, "confidence": confidence}, True)
        ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != name]
        message.set(
            "intent_ranking", [{"name": WEBHOOK_INTENT, "confidence": confidence}, *ranking], True
        )
        entities = [e for e in message.get("entities") or [] if e.get("entity") != ACTION_ENTITY]
        entities.append(
            {
                "entity": ACTION_ENTITY,
                "value": decision.action,
                "start": 0,
                "end": len(text),
                "confidence_entity": confidence,
                "extractor": type(self).__name__,
            }
        )
        message.set("entities", entities, True)
