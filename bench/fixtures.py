"""What the action-server benchmarks feed it: a store of definitions and a captured call."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, insert, select

from webhooks import (
    ACTION_SLOT,
    ANSWER_SLOT,
    ASKING_SLOT,
    CALL_ACTION,
    DISPATCH_SLOTS,
    DISPATCH_VALIDATOR,
    MAX_BUDGET,
    VALUES_SLOT,
    Keyring,
    make_engine,
    migrate,
)

__all__ = ["action_call", "answer_call", "seed_store", "with_dispatch_slots"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/actions/fixtures/prefill_2_order_status.json"
#: Rasa's call of a form's validator with the user's answer to its question.
ANSWER_FIXTURE = ROOT / "tests/actions/fixtures/v2_ask_3_validate_order_status_form.json"


def with_dispatch_slots(call: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``call`` (a captured Rasa request) with every dispatch slot declared in its domain and
    set in its tracker as Rasa sends them: the ``values`` given, None for the others.

    A slot left out makes rasa-sdk log a line for each one looked up, a cost and a path no real
    call has. The tests' calls are built here too, so the bench and the tests send the same.
    """
    unknown = set(values) - set(DISPATCH_SLOTS)
    if unknown:
        raise ValueError(f"not a dispatch slot: {', '.join(sorted(unknown))}")
    call["tracker"]["slots"] |= {name: values.get(name) for name in DISPATCH_SLOTS}
    call["domain"]["slots"] |= {
        name: {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
        for name in DISPATCH_SLOTS
    }
    return call


def action_call() -> dict[str, Any]:
    """The request body of one call to the action server, as Rasa sends it: the generic
    dispatch's call once the form has the order number."""
    call = json.loads(FIXTURE.read_text())
    call["sender_id"] = call["tracker"]["sender_id"] = "bench-sender"
    call["next_action"] = CALL_ACTION
    return with_dispatch_slots(call, {ACTION_SLOT: "order_status", VALUES_SLOT: {"order_id": 4521}})


def answer_call(action: str, asking: str, answer: str) -> dict[str, Any]:
    """The request body of the dispatch validator's call judging ``answer``, the user's answer
    to the question for parameter ``asking`` of ``action`` (the captured call of a per-action
    form, renamed to the dispatch's form as the tests rename it)."""
    call = json.loads(ANSWER_FIXTURE.read_text())
    call["next_action"] = DISPATCH_VALIDATOR
    call["sender_id"] = call["tracker"]["sender_id"] = "bench-answer"
    form = DISPATCH_VALIDATOR.removeprefix("validate_")
    call["domain"]["actions"] += [form.removesuffix("_form"), DISPATCH_VALIDATOR]
    call["domain"]["forms"][form] = call["domain"]["forms"]["order_status_form"]
    call["tracker"]["active_loop"]["name"] = form
    tracker = call["tracker"]
    tracker["slots"]["requested_slot"] = ANSWER_SLOT
    tracker["latest_message"] |= {"text": answer, "entities": []}
    tracker["latest_message"]["intent"] = {"name": "inform", "confidence": 0.9}
    while tracker["events"] and tracker["events"][-1].get("event") == "slot":
        tracker["events"].pop()
    tracker["events"].append(
        {"event": "slot", "name": ANSWER_SLOT, "value": answer, "timestamp": time.time()}
    )
    return with_dispatch_slots(
        call, {ACTION_SLOT: action, ASKING_SLOT: asking, VALUES_SLOT: {}, ANSWER_SLOT: answer}
    )


def seed_store(database_url: str, key: str, definitions: int, webhook_url: str) -> str:
    """Tenants of 10 definitions each, written in bulk; returns tenant t0's action token."""
    from webhooks import EgressRules, Store

    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine, Keyring([key]), rules=EgressRules.allowing("127.0.0.1/32"))
    store.accounts.create_tenant("t0", actor="bench")
    store.accounts.set_skill("t0", True, actor="bench")
    # The largest budget: a run makes thousands of calls a second, and measures the budget's
    # claim, not its refusals (which the run would count as failures).
    store.budgets.set_calls_per_minute("t0", MAX_BUDGET, actor="bench")
    token = store.accounts.issue_action_token("t0", actor="bench")
    store.catalog.create(
        "t0",
        {
            "name": "order_status",
            "description": "Look up an order",
            "url": webhook_url,
            "parameters": [{"name": "order_id", "type": "integer", "description": "order"}],
            "headers": {"X-Api-Key": "bench-secret"},
        },
        actor="bench",
    )
    now = datetime.now(UTC)
    tenants = max(0, (definitions - 1) // 10)
    if tenants == 0:
        engine.dispose()
        return token
    # The tables as the database has them: the benchmark writes rows in bulk, past the store,
    # without reaching into the core's private schema module.
    tables = MetaData()
    tables.reflect(engine, only=["tenants", "webhooks", "webhook_headers"])
    tenant_table, webhook_table = tables.tables["tenants"], tables.tables["webhooks"]
    with engine.begin() as connection:
        connection.execute(
            insert(tenant_table),
            [
                {
                    "name": f"t{i}",
                    "skill_enabled": True,
                    "action_count": 10,
                    "version": 1,
                    "created_at": now,
                }
                for i in range(1, tenants + 1)
            ],
        )
        ids = dict(connection.execute(select(tenant_table.c.name, tenant_table.c.id)).all())
        rows = [
            {
                "tenant_id": ids[f"t{i}"],
                "name": f"hook_{j}",
                "description": "Look up an order",
                "url": "https://api.example.com/orders",
                "method": "POST",
                "timeout": 10.0,
                "parameters": [
                    {
                        "name": "order_id",
                        "type": "integer",
                        "description": "order",
                        "required": True,
                    }
                ],
                "enabled": True,
                "revision": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, tenants + 1)
            for j in range(10)
        ]
        for start in range(0, len(rows), 20_000):
            connection.execute(insert(webhook_table), rows[start : start + 20_000])
        webhook_ids = [row[0] for row in connection.execute(select(webhook_table.c.id)).all()]
        # As the store writes them: each value encrypted on its own (Fernet's random IV makes
        # every sealed value distinct) and marked with its key, which spares the start-up key
        # check from decrypting every value.
        headers = [
            {
                "webhook_id": w,
                "name": "X-Api-Key",
                "value_encrypted": store.keyring.encrypt("bench-secret"),
                "key_id": store.keyring.ids[0],
            }
            for w in webhook_ids
        ]
        for start in range(0, len(headers), 20_000):
            connection.execute(
                insert(tables.tables["webhook_headers"]).prefix_with("OR IGNORE"),
                headers[start : start + 20_000],
            )
    engine.dispose()
    return token
