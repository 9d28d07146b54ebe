"""Which action a message asks for: its nearest example by character and word TF-IDF.

Each action is described by its name, description and example requests (an operator's and,
once trained, the model's); the bot's other training messages (greetings, help, off-topic,
the designer's intents) are counter-examples. A message goes to the action of its most similar
description or example, with that similarity as the score; the closest counter-example's
similarity comes along, so a message nearer to "hello" than to any action is not routed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

__all__ = ["Match", "Matcher", "normalised"]

#: Longest text matched; a request is a sentence or two.
MAX_TEXT = 1000
_DIGITS = re.compile(r"\d+")
_WORDS = r"(?u)\b\w+\b"
#: Words that say nothing about what is asked ("the", "do", "please"), left to the character
#: n-grams; question words and little ones that change a request ("where", "not") stay. Chosen
#: on the routing set by ``python -m bench routing`` (more right, no more unrelated routed).
_STOP_WORDS = sorted(
    ENGLISH_STOP_WORDS
    - {"where", "when", "show", "find", "not", "no", "off", "up", "down", "back", "first", "last"}
    - {"top", "bottom", "call"}
)


def normalised(text: str) -> str:
    """Lower case, one space, every number the same: "order 4521" is like "order 7788"."""
    return " ".join(_DIGITS.sub("0", text[:MAX_TEXT].lower().replace("_", " ")).split())


@dataclass(frozen=True)
class Match:
    """The action a message is most like, how much (0-1), and how much it is like the closest
    message that asks for no action."""

    action: str
    score: float
    negative: float


class Matcher:
    """Built once per routing table (a few milliseconds); matches in well under one."""

    def __init__(self, documents: dict[str, list[str]], negatives: list[str]) -> None:
        texts: list[str] = []
        labels: list[str] = []
        for action, described in sorted(documents.items()):
            for document in dict.fromkeys(normalised(d) for d in described):
                if document:
                    texts.append(document)
                    labels.append(action)
        self._actions = labels
        self._count = len(labels)
        for negative in dict.fromkeys(normalised(n) for n in negatives):
            if negative:
                texts.append(negative)
        self._texts = len(texts)
        if not self._count:
            return
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self._word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            token_pattern=_WORDS,
            stop_words=_STOP_WORDS,
        )
        self._char_matrix = self._char.fit_transform(texts)
        self._word_matrix = self._word.fit_transform(texts)

    def match(self, text: str) -> Match | None:
        """The action ``text`` is most like, or None when there is no action or no text."""
        message = normalised(text)
        if not self._count or not message:
            return None
        similarity = 0.5 * (self._char_matrix @ self._char.transform([message]).T).toarray()
        similarity += 0.5 * (self._word_matrix @ self._word.transform([message]).T).toarray()
        scores = similarity.ravel()
        best = int(np.argmax(scores[: self._count]))
        negative = float(scores[self._count :].max()) if self._texts > self._count else 0.0
        return Match(str(self._actions[best]), float(scores[best]), negative)
