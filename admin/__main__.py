"""Command line for tenant setup and the admin API: ``python -m admin COMMAND``.

    serve [--host H] [--port P]                 start the admin API (default 127.0.0.1:5056)
    migrate                                     create or upgrade the database
    keys init                                   create the key file (0600) if it is missing
    keys generate | keys rotate                 print a new Fernet key; re-encrypt stored headers
    keys list | keys retire KEY_ID              the keys and their values; retire an unused key
    tenant create NAME | tenant list
    tenant action-token NAME [--replace]        token for Rasa's action_endpoint, printed once
    tenant tools-token NAME [--replace]         token for the tools server's MCP clients, once
    tenant revoke-tools-token NAME              revoke it (its MCP sessions end)
    skill enable|disable TENANT                 switch the (experimental) webhook skill
    budget TENANT [CALLS_PER_MINUTE]            show or set the tenant's budget of webhook calls
    operator create TENANT NAME [--admin] [--permission P ...]   prints the token once
    operator list TENANT                        with each operator's id
    token issue TENANT OPERATOR_ID              another token for an operator, printed once
    token revoke TENANT OPERATOR_ID             revoke every token of an operator

The commands are one table, :data:`COMMANDS` (``migrate`` and ``keys generate`` are the core's,
as ``python -m webhooks`` has them). ``--json`` (before the command) prints machine-readable
output. Exit codes: 0 done, 1 refused (not found, already exists, invalid), 2 usage or
configuration error. The database comes from ``DATABASE_URL`` and the keys from
``WEBHOOKS_KEYS`` / ``WEBHOOKS_KEY_FILE``, as everywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from webhooks import (
    GENERATE_KEY_COMMAND,
    MIGRATE_COMMAND,
    PERMISSIONS,
    Command,
    CommandOutput,
    ConfigurationError,
    Keyring,
    Settings,
    Store,
    StoreError,
    WebhookError,
    command_of,
    command_parser,
    configure_logging,
    key_id_of,
    listen,
    open_store,
    read_key_file,
    write_key_file,
)
from webhooks import CommandArgument as Arg

from ._schemas import OperatorOut

CLI_ACTOR = "cli"


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


@contextmanager
def _opened(settings: Settings) -> Iterator[Store]:
    """The store ``settings`` describe, its connections closed after the command."""
    store = open_store(settings)
    try:
        yield store
    finally:
        store.engine.dispose()


StoreHandler = Callable[[argparse.Namespace, Store], CommandOutput]


def _on_store(handler: StoreHandler) -> Callable[[argparse.Namespace, Settings], CommandOutput]:
    """``handler`` run on the store ``settings`` describe."""

    def run(args: argparse.Namespace, settings: Settings) -> CommandOutput:
        with _opened(settings) as store:
            return handler(args, store)

    return run


def _keys_init(args: argparse.Namespace, settings: Settings) -> CommandOutput:
    if settings.keys:
        raise ConfigurationError(
            f"WEBHOOKS_KEYS is set, so no key file is used: unset it to use {settings.key_file}",
            variable="WEBHOOKS_KEYS",
        )
    created = not settings.key_file.exists()
    Keyring.from_file(settings.key_file, create=True)
    text = "created" if created else "kept the existing"
    return CommandOutput(
        {"key_file": str(settings.key_file), "created": created},
        f"{text} key file {settings.key_file}",
    )


def _list_keys(args: argparse.Namespace, store: Store) -> CommandOutput:
    use = dict(store.keys.usage())
    rows = [
        {"key_id": key, "position": position, "values": use.pop(key, 0)}
        for position, key in enumerate(store.keyring.ids, start=1)
    ]
    lines = [f"{row['position']}\t{row['key_id']}\t{row['values']} value(s)" for row in rows]
    if use:  # values of keys not configured (or not recorded): keys.verify let them through
        lines += [f"-\t{key or '(not recorded)'}\t{count} value(s)" for key, count in use.items()]
    return CommandOutput(rows, "\n".join(lines))


def _retire(args: argparse.Namespace, settings: Settings) -> CommandOutput:
    key_id = args.key_id
    with _opened(settings) as store:
        if key_id not in store.keyring.ids:
            raise ConfigurationError(f"no configured key has the id {key_id} (see `keys list`)")
        store.keys.retire(key_id)
    if settings.keys:
        text = f"retired key {key_id}: now take it out of WEBHOOKS_KEYS everywhere"
    else:
        kept = [key for key in read_key_file(settings.key_file) if key_id_of(key) != key_id]
        write_key_file(settings.key_file, kept)
        text = f"retired key {key_id} and took it out of {settings.key_file}"
    return CommandOutput({"retired": key_id}, text)


def _rotate(args: argparse.Namespace, store: Store) -> CommandOutput:
    count = store.keys.rotate()
    if count:
        text = f"re-encrypted {count} stored secret(s) with the newest key"
    else:
        text = "nothing to re-encrypt: every stored secret already uses the newest key"
        if len(store.keyring.ids) == 1:
            text += (
                " (to rotate, put a new key from `keys generate` first, the current one after "
                "it, then run `keys rotate` again)"
            )
    return CommandOutput({"rotated": count}, text)


def _tenant_create(args: argparse.Namespace, store: Store) -> CommandOutput:
    tenant = store.accounts.create_tenant(args.name, actor=CLI_ACTOR)
    return CommandOutput(
        {"tenant": tenant.name, "skill_enabled": False}, f"created tenant {tenant.name}"
    )


def _tenant_list(args: argparse.Namespace, store: Store) -> CommandOutput:
    tenants = store.accounts.list_tenants()
    return CommandOutput(
        [{"tenant": t.name, "skill_enabled": t.skill_enabled} for t in tenants],
        "\n".join(f"{t.name}\tskill {'on' if t.skill_enabled else 'off'}" for t in tenants),
    )


def _action_token(args: argparse.Namespace, store: Store) -> CommandOutput:
    token = store.accounts.issue_action_token(args.name, actor=CLI_ACTOR, replace=args.replace)
    return CommandOutput({"tenant": args.name, "action_token": token}, token)


def _tools_token(args: argparse.Namespace, store: Store) -> CommandOutput:
    token = store.accounts.issue_tools_token(args.name, actor=CLI_ACTOR, replace=args.replace)
    return CommandOutput({"tenant": args.name, "tools_token": token}, token)


def _revoke_tools_token(args: argparse.Namespace, store: Store) -> CommandOutput:
    revoked = store.accounts.revoke_tools_token(args.name, actor=CLI_ACTOR)
    text = "tools token revoked" if revoked else f"{args.name} had no tools token"
    return CommandOutput({"tenant": args.name, "revoked": revoked}, text)


def _skill(args: argparse.Namespace, store: Store) -> CommandOutput:
    tenant = store.accounts.set_skill(args.tenant, args.action == "enable", actor=CLI_ACTOR)
    state = "on" if tenant.skill_enabled else "off"
    return CommandOutput(
        {"tenant": tenant.name, "skill_enabled": tenant.skill_enabled},
        f"webhook skill of {tenant.name}: {state}",
    )


def _budget(args: argparse.Namespace, store: Store) -> CommandOutput:
    if args.calls_per_minute is None:
        tenant = store.accounts.get_tenant(args.tenant)
    else:
        tenant = store.budgets.set_calls_per_minute(
            args.tenant, args.calls_per_minute, actor=CLI_ACTOR
        )
    return CommandOutput(
        {"tenant": tenant.name, "calls_per_minute": tenant.calls_per_minute},
        f"webhook calls per minute of {tenant.name}: {tenant.calls_per_minute}",
    )


def _operator_create(args: argparse.Namespace, store: Store) -> CommandOutput:
    operator, token = store.accounts.create_operator(
        args.tenant, args.name, admin=args.admin, permissions=args.permission, actor=CLI_ACTOR
    )
    return CommandOutput(
        OperatorOut.of(operator).model_dump() | {"token": token},
        f"operator {operator.id} ({operator.name}) created; its token, shown once:\n{token}",
    )


def _operator_list(args: argparse.Namespace, store: Store) -> CommandOutput:
    operators = store.accounts.list_operators(args.tenant)
    return CommandOutput(
        [OperatorOut.of(o).model_dump() for o in operators],
        "\n".join(
            "\t".join(
                [str(o.id), o.name, "admin" if o.is_admin else "", ",".join(sorted(o.permissions))]
            )
            for o in operators
        ),
    )


def _token_issue(args: argparse.Namespace, store: Store) -> CommandOutput:
    token = store.accounts.issue_token(args.tenant, args.operator_id, actor=CLI_ACTOR)
    return CommandOutput({"token": token}, token)


def _token_revoke(args: argparse.Namespace, store: Store) -> CommandOutput:
    count = store.accounts.revoke_tokens(args.tenant, args.operator_id, actor=CLI_ACTOR)
    return CommandOutput({"revoked": count}, f"revoked {count} token(s)")


_OPERATOR_ID = Arg("operator_id", type=int, help="the operator's id (shown by `operator list`)")

#: The help of each command's first word when more follow.
GROUPS = {
    "tenant": "tenants",
    "operator": "operators",
    "token": "API tokens",
    "keys": "encryption keys",
}

#: Every command, in the order ``--help`` lists them: its path, help, handler and arguments.
COMMANDS: tuple[Command, ...] = (
    Command(("serve",), "start the admin API", _serve, (
        Arg("--host", default="127.0.0.1", help="address to listen on"),
        Arg("--port", type=int, default=5056, help="port to listen on"))),
    MIGRATE_COMMAND,
    Command(("tenant", "create"), "create a tenant (skill off)",
        _on_store(_tenant_create), (Arg("name"),)),
    Command(("tenant", "list"), "list the tenants",
        _on_store(_tenant_list)),
    Command(("tenant", "action-token"),
        "issue the token Rasa's action_endpoint send (printed once)",
        _on_store(_action_token), (
        Arg("name"),
        Arg("--replace", action="store_true",
            help="replace the tenant's current token (every Rasa sending it then gets 401)"))),
    Command(("tenant", "tools-token"),
        "issue the token MCP clients of the tools server send (printed once)",
        _on_store(_tools_token), (
        Arg("name"),
        Arg("--replace", action="store_true",
            help="replace the tenant's current token (its MCP clients then get 401)"))),
    Command(("tenant", "revoke-tools-token"),
        "revoke the tenant's tools token (its MCP sessions end)",
        _on_store(_revoke_tools_token), (Arg("name"),)),
    Command(("skill",), "switch the webhook skill of a tenant",
        _on_store(_skill), (
        Arg("action", choices=["enable", "disable"]),
        Arg("tenant"))),
    Command(("budget",), "show or set a tenant's budget of webhook calls per minute",
        _on_store(_budget), (
        Arg("tenant"),
        Arg("calls_per_minute", nargs="?", type=int, metavar="CALLS_PER_MINUTE"))),
    Command(("operator", "create"), "create an operator and print its token",
        _on_store(_operator_create), (
        Arg("tenant"),
        Arg("name"),
        Arg("--admin", action="store_true", help="make a tenant admin"),
        Arg("--permission", action="append", default=[], choices=sorted(PERMISSIONS),
            help="grant a permission (repeatable)"))),
    Command(("operator", "list"), "list a tenant's operators",
        _on_store(_operator_list), (Arg("tenant"),)),
    Command(("token", "issue"), "issue another token of an operator",
        _on_store(_token_issue), (Arg("tenant"), _OPERATOR_ID)),
    Command(("token", "revoke"), "revoke every token of an operator",
        _on_store(_token_revoke), (Arg("tenant"), _OPERATOR_ID)),
    Command(("keys", "init"), "create WEBHOOKS_KEY_FILE with a new key (0600) if missing",
        _keys_init),
    GENERATE_KEY_COMMAND,
    Command(("keys", "rotate"), "re-encrypt with the first key every value another encrypted",
        _on_store(_rotate)),
    Command(("keys", "list"), "the configured keys (ids, newest first) and their values",
        _on_store(_list_keys)),
    Command(("keys", "retire"), "retire a key no value needs (and take it out of the key file)",
        _retire, (Arg("key_id", help="the key's id, as `keys list` shows it"),)),
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin",
        description="Tenant setup and the admin API of Webhook Actions for Rasa.",
        epilog="Exit codes: 0 done, 1 refused, 2 usage or configuration error.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return command_parser(parser, COMMANDS, GROUPS)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_environ()
        configure_logging(settings.log_level)
        outcome = command_of(args).handler(args, settings)
    except ConfigurationError as exc:
        _fail(args, exc)
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (StoreError, WebhookError) as exc:
        _fail(args, exc)
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    if isinstance(outcome, int):
        return outcome
    outcome.show(as_json=args.json)
    return 0


def _fail(args: argparse.Namespace, exc: WebhookError) -> None:
    if args.json:
        print(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}))


if __name__ == "__main__":
    sys.exit(main())
