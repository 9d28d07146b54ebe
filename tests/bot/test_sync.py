"""``bot sync``: what it generates, that a second run changes nothing, that designer files win."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot import Project, sync
from bot.__main__ import main
from tests.bot.conftest import make_project
from webhooks import Store


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def _generate(project: Path, store: Store) -> Project:
    layout = Project(project)
    sync(layout, store.catalog.list("acme"), tenant="acme")
    return layout


def _digests(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_domain_declares_the_generic_dispatch_once(project: Path, store: Store) -> None:
    domain = _load(_generate(project, store).generated_domain)
    assert domain["version"] == "3.1"
    # The same entries serve every action, present and future: nothing per action to retrain.
    assert domain["actions"] == [
        "action_webhook",
        "validate_webhook_form",
        "action_ask_webhook_answer",
        "action_webhook_stopped",
        "action_webhook_switch",
        "action_webhook_help",
    ]
    assert domain["forms"] == {"webhook_form": {"required_slots": ["webhook_answer"]}}
    # Per action only what training uses: its intent, and an entity per parameter name.
    assert domain["intents"] == [
        "webhook",
        "webhook_daily_offers",
        "webhook_delivery_quote",
        "webhook_order_status",
        "webhook_store_hours",
        "help",
    ]  # `stop` is the designer's (domain/demo.yml), so not generated
    assert domain["entities"] == [
        "webhook_action",
        "city",
        "include_history",
        "order_id",
        "radius_km",
        "weight",
    ]
    slots = domain["slots"]
    assert set(slots) == {
        "webhook_action",
        "webhook_answer",
        "webhook_values",
        "webhook_asking",
        "webhook_memory",
    }
    # The action asked for comes from the router's entity, never while a form asks.
    assert slots["webhook_action"]["mappings"] == [
        {
            "type": "from_entity",
            "entity": "webhook_action",
            "intent": ["webhook"],
            "conditions": [{"active_loop": None}],
        }
    ]
    # The answer is the whole text while the form asks, never "stop".
    assert slots["webhook_answer"]["mappings"] == [
        {
            "type": "from_text",
            "not_intent": ["stop"],
            "conditions": [{"active_loop": "webhook_form", "requested_slot": "webhook_answer"}],
        }
    ]
    responses = domain["responses"]
    # Questions are asked by the action server from the live description, not generated.
    assert not [name for name in responses if name.startswith("utter_ask_")]
    for category in ("timeout", "unavailable", "rejected", "refused", "invalid_response"):
        assert f"utter_webhook_{category}" in responses
    for category in ("rate_limited", "disabled", "not_configured"):
        assert f"utter_webhook_{category}" in responses
    assert "utter_webhook_stopped" in responses


def test_the_dispatch_does_not_depend_on_the_definitions(tmp_path: Path, store: Store) -> None:
    layout = _generate(tmp_path, store)
    with_actions = _load(layout.generated_domain)
    rules = _load(layout.generated_rules)
    sync(layout, [], tenant="acme")
    without = _load(layout.generated_domain)
    for key in ("slots", "forms", "actions", "responses"):
        assert with_actions[key] == without[key], key
    assert _load(layout.generated_rules) == rules
    assert [rule["rule"] for rule in rules["rules"]] == [
        "help: help",
        "help: nlu_fallback",
        "help: out_of_scope",
        "webhook: ask for what is missing",
        "webhook: call once the form is complete",
        "webhook: stop asking",
    ]


def test_designer_responses_and_intents_win(project: Path, store: Store) -> None:
    (project / "domain" / "extra.yml").write_text(
        'version: "3.1"\n'
        "responses:\n"
        "  utter_webhook_timeout:\n    - text: Too slow, sorry.\n"
        "  utter_webhook_stopped:\n    - text: Stopped.\n"
    )
    layout = _generate(project, store)
    responses = _load(layout.generated_domain)["responses"]
    assert "utter_webhook_timeout" not in responses
    assert "utter_webhook_stopped" not in responses
    assert "utter_webhook_unavailable" in responses
    nlu = _load(layout.generated_nlu)["nlu"]
    assert "stop" not in [item.get("intent") for item in nlu]


def test_operators_examples_are_trained_first_with_allowed_values_marked(
    tmp_path: Path, store: Store
) -> None:
    store.catalog.update(
        "acme",
        "store_hours",
        {
            "examples": ["is the Lisbon (city centre) shop open?", "store hours"],
            "parameters": [
                {"name": "city", "type": "string", "description": "the city",
                 "values": ["Berlin", "Lisbon"]},
            ],
        },
        actor="test",
    )  # fmt: skip
    nlu = _load(_generate(tmp_path, store).generated_nlu)["nlu"]
    examples = next(i["examples"] for i in nlu if i.get("intent") == "webhook_store_hours")
    lines = examples.splitlines()
    # Markup characters are dropped so the example cannot forge an annotation.
    assert lines[:2] == ["- is the [Lisbon](city) city centre shop open?", "- store hours"]


def test_stop_intent_is_generated_when_the_designer_has_none(tmp_path: Path, store: Store) -> None:
    layout = _generate(tmp_path, store)  # an empty project: no designer files at all
    assert "stop" in _load(layout.generated_domain)["intents"]
    stop = [item for item in _load(layout.generated_nlu)["nlu"] if item.get("intent") == "stop"]
    assert "- cancel" in stop[0]["examples"]


def test_a_sample_value_stands_for_one_parameter_only(project: Path, store: Store) -> None:
    store.accounts.create_tenant("shop", actor="test")
    for name, parameter, description in (
        ("find_offers", "category", "a category such as shoes or books"),
        ("find_stock", "product", "a product such as shoes or hats"),
        ("find_store", "town", "the town"),
        ("find_order", "order_id", "the number"),
        ("find_parcel", "parcel", "the parcel number"),
    ):
        kind = "integer" if name in {"find_order", "find_parcel"} else "string"
        store.catalog.create(
            "shop",
            {"name": name, "description": name.replace("_", " "), "url": "https://api.example.com",
             "parameters": [{"name": parameter, "type": kind, "description": description}]},
            actor="test",
        )  # fmt: skip
    layout = Project(project)
    sync(layout, store.catalog.list("shop"), tenant="shop")
    examples = "".join(item.get("examples", "") for item in _load(layout.generated_nlu)["nlu"])
    labels: dict[str, set[str]] = {}
    for value, entity in re.findall(r"\[([^\]]+)\]\((\w+)\)", examples):
        labels.setdefault(value, set()).add(entity)
    assert labels, examples
    assert {value: names for value, names in labels.items() if len(names) > 1} == {}
    assert labels["shoes"] == {"category"}  # the first to suggest it keeps it
    assert "hats" in labels  # the product keeps the value that is its own
    assert "(town)" not in examples  # nothing suggested: no invented city
    assert "(order_id)" in examples
    assert "(parcel)" in examples  # integers get values of their own


def test_nlu_starters_annotate_parameters(project: Path, store: Store) -> None:
    layout = _generate(project, store)
    text = layout.generated_nlu.read_text()
    assert "STARTER" in "".join(text.splitlines()[:3])
    nlu = {
        item.get("intent") or item.get("regex"): item for item in _load(layout.generated_nlu)["nlu"]
    }
    order = nlu["webhook_order_status"]["examples"]
    assert "- look up the status of an order\n" in order
    assert "[4521](order_id)" in order
    assert "(include_history)" in order
    assert "[Berlin](city)" in nlu["webhook_store_hours"]["examples"]  # from "e.g. Berlin"
    # delivery_quote's city suggests nothing: it shares store_hours' values, invents none.
    assert "(city)" not in nlu["webhook_delivery_quote"]["examples"].replace("[Berlin](city)", "")
    assert "uses the store API" not in nlu["webhook_store_hours"]["examples"]  # first clause
    assert nlu["order_id"]["examples"] == "- \\d+\n"
    assert "webhook_daily_offers" in nlu


def test_files_say_they_are_generated(project: Path, store: Store) -> None:
    layout = _generate(project, store)
    for path in (layout.generated_domain, layout.generated_rules, layout.generated_nlu):
        assert path.read_text().startswith("# GENERATED by `python -m bot sync`")
        assert "every sync overwrites this file" in path.read_text()


def test_second_sync_changes_nothing_and_designer_files_are_untouched(
    project: Path, store: Store
) -> None:
    designer = _digests(project)
    layout = Project(project)
    first = sync(layout, store.catalog.list("acme"), tenant="acme")
    assert len(first.written) == 3
    after_first = _digests(project)
    second = sync(layout, store.catalog.list("acme"), tenant="acme")
    assert second.written == []
    assert _digests(project) == after_first  # same bytes, not even rewritten
    assert {k: v for k, v in after_first.items() if k in designer} == designer


def test_definition_order_does_not_matter(project: Path, store: Store, tmp_path: Path) -> None:
    webhooks = store.catalog.list("acme")
    other = make_project(tmp_path / "other")
    sync(Project(project), webhooks, tenant="acme")
    sync(Project(other), list(reversed(webhooks)), tenant="acme")
    for name in ("domain/webhooks.generated.yml", "data/webhooks.generated.nlu.yml"):
        assert (project / name).read_bytes() == (other / name).read_bytes()


def test_no_definitions_gives_valid_empty_files(project: Path, store: Store) -> None:
    store.accounts.create_tenant("empty", actor="test")
    layout = Project(project)
    sync(layout, store.catalog.list("empty"), tenant="empty")
    # The dispatch is there from the first day: the first action saved is served untrained.
    domain = _load(layout.generated_domain)
    assert domain["intents"] == ["webhook", "help"]
    assert domain["forms"] == {"webhook_form": {"required_slots": ["webhook_answer"]}}
    assert "action_webhook_help" in domain["actions"]
    rules = _load(layout.generated_rules)["rules"]
    assert [rule["steps"] for rule in rules[:3]] == [
        [{"intent": intent}, {"action": "action_webhook_help"}]
        for intent in ("help", "nlu_fallback", "out_of_scope")
    ]


def test_parameter_clashing_with_a_designer_slot_is_warned(project: Path, store: Store) -> None:
    (project / "domain" / "slots.yml").write_text(
        'version: "3.1"\nslots:\n  city:\n    type: text\n    mappings:\n      - type: custom\n'
    )
    result = sync(Project(project), store.catalog.list("acme"), tenant="acme")
    assert any("'city'" in warning for warning in result.warnings)


@pytest.mark.usefixtures("cli_env")
def test_cli_sync_writes_and_reports(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--tenant", "acme", "--project", str(project)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["sync", "--tenant", "acme", "--project", str(project)]) == 0
    out = capsys.readouterr().out
    assert "wrote" not in out
    assert out.count("unchanged") == 3


@pytest.mark.usefixtures("cli_env")
def test_cli_unknown_tenant_is_a_usage_error(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sync", "--tenant", "nobody", "--project", str(project)]) == 2
    assert "nobody" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["sync", "check", "train", "reload"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "exit codes" in capsys.readouterr().out
