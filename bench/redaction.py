"""The cost of masking stored header values in an answer (:func:`webhooks.redact`).

Every call's answer goes through the mask before the bot, an agent or the Test preview sees
it. Measured on a 51,200-byte JSON answer (the cap) with 5 stored values of 40 characters,
the median of 30 runs each:

- ``clean``: the usual answer, holding no trace of a value;
- ``echoed``: a hostile answer, the values echoed again and again in every form the mask
  knows (cut, upper-cased, hex, base64, ``\\u``-escaped, spaced out), so that the text is
  full of anchors and masked runs;
- ``small``: a 40-byte answer, the size of most (microseconds).

Targets: ``clean`` and ``echoed`` within :data:`BUDGET_MS` each, and ``echoed`` at most
:data:`HOSTILE_FACTOR` times ``clean`` (no input makes the search much slower than the
usual answer: it is linear by construction).
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import string
import time

from webhooks import redact

BODY_BYTES = 51_200
VALUES = 5
VALUE_LENGTH = 40
RUNS = 30
BUDGET_MS = 50.0
HOSTILE_FACTOR = 4.0


def _values(rng: random.Random) -> list[str]:
    alphabet = string.ascii_letters + string.digits + "-_"
    return ["".join(rng.choice(alphabet) for _ in range(VALUE_LENGTH)) for _ in range(VALUES)]


def _clean(rng: random.Random) -> str:
    items: list[dict[str, object]] = []
    while len(json.dumps(items)) < BODY_BYTES:
        items.append({"id": len(items), "status": rng.choice(["shipped", "late"]), "eta": "2d"})
    return json.dumps(items)[:BODY_BYTES]


def _echoed(values: list[str]) -> str:
    pieces: list[str] = []
    while sum(map(len, pieces)) < BODY_BYTES:
        for value in values:
            data = value.encode()
            pieces += [
                value[7:],
                value.upper(),
                data.hex(),
                base64.b64encode(data).decode(),
                "".join(f"\\u{ord(c):04x}" for c in value),
                " ".join(value),
            ]
    return json.dumps(pieces)[:BODY_BYTES]


def _median_ms(text: str, values: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        redact(text, values)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run() -> int:
    """Measure and print; 0 when the targets are met."""
    rng = random.Random(24)
    values = _values(rng)
    redact("warm the cache of the values' patterns", values)
    clean = _median_ms(_clean(rng), values)
    echoed_text = _echoed(values)
    echoed = _median_ms(echoed_text, values)
    small = _median_ms('{"method": "POST", "query": []}', values)
    assert not any(v in redact(echoed_text, values) for v in values)
    met = max(clean, echoed) <= BUDGET_MS and echoed <= HOSTILE_FACTOR * clean
    print(
        f"{BODY_BYTES:,} bytes, {VALUES} values: clean {clean:.2f} ms, echoed {echoed:.2f} ms "
        f"(target <= {BUDGET_MS:.0f} ms each, echoed <= x{HOSTILE_FACTOR:.0f} clean: "
        f"x{echoed / clean:.2f}); small answer {small * 1000:.0f} us -> "
        f"{'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(run())
