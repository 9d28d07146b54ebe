"""Bot designer's tooling: Rasa domain, rules and NLU starters generated from the stored webhook
definitions, drift checks against a trained model, cached training and hot-loading.

Runs in the plugin runtime and imports only the core's public names; the core imports nothing
from here. ``python -m bot --help`` lists the commands.
"""

from __future__ import annotations

from ._drift import Drift, compare
from ._model import Model, ModelError, newest_model
from ._project import DesignerDomain, Project
from ._rasa import RasaAPI, RasaUnreachable
from ._sync import Sync, sync
from ._training import Training, TrainingFailed, fingerprint, train

__all__ = [
    "DesignerDomain",
    "Drift",
    "Model",
    "ModelError",
    "Project",
    "RasaAPI",
    "RasaUnreachable",
    "Sync",
    "Training",
    "TrainingFailed",
    "compare",
    "fingerprint",
    "newest_model",
    "sync",
    "train",
]
