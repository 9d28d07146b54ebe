"""The image's tests reuse the end-to-end assistant: the demo service with its CA and the
trained demo bot on the host's Rasa (.venv-bot)."""

from tests.e2e.conftest import assistant  # noqa: F401 (a fixture, used by name)
