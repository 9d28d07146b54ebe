"""Command line for tenant setup and the admin API: ``python -m admin COMMAND``.

    serve [--host H] [--port P]                 start the admin API (default 127.0.0.1:5056)
    migrate                                     create or upgrade the database
    keys init                                   create the key file (0600) if it is missing
    keys generate | keys rotate                 print a new Fernet key; re-encrypt stored headers
    keys list | keys retire KEY_ID              the keys and their values; retire an unused key
    tenant create NAME | tenant list
    tenant action-token NAME [--replace]        token for Rasa's action_endpoint, printed once
    skill enable|disable TENANT                 switch the (experimental) webhook skill
    budget TENANT [CALLS_PER_MINUTE]            show or set the tenant's budget of webhook calls
    operator create TENANT NAME [--admin] [--permission P ...]   prints the token once
    operator list TENANT                        with each operator's id
    token issue TENANT OPERATOR_ID              another token for an operator, printed once
    token revoke TENANT OPERATOR_ID             revoke every token of an operator

``--json`` (before the command) prints machine-readable output. Exit codes: 0 done, 1 refused
(not found, already exists, invalid), 2 usage or configuration error. The database comes from
``DATABASE_URL`` and the keys from ``WEBHOOKS_KEYS`` / ``WEBHOOKS_KEY_FILE``, as everywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from webhooks import (
    PERMISSIONS,
    ConfigurationError,
    Keyring,
    Settings,
    Store,
    StoreError,
    WebhookError,
    configure_logging,
    generate_key,
    key_id_of,
    listen,
    make_engine,
    migrate,
    open_store,
    read_key_file,
    write_key_file,
)

from ._schemas import OperatorOut

CLI_ACTOR = "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin",
        description="Tenant setup and the admin API of Webhook Actions for Rasa.",
        epilog="Exit codes: 0 done, 1 refused, 2 usage or configuration error.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the admin API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5056, help="port to listen on")

    commands.add_parser("migrate", help="apply the database migrations to DATABASE_URL")

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = tenant.add_parser("create", help="create a tenant (skill off)")
    create.add_argument("name")
    tenant.add_parser("list", help="list the tenants")
    for command, sender, after in (
        ("action-token", "Rasa's action_endpoint", "every Rasa sending it then gets 401"),
        ("tools-token", "MCP clients of the tools server", "its MCP clients then get 401"),
    ):
        issue = tenant.add_parser(command, help=f"issue the token {sender} send (printed once)")
        issue.add_argument("name")
        issue.add_argument(
            "--replace",
            action="store_true",
            help=f"replace the tenant's current token ({after})",
        )
    revoke_tools = tenant.add_parser(
        "revoke-tools-token", help="revoke the tenant's tools token (its MCP sessions end)"
    )
    revoke_tools.add_argument("name")

    skill = commands.add_parser("skill", help="switch the webhook skill of a tenant")
    skill.add_argument("action", choices=["enable", "disable"])
    skill.add_argument("tenant")

    budget = commands.add_parser(
        "budget", help="show or set a tenant's budget of webhook calls per minute"
    )
    budget.add_argument("tenant")
    budget.add_argument("calls_per_minute", nargs="?", type=int, metavar="CALLS_PER_MINUTE")

    operator = commands.add_parser("operator", help="operators").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    op_create = operator.add_parser("create", help="create an operator and print its token")
    op_create.add_argument("tenant")
    op_create.add_argument("name")
    op_create.add_argument("--admin", action="store_true", help="make a tenant admin")
    op_create.add_argument(
        "--permission",
        action="append",
        default=[],
        choices=sorted(PERMISSIONS),
        help="grant a permission (repeatable)",
    )
    op_list = operator.add_parser("list", help="list a tenant's operators")
    op_list.add_argument("tenant")

    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    for action, text in (("issue", "issue another token"), ("revoke", "revoke every token")):
        sub = token.add_parser(action, help=f"{text} of an operator")
        sub.add_argument("tenant")
        sub.add_argument(
            "operator_id", type=int, help="the operator's id (shown by `operator list`)"
        )

    keys = commands.add_parser("keys", help="encryption keys").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    keys.add_parser("init", help="create WEBHOOKS_KEY_FILE with a new key (0600) if missing")
    keys.add_parser("generate", help="print a new Fernet key")
    keys.add_parser("rotate", help="re-encrypt with the first key every value another encrypted")
    keys.add_parser("list", help="the configured keys (ids, newest first) and their values")
    retire = keys.add_parser(
        "retire", help="retire a key no value needs (and take it out of the key file)"
    )
    retire.add_argument("key_id", help="the key's id, as `keys list` shows it")
    return parser


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ._app import create_app
    from ._tester import Tester

    store = open_store(settings)
    sock = listen(args.host, args.port, what="an admin server")
    app = create_app(
        store, Tester(settings), name="webhooks_admin", auth_failures=settings.auth_failures
    )
    logging.getLogger("admin").info(
        "admin API on http://%s:%s/api/v1 (OpenAPI: /api/v1/openapi.json)", args.host, args.port
    )
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
    return 0


def _keys_init(args: argparse.Namespace, settings: Settings) -> int:
    if settings.keys:
        raise ConfigurationError(
            f"WEBHOOKS_KEYS is set, so no key file is used: unset it to use {settings.key_file}",
            variable="WEBHOOKS_KEYS",
        )
    created = not settings.key_file.exists()
    Keyring.from_file(settings.key_file, create=True)
    text = "created" if created else "kept the existing"
    _emit(
        args,
        {"key_file": str(settings.key_file), "created": created},
        f"{text} key file {settings.key_file}",
    )
    return 0


def _list_keys(args: argparse.Namespace, store: Store) -> None:
    use = dict(store.key_use())
    rows = [
        {"key_id": key, "position": position, "values": use.pop(key, 0)}
        for position, key in enumerate(store.keyring.ids, start=1)
    ]
    lines = [f"{row['position']}\t{row['key_id']}\t{row['values']} value(s)" for row in rows]
    if use:  # values of keys not configured (or not recorded): verify_keys let them through
        lines += [f"-\t{key or '(not recorded)'}\t{count} value(s)" for key, count in use.items()]
    _emit(args, rows, "\n".join(lines))


def _retire(args: argparse.Namespace, settings: Settings, store: Store) -> None:
    key_id = args.key_id
    if key_id not in store.keyring.ids:
        raise ConfigurationError(f"no configured key has the id {key_id} (see `keys list`)")
    store.retire_key(key_id)
    if settings.keys:
        text = f"retired key {key_id}: now take it out of WEBHOOKS_KEYS everywhere"
    else:
        kept = [key for key in read_key_file(settings.key_file) if key_id_of(key) != key_id]
        write_key_file(settings.key_file, kept)
        text = f"retired key {key_id} and took it out of {settings.key_file}"
    _emit(args, {"retired": key_id}, text)


def _rotate(args: argparse.Namespace, store: Store) -> None:
    count = store.rotate_keys()
    if count:
        text = f"re-encrypted {count} stored secret(s) with the newest key"
    else:
        text = "nothing to re-encrypt: every stored secret already uses the newest key"
        if len(store.keyring.ids) == 1:
            text += (
                " (to rotate, put a new key from `keys generate` first, the current one after "
                "it, then run `keys rotate` again)"
            )
    _emit(args, {"rotated": count}, text)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(args, settings)
    if args.command == "migrate":
        engine = make_engine(settings.database_url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        _emit(args, {"migrated": True}, f"migrations applied to {shown}")
        return 0
    if args.command == "keys" and args.action == "generate":
        key = generate_key()
        _emit(args, {"key": key}, key)
        return 0
    if args.command == "keys" and args.action == "init":
        return _keys_init(args, settings)

    store = open_store(settings)
    if args.command == "keys" and args.action == "rotate":
        _rotate(args, store)
    elif args.command == "keys" and args.action == "list":
        _list_keys(args, store)
    elif args.command == "keys":
        _retire(args, settings, store)
    elif args.command == "tenant" and args.action == "create":
        tenant = store.create_tenant(args.name, actor=CLI_ACTOR)
        _emit(
            args, {"tenant": tenant.name, "skill_enabled": False}, f"created tenant {tenant.name}"
        )
    elif args.command == "tenant" and args.action == "action-token":
        token = store.issue_action_token(args.name, actor=CLI_ACTOR, replace=args.replace)
        _emit(args, {"tenant": args.name, "action_token": token}, token)
    elif args.command == "tenant" and args.action == "tools-token":
        token = store.issue_tools_token(args.name, actor=CLI_ACTOR, replace=args.replace)
        _emit(args, {"tenant": args.name, "tools_token": token}, token)
    elif args.command == "tenant" and args.action == "revoke-tools-token":
        revoked = store.revoke_tools_token(args.name, actor=CLI_ACTOR)
        text = "tools token revoked" if revoked else f"{args.name} had no tools token"
        _emit(args, {"tenant": args.name, "revoked": revoked}, text)
    elif args.command == "tenant":
        tenants = store.list_tenants()
        _emit(
            args,
            [{"tenant": t.name, "skill_enabled": t.skill_enabled} for t in tenants],
            "\n".join(f"{t.name}\tskill {'on' if t.skill_enabled else 'off'}" for t in tenants),
        )
    elif args.command == "skill":
        tenant = store.set_skill(args.tenant, args.action == "enable", actor=CLI_ACTOR)
        state = "on" if tenant.skill_enabled else "off"
        _emit(
            args,
            {"tenant": tenant.name, "skill_enabled": tenant.skill_enabled},
            f"webhook skill of {tenant.name}: {state}",
        )
    elif args.command == "budget":
        if args.calls_per_minute is None:
            tenant = store.get_tenant(args.tenant)
        else:
            tenant = store.set_calls_per_minute(args.tenant, args.calls_per_minute, actor=CLI_ACTOR)
        _emit(
            args,
            {"tenant": tenant.name, "calls_per_minute": tenant.calls_per_minute},
            f"webhook calls per minute of {tenant.name}: {tenant.calls_per_minute}",
        )
    elif args.command == "operator" and args.action == "create":
        operator, token = store.create_operator(
            args.tenant, args.name, admin=args.admin, permissions=args.permission, actor=CLI_ACTOR
        )
        data = OperatorOut.of(operator).model_dump() | {"token": token}
        _emit(
            args,
            data,
            f"operator {operator.id} ({operator.name}) created; its token, shown once:\n{token}",
        )
    elif args.command == "operator":
        operators = store.list_operators(args.tenant)
        _emit(
            args,
            [OperatorOut.of(o).model_dump() for o in operators],
            "\n".join(
                "\t".join(
                    [
                        str(o.id),
                        o.name,
                        "admin" if o.is_admin else "",
                        ",".join(sorted(o.permissions)),
                    ]
                )
                for o in operators
            ),
        )
    elif args.command == "token" and args.action == "issue":
        token = store.issue_token(args.tenant, args.operator_id, actor=CLI_ACTOR)
        _emit(args, {"token": token}, token)
    elif args.command == "token":
        count = store.revoke_tokens(args.tenant, args.operator_id, actor=CLI_ACTOR)
        _emit(args, {"revoked": count}, f"revoked {count} token(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ()
        configure_logging(settings.log_level)
        return _run(args, settings)
    except ConfigurationError as exc:
        _fail(args, exc)
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (StoreError, WebhookError) as exc:
        _fail(args, exc)
        print(f"refused: {exc}", file=sys.stderr)
        return 1


def _fail(args: argparse.Namespace, exc: WebhookError) -> None:
    if args.json:
        print(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}))


if __name__ == "__main__":
    sys.exit(main())
