"""The CPU time signing adds to a webhook call (``webhooks/egress/_signing.py``).

Two figures, each the median of :data:`ROUNDS` rounds of CPU time (``time.process_time``) per
call, with one key and with two (a rotation), on a 96-byte JSON body, the variants' rounds
taken in turns:

- ``Signer.signature``: the signature alone;
- ``whole call``: :meth:`Egress.call` of a signed request against the same request unsigned,
  with the egress's one network step (``_attempt``) replaced by a canned answer on the
  instance measured: what remains is the call as the egress builds it (URL check, body,
  headers), and the difference is everything signing adds to it (the timestamp, the
  signature, two more headers). Writing those two headers out and encrypting them is left
  out: ``python -m bench.callgrind --signed`` counts it with the rest, in the action server.

Target: at most :data:`BUDGET_MS` per call added, for each figure.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from webhooks import Egress, EgressRules, Signer, WebhookRequest, WebhookResult

#: A typical call's arguments: about 100 bytes of JSON body.
ARGUMENTS: dict[str, str | int] = {
    "order_id": 4521,
    "email": "person@example.com",
    "note": "leave it at the door, please; ring twice",
}
ROUNDS = 15
SIGNATURES = 20_000
CALLS = 5_000
BUDGET_MS = 0.05
#: Nothing listens here: were the canned answer ever bypassed, every call would fail loudly.
UNUSED_URL = "https://127.0.0.1:9/hook"

_CANNED = WebhookResult(status=200, elapsed=0.0, truncated=False, data={}, text="{}", body=b"{}")


#: The signers measured: one key, and two (a rotation).
KEYS = (1, 2)


def _signers() -> dict[int, Signer]:
    return {keys: Signer([os.urandom(32) for _ in range(keys)]) for keys in KEYS}


def _signatures_us(signers: dict[int, Signer]) -> dict[int, float]:
    """Median CPU microseconds of one :meth:`Signer.signature`, by number of keys (their
    rounds taken in turns, so drift on a shared machine hits each alike)."""
    body = WebhookRequest(url=UNUSED_URL, arguments=ARGUMENTS).json_body()
    message_id = "msg_" + os.urandom(16).hex()
    timestamp = int(time.time())
    rounds: dict[int, list[float]] = {keys: [] for keys in signers}
    for _ in range(ROUNDS):
        for keys, signer in signers.items():
            started = time.process_time()
            for _ in range(SIGNATURES):
                signer.signature(message_id, timestamp, body)
            rounds[keys].append((time.process_time() - started) / SIGNATURES * 1e6)
    return {keys: float(statistics.median(values)) for keys, values in rounds.items()}


async def _canned(*args: object, **kwargs: object) -> WebhookResult:
    return _CANNED


async def _call_us(egress: Egress, request: WebhookRequest) -> float:
    """CPU microseconds per :meth:`Egress.call` of ``request``, over :data:`CALLS` calls."""
    started = time.process_time()
    for _ in range(CALLS):
        await egress.call(request)
    return (time.process_time() - started) / CALLS * 1e6


async def _calls_us(signers: dict[int, Signer]) -> tuple[float, dict[int, float]]:
    """Median CPU microseconds of an unsigned call, and the median of each round's added
    microseconds when signed, by number of keys."""
    requests = {
        keys: WebhookRequest(url=UNUSED_URL, arguments=ARGUMENTS, signer=signer)
        for keys, signer in signers.items()
    }
    requests[0] = WebhookRequest(url=UNUSED_URL, arguments=ARGUMENTS)
    async with Egress(rules=EgressRules.allowing("127.0.0.1/32")) as egress:
        if not callable(getattr(egress, "_attempt", None)):
            raise RuntimeError("Egress has no _attempt to replace: update this benchmark")
        egress._attempt = _canned  # type: ignore[method-assign]
        for request in requests.values():  # warm the URL check's cache and the allocator
            await _call_us(egress, request)
        rounds: dict[int, list[float]] = {keys: [] for keys in requests}
        order = list(requests)
        for _ in range(ROUNDS):  # in turns, each first once in a while
            for keys in order:
                rounds[keys].append(await _call_us(egress, requests[keys]))
            order = order[1:] + order[:1]
    unsigned = rounds.pop(0)
    added = {
        keys: float(statistics.median(b - a for a, b in zip(unsigned, values, strict=True)))
        for keys, values in rounds.items()
    }
    return float(statistics.median(unsigned)), added


def run() -> int:
    """Measure and print; 0 when the target is met."""
    signers = _signers()
    alone = _signatures_us(signers)
    unsigned, added = asyncio.run(_calls_us(signers))
    body = WebhookRequest(url=UNUSED_URL, arguments=ARGUMENTS).json_body()
    print(
        f"CPU per call, {len(body)}-byte body, median of {ROUNDS} rounds; the whole call "
        f"unsigned {unsigned:.1f} us (target: at most {BUDGET_MS * 1000:.0f} us added)"
    )
    met = True
    for keys in KEYS:
        ok = max(alone[keys], added[keys]) <= BUDGET_MS * 1000
        met &= ok
        print(
            f"{keys} key{'s' if keys > 1 else ' '}: Signer.signature {alone[keys]:5.1f} us, "
            f"whole call {added[keys]:+5.1f} us signed -> {'met' if ok else 'NOT met'}"
        )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(run())
