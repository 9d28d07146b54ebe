"""``python -m routing.evaluate MODEL SET``: how a trained model routes each message of a set.

Loads the model as ``rasa run`` does, so its LiveRouter polls ``WEBHOOKS_ROUTING_URL`` like in
production; waits for the routing table, parses every message of SET (YAML: action name -> the
messages asking for it, ``none`` -> messages asking for no action) and prints one JSON line per
message: its label, what the trained model said, the match and where the message was routed,
and how long the router took.

``python -m routing.evaluate --cost MODEL TABLE``: what the router adds to Rasa's process, in
one JSON line: resident memory before and after loading the encoder and building the matcher
for the routing table in the file TABLE with MODEL's training messages (Rasa's own modules
imported first), and the seconds that took. Both run with the bot runtime
(``.venv-bot/bin/python``); ``python -m bench routing`` drives them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml

#: Seconds to wait for the first routing table.
TABLE_TIMEOUT = 60.0


async def evaluate(model: str, messages: dict[str, list[str]]) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    deadline = time.monotonic() + TABLE_TIMEOUT
    while (await agent.parse_message("hello"))["webhook_routing"]["table_version"] is None:
        if time.monotonic() > deadline:
            raise SystemExit("no routing table: is WEBHOOKS_ROUTING_URL served?")
        await asyncio.sleep(0.2)
    for label, texts in messages.items():
        for text in texts:
            routing = (await agent.parse_message(text))["webhook_routing"]
            line = {
                "label": label,
                "text": text,
                "model_intent": routing["model_intent"],
                "model_confidence": routing["model_confidence"],
                "action": routing["action"],
                "by": routing["by"],
                "match": routing["match"],
                "ms": routing["ms"],
            }
            print(json.dumps(line), flush=True)


def _resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _router_data(model: str) -> dict[str, Any]:
    """What the model's LiveRouter kept from training (its examples per action, and the
    counter-examples), read from the model archive."""
    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            if "LiveRouter" in member.name and member.name.endswith("/live_router.json"):
                file = archive.extractfile(member)
                if file is not None:
                    return dict(json.loads(file.read()))
    raise SystemExit(f"{model} has no LiveRouter data")


def cost(model: str, table_file: str) -> None:
    import rasa.core.agent  # noqa: F401 - what Rasa's process holds before the router

    from ._encoder import Encoder
    from ._matcher import Embeddings
    from ._table import build_table

    document = json.loads(Path(table_file).read_text(encoding="utf-8"))
    trained = _router_data(model)
    before = _resident_mb()
    started = time.perf_counter()
    embeddings = Embeddings(Encoder())
    loaded = time.perf_counter() - started
    table = build_table(document, trained["trained"], trained["negatives"], embeddings)
    built = time.perf_counter() - started - loaded
    table.matcher.match("where is my order?")
    line = {
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(_resident_mb(), 1),
        "load_s": round(loaded, 3),
        "build_s": round(built, 3),
        "texts": len(embeddings),
    }
    print(json.dumps(line), flush=True)


def main() -> None:
    arguments = sys.argv[1:]
    if len(arguments) == 3 and arguments[0] == "--cost":
        cost(*arguments[1:])
        return
    if len(arguments) != 2:
        raise SystemExit(__doc__)
    model, path = arguments
    messages = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    asyncio.run(evaluate(model, messages))


if __name__ == "__main__":
    main()
