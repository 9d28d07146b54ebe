"""``reload``: PUT /model with the model's path, then wait until GET /status names it.

Against a small stand-in for Rasa's HTTP API (the real one is driven by the end-to-end tests).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from bot import RasaAPI, RasaUnreachable
from bot.__main__ import main

TOKEN = "rasa-token-for-tests"


class FakeRasa(BaseHTTPRequestHandler):
    state: ClassVar[dict[str, Any]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def _authorised(self) -> bool:
        query = parse_qs(urlsplit(self.path).query)
        if query.get("token") != [TOKEN]:
            self.send_response(401)
            self.end_headers()
            return False
        return True

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self._authorised():
            # Rasa reports the new model only after a moment.
            self.state["polls"] += 1
            loaded = self.state["pending"] if self.state["polls"] > 1 else self.state["loaded"]
            self._json({"model_file": loaded, "model_id": "abc", "num_active_training_jobs": 0})

    def do_PUT(self) -> None:
        if self._authorised():
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.state["pending"] = body["model_file"]
            self.state["polls"] = 0
            self.send_response(204)
            self.end_headers()


@pytest.fixture
def rasa_url() -> Iterator[str]:
    FakeRasa.state = {"loaded": "models/old.tar.gz", "pending": None, "polls": 0}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_reload_puts_the_newest_model_and_waits(
    rasa_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "a.tar.gz").write_bytes(b"old")
    newest = models / "b.tar.gz"
    newest.write_bytes(b"new")
    code = main(["reload", "--project", str(tmp_path), "--rasa", rasa_url, "--token", TOKEN])
    assert code == 0
    assert FakeRasa.state["pending"] == str(newest.resolve())
    assert "b.tar.gz" in capsys.readouterr().out


def test_wrong_token_fails_with_3(rasa_url: str, tmp_path: Path) -> None:
    (tmp_path / "m.tar.gz").write_bytes(b"m")
    code = main(["reload", "--model", str(tmp_path / "m.tar.gz"), "--rasa", rasa_url])
    assert code == 3


def test_unreachable_rasa_is_reported(tmp_path: Path) -> None:
    (tmp_path / "m.tar.gz").write_bytes(b"m")
    api = RasaAPI(url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(RasaUnreachable, match="did not answer"):
        api.load(tmp_path / "m.tar.gz", wait=1)
