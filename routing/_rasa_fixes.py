"""A correction to Rasa 3.6.21, applied in Rasa's process when it loads the live router.

Rasa checks each answer of the action server against its response schema with
``jsonschema.validate``, which first checks that constant schema against the JSON Schema
metaschema (draft 2020-12 with jsonschema 4.17): at every call. Measured with py-spy on Rasa
serving order lookups (two calls a turn), that check took 53% of Rasa's CPU. Here the schema is
checked once and each answer validated by a validator built once; an answer that fails is handed
to Rasa's own method, so a bad answer fails exactly as before (same exception, same message).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

#: The Rasa release this correction was written and measured for; others are left as they are.
RASA_VERSION = "3.6.21"


def apply() -> bool:
    """Install the correction once; whether it is in place."""
    import rasa
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    current = RemoteAction._validate_action_result
    if getattr(current, "_checked_once", False):
        return True
    if rasa.__version__ != RASA_VERSION:
        logger.info("Rasa %s: its action-answer validation is left as it is", rasa.__version__)
        return False
    spec = RemoteAction.action_response_format_spec
    schema = spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if type(self).action_response_format_spec is not spec:  # a subclass's own schema
            return bool(current(self, result))
        if best_match(validator.iter_errors(result)) is None:
            return True
        return bool(current(self, result))  # raises Rasa's own error

    _validate_action_result._checked_once = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    return True
