"""Corrections to Rasa 3.6.21, applied in Rasa's process when it loads the live router.

Each was found with py-spy on Rasa serving the demo (bench turns) and is measured there; each
keeps what Rasa does and changes only what it costs. Written for Rasa 3.6.21: another release
is left as it is.

- Rasa checks each answer of the action server with ``jsonschema.validate``, which first checks
  Rasa's constant response schema against the JSON Schema metaschema (draft 2020-12, jsonschema
  4.17): at every call, 53% of Rasa's CPU on order lookups. Here the schema is checked once and
  each answer validated by a validator built once; an answer that fails is handed to Rasa's own
  method, so a bad answer fails exactly as before (same exception, same message).
- Rasa makes a new HTTP session, and so a new connection, for every call to the action server
  (``EndpointConfig.request``). Here each endpoint keeps one session per event loop, made with
  Rasa's headers, credentials and timeout, and as a session per request behaved otherwise (no
  cookies kept, no bound on the calls in flight), whose connections are reused (an idle one is
  closed after aiohttp's 15 s, so a Rasa spreads over new action-server replicas as they come);
  the request itself is Rasa's, unchanged. An endpoint with its own CA file (``cafile``) keeps
  Rasa's way: Rasa makes a TLS context per request, so no connection could be reused.
- Python's cyclic collector walks every tracked object in each full collection, and a Rasa
  with TensorFlow and a loaded model holds about 770,000: full collections took 180-520 ms each
  while the model loaded (measured with ``gc.callbacks``); each such collection later would be
  a pause for every conversation in flight.
  Once a model is loaded, :func:`freeze_loaded` moves what exists to the permanent generation
  (``gc.freeze``), so later collections walk only what was made since. A model replaced by
  another (``PUT /model``) is unfrozen at the next load: at most one replaced model's cycles
  wait for the load after it to be collected.
- Rasa finds an event's class by its type name by walking every subclass of ``Event`` (with
  ``inspect.isabstract`` on each), for every event it reads: each turn's tracker and each answer
  of the action server. Here the class found for a name is remembered; a name not found is
  looked up again next time, as before.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from typing import Any

logger = logging.getLogger(__name__)

#: The Rasa release these corrections were written and measured for.
RASA_VERSION = "3.6.21"
_APPLIED = "_webhook_actions_corrected"
_SESSIONS = "_webhook_actions_sessions"


def apply() -> bool:
    """Install the corrections once; whether they are in place."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction._validate_action_result, _APPLIED, False):
        return True
    if rasa.__version__ != RASA_VERSION:
        logger.info("Rasa %s is left as it is (corrections for %s)", rasa.__version__, RASA_VERSION)
        return False
    _check_schema_once()
    _keep_sessions()
    _remember_event_types()
    return True


def _check_schema_once() -> None:
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    rasas = RemoteAction._validate_action_result
    spec = RemoteAction.action_response_format_spec
    schema = spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if type(self).action_response_format_spec is not spec:  # a subclass's own schema
            return bool(rasas(self, result))
        if best_match(validator.iter_errors(result)) is None:
            return True
        return bool(rasas(self, result))  # raises Rasa's own error

    setattr(_validate_action_result, _APPLIED, True)
    RemoteAction._validate_action_result = _validate_action_result


class _Kept:
    """What ``async with endpoint.session()`` gets: the endpoint's kept session, not closed
    when the block ends."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *exc: object) -> None:
        return None


def _keep_sessions() -> None:
    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    rasas = EndpointConfig.session

    def session(self: EndpointConfig) -> Any:
        if self.cafile:
            # Rasa makes a new TLS context for every request, and aiohttp keeps connections
            # per context: none would be reused, and each would linger. Rasa's way, then.
            return rasas(self)
        loop = asyncio.get_running_loop()
        # On the endpoint itself, per loop: they go with it (an id could be another's later).
        kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession]
        kept = self.__dict__.setdefault(_SESSIONS, weakref.WeakKeyDictionary())
        found = kept.get(loop)
        if found is None or found.closed:
            # What Rasa's session() sets, and what a session per request had without asking:
            # no cookies kept between calls, no bound on the calls in flight.
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            found = kept[loop] = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=0),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return _Kept(found)

    EndpointConfig.session = session


def _remember_event_types() -> None:
    from rasa.shared.core.events import Event

    rasas = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> Any:
        found = known.get(type_name)
        if found is not None:
            return found
        resolved = rasas(type_name, default)
        if resolved is not None and resolved is not default:
            known[type_name] = resolved
        return resolved

    Event.resolve_by_type = staticmethod(resolve_by_type)


def freeze_loaded() -> None:
    """Collect what loading a model left behind, then keep everything that exists out of the
    cyclic collector's future walks (see the module's docstring)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
