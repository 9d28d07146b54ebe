"""Masking stored header values in what an endpoint echoes back: :func:`redact`.

An endpoint may echo its request changed: a token without its ``Bearer`` prefix, cut off,
upper-cased, encoded or spaced out. So a value of at least :data:`MIN_WINDOW` characters is
masked wherever any run of :data:`MIN_WINDOW` or more of its consecutive characters appears in
one of these forms (each :class:`_Form` below):

- as written, JSON-escaped (``\\"``, ``\\/``, ``\\uXXXX`` for what is not ASCII) or
  URL-encoded (``%2F``, ``+`` for a space);
- every character ``\\u``-escaped (``\\u0063\\u0061...``), 48 characters of it standing for 8;
- hex of its UTF-8 bytes, 16 hex digits standing for 8 bytes;
- base64 of its UTF-8 bytes, standard or URL-safe, with or without padding, at any of the three
  byte alignments (so the base64 of a cut value is found too), 12 characters (which always
  hold 8 whole bytes) standing for 8;
- spaced out: its characters each followed by one separator, any character
  (``c a n a r y``, ``c-a-n-a-r-y``); not with longer or uneven gaps.

ASCII letters match in either case (an echo in capitals, hex in capitals). Values shorter than
:data:`MIN_WINDOW` are masked whole, as written, JSON-escaped or URL-encoded; any value also
when the text ends with its first :data:`MIN_REDACTED` or more characters (a preview is a
prefix of the body). What no mask can catch: a value encrypted, hashed, compressed or encoded
in any other way (base32, rot13, reversed), or shown in pieces shorter than the window; nor a
run past a value's first :data:`MAX_WINDOWED` characters (or past :data:`MAX_WINDOWED_TOTAL`
of one action's values, shortest first), which bound the tables' memory.

The search is linear in the text: for each form class, every window of the forms is in a set,
and the text is sampled at a stride where a short anchor of the forms must appear inside any
matching window; only around an anchor are the windows looked up. Nothing builds a regular
expression from a secret.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "MIN_REDACTED", "MIN_WINDOW", "redact"]

#: What stands for a masked value (a URL's query value, a header value in a Test preview).
MASK = "***"
#: Values shorter than this are no secret worth the name: masking them would garble the text.
MIN_REDACTED = 4
#: A run of this many characters of a stored value is masked wherever it appears.
MIN_WINDOW = 8

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: Cached pattern sets (one per set of secrets: a tenant's webhook holds the same values). A
#: set of typical values (three of 40 characters) holds about 0.3 MB; one at the caps below,
#: about 6 MB.
_CACHED_SECRET_SETS = 64
#: Characters of one value whose runs are looked for, and of all the values of one set: the
#: tables grow with them (20 values of 4,096 characters took 209 MB and 3.9 s to build, on the
#: event loop of every server). Past them a value is masked whole, and its runs only within
#: the first characters kept.
MAX_WINDOWED = 1024
MAX_WINDOWED_TOTAL = 4096


def _fold(text: str) -> str:
    """``text`` with ASCII letters in lower case, the same length (so positions still hold)."""
    return text.lower() if text.isascii() else text.translate(_ASCII_FOLD)


@functools.cache
def _sampler(anchor: int, stride: int) -> re.Pattern[str]:
    """Finds the text's ``anchor``-long pieces at every ``stride``-th character from the
    first: a look-ahead takes the piece, then the stride is consumed (less at the end). A
    fixed expression, never built from a secret."""
    return re.compile(rf"(?=(.{{{anchor}}})).{{1,{stride}}}", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Form:
    """One class of forms: a match is a run of ``window`` characters of one of them.

    ``anchor`` characters inside every window are sampled every ``window - anchor + 1``
    characters of the text, so each matching window contains one sampled anchor. Only the
    union of the matching windows matters: a window inside a span already found is skipped.
    """

    window: int
    anchor: int
    windows: frozenset[str]
    anchors: frozenset[str]

    @classmethod
    def of(cls, forms: Iterable[str], *, window: int, anchor: int, step: int = 1) -> _Form:
        """The windows of ``forms`` at every ``step``-th offset: an encoding of whole units
        (6 characters per ``\\u`` escape, 2 hex digits a byte, 4 base64 characters for 3
        bytes) puts any encoded run of the value at a unit boundary of its form, so windows
        between units are never matched and need no memory. Anchors are kept at every offset,
        since the text is sampled wherever it happens to be cut."""
        texts = [_fold(form) for form in forms if len(form) >= window]
        return cls(
            window,
            anchor,
            frozenset(
                t[i : i + window]
                for t in texts
                # and the last window, where a form ends between units (base64 unpadded)
                for i in {*range(0, len(t) - window + 1, step), len(t) - window}
            ),
            frozenset(t[i : i + anchor] for t in texts for i in range(len(t) - anchor + 1)),
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The windows of ``text`` (folded) that are windows of a form, in order."""
        if not self.windows:
            return []
        window, anchor, windows = self.window, self.anchor, self.windows
        stride = window - anchor + 1
        # Cutting the samples and looking them up run in C (a fixed expression, map,
        # compress): the Python loop below sees only the anchors found, none in the usual
        # answer.
        pieces = _sampler(anchor, stride).findall(text)
        if self.anchors.isdisjoint(pieces):
            return []
        samples = range(0, len(pieces) * stride, stride)
        hits = itertools.compress(samples, map(self.anchors.__contains__, pieces))
        found: list[tuple[int, int]] = []
        decided = 0  # every window starting before this is looked up or inside a found span
        last = len(text) - window
        for p in hits:
            start = max(p + anchor - window, decided)
            while start <= min(p, last):
                if text[start : start + window] in windows:
                    end = self._run_end(text, start, last)
                    found.append((start, end))
                    start = end + 1
                else:
                    start += 1
                decided = start
        return found

    def _run_end(self, text: str, start: int, last: int) -> int:
        """Where the union of matching windows from ``start`` (one) ends: each step looks for
        the furthest matching window that touches the span so far, from the right, so a long
        run costs one lookup per window length, not one per character."""
        window, windows = self.window, self.windows
        end = start + window
        while True:
            for later in range(min(end, last), start, -1):
                if text[later : later + window] in windows:
                    start, end = later, later + window
                    break
            else:
                return end


