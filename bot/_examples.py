"""NLU starter examples per action, from its description and parameter names.

They are starters: enough for a freshly added action to be recognised at all, with entity
annotations so a value in the request fills the form. They are regenerated from the
definitions every time; designers put their real examples for intent ``webhook_X`` in their own
data files, which Rasa merges with these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from webhooks import STOP_INTENT, Webhook, intent_of

from ._documents import RASA_FORMAT, block
from ._project import DesignerDomain

__all__ = ["build_nlu", "starter_examples"]

#: Sample values per type (a parameter gets them in turn, so examples vary).
SAMPLES: dict[str, tuple[str, ...]] = {
    "integer": ("4521", "1203", "7788"),
    "number": ("12.5", "3", "99.90"),
    "boolean": ("yes", "no", "yes"),
    "string": ("Berlin", "Lisbon", "Paris"),
}
STOP_EXAMPLES = ("stop", "cancel", "never mind", "forget it", "stop asking", "cancel that")
_MAX_WORDS = 12
# Characters that Rasa's training-data markup gives a meaning to.
_MARKUP = re.compile(r"[\[\](){}\"]")


def _phrase(description: str) -> str:
    """The description's first clause, as words a user might type."""
    text = _MARKUP.sub(" ", description)
    text = re.split(r"[.;:!?\n]", text, maxsplit=1)[0]
    words = text.split()[:_MAX_WORDS]
    if words and not words[0][1:2].isupper():
        words[0] = words[0].lower()
    return " ".join(words)


def _words(name: str) -> str:
    return name.replace("_", " ")


#: "a category such as shoes or books" -> shoes, books: better samples than generic words.
_SUGGESTED = re.compile(
    r"(?:such as|e\.g\.|for example|like)\s+([\w-]+)(?:(?:,|\s+or|\s+and)\s+([\w-]+))?"
)


def _samples(parameter: Mapping[str, Any]) -> tuple[str, ...]:
    kind = str(parameter.get("type"))
    if kind == "string":
        found = _SUGGESTED.search(str(parameter.get("description", "")))
        if found:
            return tuple(word for word in found.groups() if word)
    return SAMPLES.get(kind, SAMPLES["string"])


def _entity(parameter: Mapping[str, Any], turn: int) -> str:
    samples = _samples(parameter)
    return f"[{samples[turn % len(samples)]}]({parameter['name']})"


def starter_examples(webhook: Webhook) -> list[str]:
    """A few distinct examples for intent ``webhook_X``, in a stable order."""
    phrase = _phrase(webhook.description) or _words(webhook.name)
    name = _words(webhook.name)
    parameters = list(webhook.parameters)
    examples = [phrase, name, f"I want to {phrase}" if not phrase.startswith("i ") else phrase]
    examples.append(f"can you help me with {name}?")
    for turn, parameter in enumerate(parameters):
        examples.append(f"{phrase} for {_words(parameter['name'])} {_entity(parameter, turn)}")
        examples.append(f"{name} {_entity(parameter, turn + 1)}")
    if len(parameters) > 1:
        values = ", ".join(
            f"{_words(p['name'])} {_entity(p, turn + 2)}" for turn, p in enumerate(parameters)
        )
        examples.append(f"{phrase} with {values}")
    return list(dict.fromkeys(examples))  # without repeats, in order


def build_nlu(webhooks: Sequence[Webhook], designer: DesignerDomain) -> dict[str, Any]:
    """The generated NLU document: starters per action (sorted by name), the stop intent."""
    ordered = sorted(webhooks, key=lambda webhook: webhook.name)
    nlu: list[dict[str, Any]] = []
    for webhook in ordered:
        lines = "".join(f"- {example}\n" for example in starter_examples(webhook))
        nlu.append({"intent": intent_of(webhook.name), "examples": block(lines)})
    if ordered and STOP_INTENT not in designer.intents:
        nlu.append(
            {"intent": STOP_INTENT, "examples": block("".join(f"- {e}\n" for e in STOP_EXAMPLES))}
        )
    numeric = sorted(
        {
            p["name"]
            for webhook in ordered
            for p in webhook.parameters
            if p.get("type") in {"integer", "number"}
        }
    )
    for name in numeric:
        # Helps the RegexFeaturizer spot "#4521" as a value of an integer parameter.
        nlu.append({"regex": name, "examples": block("- \\d+\n")})
    return {"version": RASA_FORMAT, "nlu": nlu}
