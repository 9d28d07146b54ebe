"""A running Rasa server's HTTP API (``rasa run --enable-api --auth-token T``).

Only what hot-loading needs: ``PUT /model`` with the model's path (Rasa reads the file itself,
so it must see the same file system) and ``GET /status`` to see which model is loaded. The
token travels as ``?token=``, as Rasa expects.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_RASA_URL", "RasaAPI", "RasaUnreachable"]

DEFAULT_RASA_URL = "http://127.0.0.1:5005"


class RasaUnreachable(Exception):
    """Rasa did not answer, refused the token, or did not load the model in time."""


@dataclass(frozen=True, slots=True)
class RasaAPI:
    """The HTTP API of one Rasa server."""

    url: str = DEFAULT_RASA_URL
    token: str | None = field(default=None, repr=False)
    timeout: float = 120.0

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode({'token': self.token})}" if self.token else ""
        if not self.url.startswith(("http://", "https://")):
            raise RasaUnreachable(f"{self.url}: not an http(s) URL")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            f"{self.url.rstrip('/')}{path}{query}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise RasaUnreachable(
                f"{method} {path}: HTTP {exc.code} (is the API enabled, the token right?)"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RasaUnreachable(f"{method} {path}: {self.url} did not answer") from exc
        return json.loads(raw) if raw else None

    def status(self) -> dict[str, Any]:
        """``GET /status``: ``model_file``, ``model_id``, ``num_active_training_jobs``."""
        answer = self._request("GET", "/status")
        return answer if isinstance(answer, dict) else {}

    def load(self, model: Path, *, wait: float = 60.0) -> dict[str, Any]:
        """Load ``model`` (``PUT /model``) and wait until ``/status`` names it; the status."""
        self._request("PUT", "/model", {"model_file": str(model.resolve())})
        deadline = time.monotonic() + wait
        while True:
            status = self.status()
            if Path(str(status.get("model_file", ""))).name == model.name:
                return status
            if time.monotonic() > deadline:
                raise RasaUnreachable(f"Rasa still reports {status.get('model_file')!r}")
            time.sleep(0.5)
