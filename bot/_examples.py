"""NLU examples per action: the operator's own, then starters from its description.

A model trained with them recognises the actions itself (the live router covers what it does not
know yet). The operator's examples are annotated where they name an allowed value; the starters,
made from the description and parameter names, carry sample values as entities so a value in
the request fills the form. They are regenerated from the definitions every time; designers
put more examples for intent ``webhook_X`` in their own data files, which Rasa merges.

A sample value stands for one parameter only: labelled as two entities (``Berlin`` as a city in
one action and as a category in another), it would teach the model to confuse them. So a
string parameter gets samples only from its own description ("such as shoes or books"), and
a value one parameter took is never given to another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from webhooks import HELP_INTENT, STOP_INTENT, TYPES, Parameter, Webhook, intent_of, summary

from ._documents import RASA_FORMAT, block
from ._project import DesignerDomain

__all__ = ["build_nlu", "examples_of", "starter_examples"]

#: Per parameter, how many samples it takes (a parameter gets them in turn, so examples vary).
_SAMPLES_EACH = 3
STOP_EXAMPLES = ("stop", "cancel", "never mind", "forget it", "stop asking", "cancel that")
HELP_EXAMPLES = (
    "help",
    "what can you do?",
    "what can I ask you?",
    "how can you help me?",
    "what are you able to do?",
    "what do you do?",
    "show me what you can do",
    "I need help",
    "what are my options?",
    "what kind of things do you know?",
)
# Characters that Rasa's training-data markup gives a meaning to.
_MARKUP = re.compile(r"[\[\](){}\"]")


def _phrase(description: str) -> str:
    """The description's first clause, as words a user might type."""
    words = summary(_MARKUP.sub(" ", description)).split()
    if words and not words[0][1:2].isupper():
        words[0] = words[0].lower()
    return " ".join(words)


def _words(name: str) -> str:
    return name.replace("_", " ")


#: "a category such as shoes or books" -> shoes, books: better samples than generic words.
_SUGGESTED = re.compile(
    r"(?:such as|e\.g\.|for example|like)\s+([\w-]+)(?:(?:,|\s+or|\s+and)\s+([\w-]+))?"
)


def _candidates(parameter: Parameter) -> tuple[str, ...]:
    kind = parameter.type
    if kind == "string":
        if parameter.values:  # the allowed values are the best samples there are
            return tuple(parameter.values)
        found = _SUGGESTED.search(parameter.description)
        return tuple(word for word in found.groups() if word) if found else ()
    known = TYPES.get(kind)
    return known.samples if known is not None else ()


class Samples:
    """Sample values by parameter name, each value given to one parameter name only.

    A parameter name is one slot and one entity in the domain, so the parameters of that
    name (in several actions) share their samples.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[str, ...]] = {}
        self._owner: dict[str, str] = {}

    def of(self, parameter: Parameter) -> tuple[str, ...]:
        name = parameter.name
        taken = self._by_name.get(name, ())
        for value in _candidates(parameter):
            if len(taken) >= _SAMPLES_EACH:
                break
            if self._owner.setdefault(value.lower(), name) == name and value not in taken:
                taken += (value,)
        self._by_name[name] = taken
        return taken


def starter_examples(webhook: Webhook, samples: Samples | None = None) -> list[str]:
    """A few distinct examples for intent ``webhook_X``, in a stable order."""
    samples = samples or Samples()
    phrase = _phrase(webhook.description) or _words(webhook.name)
    name = _words(webhook.name)
    parameters = list(webhook.parameters)
    examples = [phrase, name, f"I want to {phrase}" if not phrase.startswith("i ") else phrase]
    examples.append(f"can you help me with {name}?")

    def entity(parameter: Parameter, turn: int) -> str | None:
        values = samples.of(parameter)
        return f"[{values[turn % len(values)]}]({parameter.name})" if values else None

    for turn, parameter in enumerate(parameters):
        if (first := entity(parameter, turn)) is not None:
            examples.append(f"{phrase} for {_words(parameter.name)} {first}")
        if (second := entity(parameter, turn + 1)) is not None:
            examples.append(f"{name} {second}")
    filled = [(p, entity(p, turn + 2)) for turn, p in enumerate(parameters)]
    values = ", ".join(f"{_words(p.name)} {value}" for p, value in filled if value)
    if len(parameters) > 1 and values:
        examples.append(f"{phrase} with {values}")
    return list(dict.fromkeys(examples))  # without repeats, in order


def _annotated(example: str, webhook: Webhook) -> str:
    """The operator's example as training data: markup characters removed, and the first
    allowed value it names marked as the parameter's entity."""
    text = " ".join(_MARKUP.sub(" ", example).split())
    for parameter in webhook.parameters:
        for value in parameter.values or ():
            found = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, re.IGNORECASE)
            if found:
                start, end = found.span()
                return f"{text[:start]}[{text[start:end]}]({parameter.name}){text[end:]}"
    return text


def examples_of(webhook: Webhook, samples: Samples | None = None) -> list[str]:
    """The training examples of intent ``webhook_X``: the operator's, then the starters."""
    own = [_annotated(example, webhook) for example in webhook.examples]
    return list(dict.fromkeys([e for e in own if e] + starter_examples(webhook, samples)))


def build_nlu(webhooks: Sequence[Webhook], designer: DesignerDomain) -> dict[str, Any]:
    """The generated NLU document: each action's examples, the operator's then the starters
    (sorted by name), and the stop and help intents unless the designer has them."""
    ordered = sorted(webhooks, key=lambda webhook: webhook.name)
    nlu: list[dict[str, Any]] = []
    samples = Samples()
    for webhook in ordered:
        lines = "".join(f"- {example}\n" for example in examples_of(webhook, samples))
        nlu.append({"intent": intent_of(webhook.name), "examples": block(lines)})
    for intent, examples, wanted in (
        (STOP_INTENT, STOP_EXAMPLES, True),
        (HELP_INTENT, HELP_EXAMPLES, True),
    ):
        if wanted and intent not in designer.intents:
            nlu.append({"intent": intent, "examples": block("".join(f"- {e}\n" for e in examples))})
    numeric = sorted(
        {p.name for webhook in ordered for p in webhook.parameters if TYPES[p.type].numeric}
    )
    for name in numeric:
        # Helps the RegexFeaturizer spot "#4521" as a value of an integer parameter.
        nlu.append({"regex": name, "examples": block("- \\d+\n")})
    return {"version": RASA_FORMAT, "nlu": nlu}