def _json_forms(secret: str) -> set[str]:
    escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
    ascii_escaped = json.dumps(secret)[1:-1]
    # Some encoders escape "/" too.
    return {escaped, ascii_escaped, escaped.replace("/", "\\/"), ascii_escaped.replace("/", "\\/")}


def _written_forms(secret: str) -> set[str]:
    """As written, JSON-escaped and URL-encoded: what the whole-value rules look for."""
    return {secret, quote(secret, safe=""), quote_plus(secret, safe=""), *_json_forms(secret)}


def _unicode_escaped(secret: str) -> str:
    units = secret.encode("utf-16-be", errors="surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def _base64_forms(secret: str) -> set[str]:
    data = secret.encode("utf-8", errors="surrogatepass")
    # The base64 of a cut value is a piece of the base64 of the whole from one of these three.
    encoded = [base64.b64encode(data[shift:]).decode() for shift in range(3)]
    encoded += [e.rstrip("=") for e in encoded]  # often sent unpadded
    return {*encoded, *(e.translate(str.maketrans("+/", "-_")) for e in encoded)}


@dataclass(frozen=True, slots=True)
class _Patterns:
    """What :func:`redact` looks for, built once per set of secrets."""

    written: tuple[str, ...]  # every written form of every value, longest first
    text_forms: tuple[_Form, ...]
    spaced: _Form


def _windowed(secrets: frozenset[str]) -> list[str]:
    """The values (or their first characters) whose runs are looked for, within the caps:
    shortest first, so the usual keys and tokens are always covered whole."""
    kept: list[str] = []
    left = MAX_WINDOWED_TOTAL
    for secret in sorted((s for s in secrets if len(s) >= MIN_WINDOW), key=lambda s: (len(s), s)):
        piece = secret[: min(MAX_WINDOWED, left)]
        if len(piece) < MIN_WINDOW:
            break
        kept.append(piece)
        left -= len(piece)
    return kept


@functools.lru_cache(maxsize=_CACHED_SECRET_SETS)
def _patterns(secrets: frozenset[str]) -> _Patterns:
    long = _windowed(secrets)
    written = {form for s in secrets for form in _written_forms(s)}
    data = [s.encode("utf-8", errors="surrogatepass") for s in long]
    return _Patterns(
        written=tuple(sorted(written, key=len, reverse=True)),
        text_forms=(
            _Form.of(
                {form for s in long for form in _written_forms(s)},
                window=MIN_WINDOW,
                anchor=MIN_WINDOW // 2,
            ),
            _Form.of([_unicode_escaped(s) for s in long], window=6 * MIN_WINDOW, anchor=8, step=6),
            _Form.of([d.hex() for d in data], window=2 * MIN_WINDOW, anchor=8, step=2),
            _Form.of(
                {form for s in long for form in _base64_forms(s)},
                window=12,  # 8 bytes are 10.7 base64 characters; 12 hold 8 at any alignment
                anchor=8,
                step=4,
            ),
        ),
        spaced=_Form.of(long, window=MIN_WINDOW, anchor=MIN_WINDOW // 2),
    )


def _spaced_spans(folded: str, spaced: _Form) -> list[tuple[int, int]]:
    """The spaced-out matches: every second character of the text, from the first or the
    second, holds a value whose characters stand one separator apart."""
    return [
        (2 * start + shift, 2 * end + shift - 1)
        for shift in (0, 1)
        for start, end in spaced.spans(folded[shift::2])
    ]


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each run of overlapping or touching ``spans`` replaced by one
    :data:`MASK` (a value split in two halves leaves one mask)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces += (text[position:start], MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every trace of ``secrets`` that the module docstring lists masked.

    For the Test preview, and what a call answers to the bot and to agents: an endpoint that
    echoes the request's headers must not show a stored header value to whoever can point the
    URL at it or read its answer.
    """
    kept = frozenset(s for s in secrets if len(s) >= MIN_REDACTED)
    if not kept or not text:
        return text
    patterns = _patterns(kept)
    # Whole values first: the runs are looked for only in a long value's first characters.
    for form in patterns.written:
        if form in text:
            text = text.replace(form, MASK)
    folded = _fold(text)
    spans = [span for form in patterns.text_forms for span in form.spans(folded)]
    spans += _spaced_spans(folded, patterns.spaced)
    if spans:
        text = _masked(text, spans)
    for form in patterns.written:
        # Only a tail holding the form's first characters can end with a cut of it.
        if form[:MIN_REDACTED] in text[-len(form) :]:
            for cut in range(len(form) - 1, MIN_REDACTED - 1, -1):
                if text.endswith(form[:cut]):
                    return text[:-cut] + MASK
    return text
