"""Which action a message asks for: the nearest in meaning of its descriptions and examples.

Each action is described by its name, description and example requests (an operator's and,
once trained, the model's); the bot's other training messages (greetings, help, off-topic,
the designer's intents) are counter-examples. Every text is a sentence embedding (see
``_encoder``); a message goes to the action of its most similar text, with that cosine as the
score, and the closest counter-example's cosine comes along, so a message nearer to "hello"
than to any action is not routed. "a voucher" is near "a gift card" without sharing a word.

An action's questions are described too (what each of its parameters is: "the gift card
number"), apart from its requests: while a question is open, the action server weighs how like
the question's answers a message is against how like another action's requests ("the number on
the back is 9001 2233 4455" is an answer to the gift card's question, however near "order
number" it is).

Embeddings are kept per text in an :class:`Embeddings` cache: a changed action costs the
forward passes of its own new texts only, and the counter-examples are embedded once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embeddings", "Match", "Matcher", "Vectors", "normalised"]

#: Rows of floats: texts' embeddings, or their cosines.
Vectors = npt.NDArray[np.float32]

#: Longest text matched; a request is a sentence or two.
MAX_TEXT = 1000
_DIGITS = re.compile(r"\d+")


def normalised(text: str) -> str:
    """Lower case, one space, names' underscores as spaces, every number the same: "order 4521" is
    "order 7788" to the router (and one cached embedding)."""
    return " ".join(_DIGITS.sub("0", text[:MAX_TEXT].lower().replace("_", " ")).split())


class _Encoder(Protocol):
    dimension: int

    def encode(self, texts: Sequence[str], *, urgent: bool = False) -> Vectors: ...


class Embeddings:
    """The encoder, and a cache of the embeddings of every text the current table has. Only
    the poller's thread builds tables; messages are embedded on Rasa's, ahead of a table's
    texts (see :meth:`Encoder.encode`)."""

    def __init__(self, encoder: _Encoder) -> None:
        self._encoder = encoder
        self._cache: dict[str, Vectors] = {}

    @property
    def dimension(self) -> int:
        return self._encoder.dimension

    def embed(self, text: str) -> Vectors:
        """A message's embedding, not cached (messages do not repeat as texts do)."""
        row: Vectors = self._encoder.encode([text], urgent=True)[0]
        return row

    def of(self, texts: Sequence[str]) -> Vectors:
        """The rows of ``texts`` (normalised already), computing only the ones not cached."""
        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._encoder.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts])

    def keep_only(self, texts: Iterable[str]) -> None:
        """Forget the texts no table has any more (an action edited or deleted)."""
        wanted = set(texts)
        for text in [t for t in self._cache if t not in wanted]:
            del self._cache[text]

    def __len__(self) -> int:
        return len(self._cache)


@dataclass(frozen=True)
class Match:
    """The action a message is most like, how much (cosine, -1 to 1), and how much it is like
    the closest message that asks for no action; ``scores`` has every action's, ``answers``
    how like an answer to each action's questions it is (the action server weighs both when a
    question is open: is this another action, or the answer?)."""

    action: str
    score: float
    negative: float
    scores: dict[str, float] = field(default_factory=dict)
    answers: dict[str, float] = field(default_factory=dict)


class Matcher:
    """Built once per routing table; a match is one forward pass and two dot products."""

    def __init__(
        self,
        documents: dict[str, list[str]],
        negatives: list[str],
        embeddings: Embeddings,
        *,
        questions: dict[str, list[str]] | None = None,
    ) -> None:
        texts, labels = _labelled(documents)
        asked, askers = _labelled(questions or {})
        negative_texts = list(dict.fromkeys(n for n in map(normalised, negatives) if n))
        self.texts = [*texts, *asked, *negative_texts]
        self._embeddings = embeddings
        self._actions = labels
        self._rows = _rows(labels)
        self._question_rows = _rows(askers)
        self._documents = embeddings.of(texts)
        self._questions = embeddings.of(asked)
        self._negatives = embeddings.of(negative_texts)

    def match(self, text: str) -> Match | None:
        """The action ``text`` is most like, or None when there is no action or no text."""
        message = normalised(text)
        if not self._actions or not message:
            return None
        vector = self._embeddings.embed(message)
        scores = self._documents @ vector
        best = int(np.argmax(scores))
        negative = float((self._negatives @ vector).max()) if len(self._negatives) else -1.0
        by_action = {action: float(scores[rows].max()) for action, rows in self._rows.items()}
        answered = self._questions @ vector
        answers = {a: float(answered[rows].max()) for a, rows in self._question_rows.items()}
        return Match(self._actions[best], float(scores[best]), negative, by_action, answers)


def _labelled(described: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """Every action's texts, normalised, once each per action, and the action of each."""
    texts: list[str] = []
    labels: list[str] = []
    for action, own in sorted(described.items()):
        for text in dict.fromkeys(normalised(t) for t in own):
            if text:
                texts.append(text)
                labels.append(action)
    return texts, labels


def _rows(labels: list[str]) -> dict[str, npt.NDArray[np.intp]]:
    """Each action's rows among ``labels``."""
    return {
        action: np.array([i for i, label in enumerate(labels) if label == action])
        for action in dict.fromkeys(labels)
    }
