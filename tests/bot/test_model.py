"""``train`` and ``check`` against a real model, trained once for this module by the real Rasa
(``.venv-bot``; a test project with 5 DIET epochs), and ``rasa data validate`` on the sync output.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bot import (
    DesignerDomain,
    Model,
    Project,
    TrainingFailed,
    compare,
    fingerprint,
    sync,
    train,
)
from bot.__main__ import main
from bot._domain import build_domain
from tests.bot.conftest import (
    DEFINITIONS,
    add_tenant,
    environ_for,
    make_project,
    open_test_store,
    require_rasa,
)
from webhooks import Store

pytestmark = [pytest.mark.slow, pytest.mark.rasa]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store (tenant acme), a synced project and its model, trained once."""
    rasa = require_rasa()
    base = tmp_path_factory.mktemp("trained")
    (base / "store").mkdir()
    store = open_test_store(base / "store")
    add_tenant(store, "acme", DEFINITIONS)
    project = make_project(base / "bot")
    sync(Project(project), store.catalog.list("acme"), tenant="acme")
    started = time.monotonic()
    training = train(Project(project), rasa=rasa)
    return {
        "store": store,
        "store_dir": base / "store",
        "project": project,
        "training": training,
        "seconds": time.monotonic() - started,
    }


def test_synced_project_passes_rasa_data_validate(project: Path, store: Store) -> None:
    rasa = require_rasa()
    sync(Project(project), store.catalog.list("acme"), tenant="acme")
    completed = subprocess.run(
        [str(rasa), "data", "validate", "--domain", "domain", "--data", "data"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def test_training_makes_the_fingerprinted_model(world: dict[str, Any]) -> None:
    training = world["training"]
    assert not training.reused
    assert training.model == world["project"] / "models" / f"{training.fingerprint}.tar.gz"
    assert training.model.is_file()


def test_unchanged_bot_is_not_retrained(world: dict[str, Any]) -> None:
    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("rasa train ran for an unchanged bot")

    again = train(Project(world["project"]), rasa=require_rasa(), run=must_not_run)  # type: ignore[arg-type]
    assert again.reused
    assert again.model == world["training"].model


def test_model_domain_is_read_from_the_archive(world: dict[str, Any]) -> None:
    model = Model.read(world["training"].model)
    assert model.model_id
    assert "action_webhook" in model.domain["actions"]
    assert model.domain["forms"]["webhook_form"] == {"required_slots": ["webhook_answer"]}
    assert "webhook_order_status" in model.domain["intents"]


def _check(world: dict[str, Any], tenant: str, monkeypatch: pytest.MonkeyPatch) -> int:
    for name, value in environ_for(world["store_dir"]).items():
        monkeypatch.setenv(name, value)
    return main(["check", "--tenant", tenant, "--project", str(world["project"])])


def test_check_is_quiet_when_the_model_matches(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(world, "acme", monkeypatch) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_new_action_or_parameter_needs_no_retrain(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = [dict(d) for d in DEFINITIONS]
    changed[0] = {
        **changed[0],
        "parameters": [
            *changed[0]["parameters"],
            {"name": "email", "type": "string", "description": "your email"},
        ],
    }
    changed.append({**DEFINITIONS[-1], "name": "weather"})
    add_tenant(world["store"], "grown", changed)
    assert _check(world, "grown", monkeypatch) == 0
    out = capsys.readouterr().out
    assert "routed live, not in the trained model: weather" in out
    assert "retrain needed" not in out


def test_check_reports_a_deleted_action(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add_tenant(world["store"], "shrunk", DEFINITIONS[1:])
    assert _check(world, "shrunk", monkeypatch) == 0
    assert "trained but deleted from the store: order_status" in capsys.readouterr().out


def test_check_ignores_the_designers_own_actions(store: Store) -> None:
    domain = build_domain([], DesignerDomain())
    domain["intents"].append("greet")
    domain["actions"] += ["action_hello", "utter_greet"]
    assert compare([], domain).lines() == []


def test_only_a_model_without_the_dispatch_needs_a_retrain(store: Store) -> None:
    domain = build_domain(store.catalog.list("acme"), DesignerDomain())
    order = store.catalog.get("acme", "order_status")
    store.catalog.update(
        "acme", "order_status", {"parameters": list(order.parameters[:1])}, actor="t"
    )
    assert not compare(store.catalog.list("acme"), domain).retrain_needed
    # A model trained before the generic dispatch: per-action forms only.
    old = {"intents": ["webhook_order_status"], "actions": ["order_status"],
           "forms": {"order_status_form": {"required_slots": ["order_id"]}}}  # fmt: skip
    drift = compare(store.catalog.list("acme"), old)
    assert drift.retrain_needed
    assert drift.lines()[0].startswith("the model predates the generic dispatch")


def test_check_without_a_model_fails_with_3(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, store_dir: Path
) -> None:
    for name, value in environ_for(store_dir).items():
        monkeypatch.setenv(name, value)
    assert main(["check", "--tenant", "acme", "--project", str(tmp_path)]) == 3


# -- the training cache, without Rasa ----------------------------------------------------------


def _fake_rasa(tmp_path: Path) -> Path:
    rasa = tmp_path / "rasa"
    rasa.write_text("#!/bin/sh\nexit 0\n")
    rasa.chmod(0o755)
    return rasa


def test_fingerprint_follows_the_bot_files(project: Path) -> None:
    layout = Project(project)
    first = fingerprint(layout)
    assert fingerprint(layout) == first
    (project / "models").mkdir()
    (project / "models" / "old.tar.gz").write_bytes(b"x")  # models are not part of the bot
    assert fingerprint(layout) == first
    with (project / "data" / "nlu.yml").open("a") as file:
        file.write("\n")
    assert fingerprint(layout) != first


def test_train_runs_rasa_once_then_reuses(project: Path, tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], *, cwd: Path, **kwargs: object) -> Any:
        calls.append(command)
        out = Path(cwd) / command[command.index("--out") + 1]
        out.mkdir(exist_ok=True)
        (out / f"{command[command.index('--fixed-model-name') + 1]}.tar.gz").write_bytes(b"m")
        return subprocess.CompletedProcess(command, 0)

    rasa = _fake_rasa(tmp_path)
    first = train(Project(project), rasa=rasa, run=fake_run)
    second = train(Project(project), rasa=rasa, run=fake_run)
    assert (first.reused, second.reused) == (False, True)
    assert len(calls) == 1
    assert calls[0][1:6] == ["train", "--config", "config.yml", "--domain", "domain"]


def test_failed_training_is_reported(project: Path, tmp_path: Path) -> None:
    def failing(command: list[str], **kwargs: object) -> Any:
        return subprocess.CompletedProcess(command, 1)

    with pytest.raises(TrainingFailed, match="exit 1"):
        train(Project(project), rasa=_fake_rasa(tmp_path), run=failing)


def test_missing_rasa_is_reported(project: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingFailed, match="make venv-bot"):
        train(Project(project), rasa=tmp_path / "nowhere" / "rasa")
