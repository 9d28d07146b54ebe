"""The baseline for ``bench.actions``: a naive rasa-sdk action server making the same call.

``python -m bench.naive_action PORT URL CA_FILE`` serves rasa-sdk's own app with one action,
``order_status``, that POSTs the slot to URL with a shared aiohttp session: no URL rules, no
address checks, no cap, no limit. What a developer would write by hand.
"""

from __future__ import annotations

import ssl
import sys
from typing import Any

import aiohttp
from rasa_sdk import Action, Tracker
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher


class NaiveOrderStatus(Action):  # type: ignore[misc]
    def __init__(self, url: str, ca_file: str) -> None:
        self.url = url
        self.context = ssl.create_default_context(cafile=ca_file)
        self.session: aiohttp.ClientSession | None = None

    def name(self) -> str:
        return "action_webhook"  # what Rasa calls, as it calls ours

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.context))
        async with self.session.post(
            self.url, json={"order_id": int(tracker.get_slot("webhook_values")["order_id"])}
        ) as response:
            data = await response.json()
        dispatcher.utter_message(text="; ".join(f"{k}: {v}" for k, v in data.items()))
        return []


if __name__ == "__main__":
    port, url, ca_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    executor = ActionExecutor()
    executor.register_action(NaiveOrderStatus(url, ca_file))
    create_app(executor).run(
        host="127.0.0.1", port=port, single_process=True, access_log=False, motd=False
    )
