"""``python -m bot``: the bot designer's tooling (sync, check, train, reload).

Exit codes: 0 done (``check``: the model serves every stored action, live or trained); 1
``check`` found that a retrain is needed (a model older than the generic dispatch); 2 usage or
configuration error (bad option, store or tenant not found, unreadable designer file); 3 the
work failed (``rasa train`` failed, no model, Rasa unreachable or not loading the model).

Environment: the store's variables (``DATABASE_URL``, ``WEBHOOKS_KEYS``/``WEBHOOKS_KEY_FILE``,
see docs/operators.md), ``WEBHOOKS_DEFAULT_TENANT`` (the tenant, default ``demo``), ``RASA_URL``
and ``RASA_TOKEN`` (for ``reload``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from webhooks import ConfigurationError, NotFound, Settings, StoreError, Webhook, open_store

from ._documents import ProjectFileError
from ._drift import compare
from ._model import Model, ModelError, newest_model
from ._project import Project
from ._rasa import DEFAULT_RASA_URL, RasaAPI, RasaUnreachable
from ._sync import sync
from ._training import DEFAULT_RASA, TrainingFailed, fingerprint, train

__all__ = ["main"]

OK, RETRAIN, USAGE, FAILED = 0, 1, 2, 3
EPILOG = (
    "exit codes: 0 done (check: every action served), 1 retrain needed (check), "
    "2 usage or configuration error, 3 failed (training, model, Rasa)"
)


def _definitions(args: argparse.Namespace) -> tuple[str, list[Webhook]]:
    settings = Settings.from_environ()
    tenant = args.tenant or settings.default_tenant or "demo"
    store = open_store(settings)
    return tenant, store.catalog.list(tenant)


def _sync(args: argparse.Namespace) -> int:
    tenant, webhooks = _definitions(args)
    project = Project(Path(args.project))
    result = sync(project, webhooks, tenant=tenant)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for path in result.written:
        print(f"wrote {path}")
    for path in result.unchanged:
        print(f"unchanged {path}")
    print(f"{len(webhooks)} webhook action(s) of tenant {tenant!r}")
    return OK


def _model_path(args: argparse.Namespace, project: Project) -> Path:
    """``--model``, else the model of the project as it is now, else the newest in models/.

    Not merely the newest file: after a revert, ``train`` reuses an older cached model by
    fingerprint, and that is the one to check or load.
    """
    if args.model:
        return newest_model(Path(args.model))
    current = project.models_dir / f"{fingerprint(project)}.tar.gz"
    return current if current.exists() else newest_model(project.models_dir)


def _check(args: argparse.Namespace) -> int:
    tenant, webhooks = _definitions(args)
    project = Project(Path(args.project))
    model = Model.read(_model_path(args, project))
    drift = compare(webhooks, model.domain)
    print(f"model {model.path} against tenant {tenant!r} ({len(webhooks)} definition(s))")
    for line in drift.lines():
        print(f"  {line}")
    if drift.retrain_needed:
        print("retrain needed: python -m bot sync && python -m bot train && python -m bot reload")
        return RETRAIN
    if drift.live_only:
        print("served: new actions are routed live; training on their examples is optional")
    elif drift.left_over:
        print("served: deleted actions get the help; a retrain would drop their intents")
    else:
        print("up to date")
    return OK


def _train(args: argparse.Namespace) -> int:
    training = train(Project(Path(args.project)), rasa=Path(args.rasa_bin), force=args.force)
    if training.reused:
        print(f"unchanged bot: reused the model {training.model}")
    else:
        print(f"trained {training.model} in {training.seconds:.1f} s")
    return OK


def _reload(args: argparse.Namespace) -> int:
    project = Project(Path(args.project))
    model = _model_path(args, project)
    settings = Settings.from_environ()
    url = args.rasa or settings.rasa_url
    api = RasaAPI(url=url, token=args.token or settings.rasa_token, timeout=args.timeout)
    status = api.load(model, wait=args.timeout)
    print(f"Rasa at {url} runs {status.get('model_file')} (model {status.get('model_id')})")
    return OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Bot designer's tooling: generate the Rasa domain, rules and NLU starters "
        "from the stored webhook definitions, check the trained model, train, hot-load.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_, epilog=EPILOG)
        sub.add_argument("--project", default=".", help="the Rasa project directory (default .)")
        return sub

    tenant_help = "the tenant (default: $WEBHOOKS_DEFAULT_TENANT, else demo)"
    sub = command(
        "sync",
        "write domain/webhooks.generated.yml, data/webhooks.generated.rules.yml and "
        "data/webhooks.generated.nlu.yml from the stored definitions (designer files are "
        "never written)",
    )
    sub.add_argument("--tenant", help=tenant_help)
    sub.set_defaults(handler=_sync)

    sub = command(
        "check",
        "compare the stored definitions with a trained model: which are routed live only, "
        "which trained ones were deleted; exit 1 if the model predates the generic dispatch",
    )
    sub.add_argument("--tenant", help=tenant_help)
    sub.add_argument(
        "--model",
        help="a model .tar.gz or a directory (default: the model of the project as it is now, "
        "else the newest in models/)",
    )
    sub.set_defaults(handler=_check)

    sub = command("train", "rasa train, unless models/<fingerprint>.tar.gz exists already")
    sub.add_argument(
        "--rasa-bin",
        default=str(DEFAULT_RASA),
        help=f"the rasa executable (default {DEFAULT_RASA})",
    )
    sub.add_argument("--force", action="store_true", help="train even if the model exists")
    sub.set_defaults(handler=_train)

    sub = command("reload", "hot-load the newest model into a running Rasa (PUT /model)")
    sub.add_argument(
        "--rasa",
        help=f"Rasa's URL (default: $RASA_URL, else {DEFAULT_RASA_URL})",
    )
    sub.add_argument(
        "--token",
        help="Rasa's --auth-token (default: $RASA_TOKEN, better: ps shows a command line to all)",
    )
    sub.add_argument(
        "--model",
        help="a model .tar.gz or a directory (default: the model of the project as it is now, "
        "else the newest in models/)",
    )
    sub.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")
    sub.set_defaults(handler=_reload)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except (ConfigurationError, NotFound, StoreError, ProjectFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except (ModelError, TrainingFailed, RasaUnreachable) as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
