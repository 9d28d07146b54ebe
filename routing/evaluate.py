"""``python -m routing.evaluate MODEL SET``: how a trained model routes each message of a set.

Loads the model as ``rasa run`` does, so its LiveRouter polls ``WEBHOOKS_ROUTING_URL`` like in
production; waits for the routing table, parses every message of SET (YAML: action name -> the
messages asking for it, ``none`` -> messages asking for no action) and prints one JSON line per
message: its label, what the trained model said and where the message was routed. Runs with
the bot runtime (``.venv-bot/bin/python``); ``python -m bench routing`` drives it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import yaml
from rasa.core.agent import Agent

#: Seconds to wait for the first routing table.
TABLE_TIMEOUT = 60.0


async def evaluate(model: str, messages: dict[str, list[str]]) -> None:
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
                "action": routing["action"],
                "by": routing["by"],
                "match": routing["match"],
            }
            print(json.dumps(line), flush=True)


def main() -> None:
    model, path = sys.argv[1:3]
    messages = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    asyncio.run(evaluate(model, messages))


if __name__ == "__main__":
    main()
