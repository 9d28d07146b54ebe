"""The routing table's contract: what the action server serves (``GET
/tenants/<tenant>/routing``, actions/_server.py) is what the live router inside Rasa parses
(routing/_table.py). The real action server answers the real poller, run in Rasa's environment
with the real encoder; a field renamed on either side fails here."""

from __future__ import annotations

import pytest

from tests.actions.conftest import ActionEnv
from tests.routing.test_encoder import in_bot

pytestmark = [pytest.mark.rasa]

CARD = {"name": "card_number", "description": "The gift card number", "type": "string"}


def test_the_live_router_reads_every_field_the_action_server_serves(
    action_env: ActionEnv,
) -> None:
    action_env.put(
        "gift_card_balance",
        description="Tell how much credit is left on a gift card",
        examples=["is anything left on my voucher"],
        parameters=[CARD],
    )
    action_env.put("opening_hours", enabled=False, parameters=[])
    url = f"{action_env.base_url}/tenants/acme/routing"
    result = in_bot(
        f"""
        import json
        from routing._encoder import shared_encoder
        from routing._matcher import Embeddings
        from routing._table import TablePoller, build_table

        embeddings = Embeddings(shared_encoder())
        poller = TablePoller({url!r}, {action_env.token!r}, interval=60.0,
                             build=lambda document: build_table(document, {{}}, [], embeddings))
        poller.poll()
        table = poller.current
        match = table.matcher.match("the number on the back is 9001 2233")
        print(json.dumps({{"version": table.version, "actions": table.actions,
                          "texts": table.matcher.texts, "answers": sorted(match.answers)}}))
        """
    )
    assert result["version"] == action_env.store.accounts.get_tenant("acme").version
    assert result["actions"]["gift_card_balance"] is True
    assert result["actions"]["opening_hours"] is False  # listed, disabled
    texts = set(result["texts"])
    # Name, description, example and the question's object, as the router normalises them.
    assert {
        "gift card balance",
        "tell how much credit is left on a gift card",
        "is anything left on my voucher",
        "the gift card number",
    } <= texts
    assert result["answers"] == ["gift_card_balance"]  # the only action with a question
