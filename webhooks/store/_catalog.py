"""The store's catalog of webhook definitions (``store.catalog``): create, change, delete, read,
with their header values sealed and at most ``max_actions`` per tenant."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import yarl
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .._exceptions import (
    ActionLimitReached,
    AlreadyExists,
    FieldError,
    InvalidDefinition,
    NotFound,
)
from ..definitions._definitions import (
    MAX_HEADERS,
    DefinitionInput,
    merge_definition,
    parse_definition,
)
from . import _schema as db
from ._records import SigningSecret, Webhook
from ._rotation import Rotation
from ._rows import WebhookRecords
from ._signingstore import SigningSecrets
from ._tables import Tables

__all__ = ["KEPT_LISTS", "Catalog"]

#: How many tenants' lists of definitions a store keeps (:meth:`Catalog.list`): the
#: oldest kept goes first. A list of ten definitions takes a few tens of kilobytes.
KEPT_LISTS = 1000


def _destination(url: str) -> tuple[str, str, int | None, str, str]:
    """What a stored header value is bound to: everything in ``url`` but a fragment."""
    parsed = yarl.URL(url)
    host = (parsed.host or "").lower()
    return (parsed.scheme, host, parsed.port, parsed.raw_path, parsed.raw_query_string)


def _check_headers_follow_the_url(before: Webhook, after: DefinitionInput) -> None:
    """Stored header values go only to the URL they were given for.

    When an update changes the URL (its scheme, host, port, path or query), every stored
    header must be given again, or removed with null, in the same change. Otherwise anyone
    allowed to edit the URL could point it at a server of theirs and press Test to read
    another operator's API key; and on the same host, at an endpoint that echoes its request
    (the preview masks what it can recognise, not every transformation an endpoint may
    apply). Browsers drop Authorization on cross-origin redirects for the same reason.
    """
    if not before.header_names or _destination(before.url) == _destination(after.url):
        return
    given = {name.lower() for name in after.headers}
    missing = [name for name in before.header_names if name.lower() not in given]
    if missing:
        raise InvalidDefinition(
            [
                FieldError(
                    "headers",
                    "the URL changes (host, port, path or query): give every stored header "
                    f"again, or remove it with null ({', '.join(missing)})",
                    "headers_required",
                )
            ]
        )


#: One more action for the tenant named ``tenant``, if it has fewer than ``max_actions``: its
#: count and version go up, and its id comes back (none: no such tenant, or no place left).
_CLAIM = (
    update(db.Tenant)
    .where(db.Tenant.name == bindparam("tenant"))
    .where(db.Tenant.action_count < bindparam("max_actions"))
    .values(action_count=db.Tenant.action_count + 1, version=db.Tenant.version + 1)
    .returning(db.Tenant.id)
)

#: A new definition's row and its headers' rows, as statements built once (building one per
#: call, with its values, cost more than running it).
_INSERT_WEBHOOK = insert(db.Base.metadata.tables[db.Webhook.__tablename__]).returning(db.Webhook.id)
_INSERT_HEADER = insert(db.Base.metadata.tables[db.WebhookHeader.__tablename__])


class Catalog:
    """The store's webhook definitions, limited to ``max_actions`` per tenant; it seals header
    values with the ``keys`` and reads each definition's secrets from ``signing``."""

    def __init__(self, tables: Tables, keys: Rotation, signing: SigningSecrets) -> None:
        self._tables = tables
        self._keys = keys
        self._signing = signing
        # list: tenant -> (its row's id and version, its definitions then).
        self._kept_lists: dict[str, tuple[tuple[int, int], tuple[Webhook, ...]]] = {}

    @staticmethod
    def _sealed_headers(
        session: Session, webhook_ids: list[int]
    ) -> dict[int, list[tuple[str, str]]]:
        """Each webhook's (name, sealed value) pairs, by name as Python orders them (as a new
        action's record has them; a database's collation may order names otherwise)."""
        found: dict[int, list[tuple[str, str]]] = {webhook_id: [] for webhook_id in webhook_ids}
        rows = session.execute(
            select(
                db.WebhookHeader.webhook_id, db.WebhookHeader.name, db.WebhookHeader.value_encrypted
            ).where(db.WebhookHeader.webhook_id.in_(webhook_ids))
        )
        for webhook_id, name, sealed in rows:
            found[webhook_id].append((name, sealed))
        for pairs in found.values():
            pairs.sort()
        return found

    def _webhook(
        self,
        session: Session,
        row: db.Webhook,
        tenant: str,
        headers: list[tuple[str, str]] | None = None,
        signing: list[SigningSecret] | None = None,
    ) -> Webhook:
        records = WebhookRecords()
        if headers is None:
            headers = self._sealed_headers(session, [row.id])[row.id]
        if signing is None:
            found = self._signing.sealed(session, records, db.Webhook.id == row.id)
            signing = found.get(row.id, [])
        return records.webhook(
            tenant=tenant,
            name=row.name,
            description=row.description,
            url=row.url,
            method=row.method,
            timeout=row.timeout,
            parameters=row.parameters,
            examples=row.examples,
            enabled=row.enabled,
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
            calls_per_minute=row.calls_per_minute,
            replies=row.replies,
            service_messages=row.service_messages,
            retry_post=row.retry_post,
            sealed_headers=headers,
            signing_secrets=signing,
        )

    def _apply_headers(
        self, session: Session, row: db.Webhook, definition: DefinitionInput, *, new: bool = False
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Store the definition's header changes; the names changed, and the (name, sealed
        value) pairs written. A ``new`` row has none stored yet, so nothing is read."""
        stored = {
            header.name.lower(): header
            for header in (
                ()
                if new
                else session.scalars(
                    select(db.WebhookHeader).where(db.WebhookHeader.webhook_id == row.id)
                )
            )
        }
        kept = set(stored)
        changed: list[str] = []
        written: list[dict[str, Any]] = []
        errors: list[FieldError] = []
        checked = False  # whether this process's key may write (asked once per change)
        for name, value in definition.headers.items():
            existing = stored.pop(name.lower(), None)
            kept.discard(name.lower())
            if existing is not None:
                session.delete(existing)
                session.flush()
            if value is None:
                if existing is None:
                    errors.append(
                        FieldError(f"headers.{name}", "no such header to remove", "not_found")
                    )
                continue
            if not checked:
                self._keys.check_writing(session)
                checked = True
            sealed, key_id = self._tables.keyring.seal(value.get_secret_value())
            written.append(
                {"webhook_id": row.id, "name": name, "value_encrypted": sealed, "key_id": key_id}
            )
            kept.add(name.lower())
            changed.append(name)
        if len(kept) > MAX_HEADERS:
            errors.append(FieldError("headers", f"at most {MAX_HEADERS} headers"))
        if errors:
            raise InvalidDefinition(errors)
        if written:  # on the connection, as the ORM's unit of work would, for less
            session.connection().execute(_INSERT_HEADER, written)
        pairs = [(header["name"], header["value_encrypted"]) for header in written]
        return sorted(changed), pairs

    def create(self, tenant: str, data: object, *, actor: str) -> Webhook:
        """Validate and store a new definition; refuse the tenant's (max_actions + 1)th."""
        definition = parse_definition(data, rules=self._tables.rules)
        try:
            with self._tables.transaction() as session:
                # The tenant's place for one more action, claimed in the statement that finds
                # the tenant (on the connection: the ORM's bulk update costs more than the
                # round trip it saves).
                tenant_id = session.connection().scalar(
                    _CLAIM, {"tenant": tenant, "max_actions": self._tables.max_actions}
                )
                if tenant_id is None:
                    self._tables.tenant_row(session, tenant)  # NotFound if there is no such tenant
                    raise ActionLimitReached(tenant, self._tables.max_actions)
                now = datetime.now(UTC)
                values = dict(
                    tenant_id=tenant_id,
                    name=definition.name,
                    description=definition.description,
                    url=definition.url,
                    method=definition.method,
                    timeout=definition.timeout,
                    parameters=[p.record() for p in definition.parameters],
                    examples=list(definition.examples),
                    enabled=definition.enabled,
                    calls_per_minute=definition.calls_per_minute,
                    replies=dict(definition.replies),
                    service_messages=definition.service_messages,
                    retry_post=definition.retry_post,
                    revision=1,
                    created_at=now,
                    updated_at=now,
                )
                # Written on the connection: the ORM's unit of work was a third of a create's
                # CPU (py-spy, bench admin), for rows that are only inserted here.
                webhook_id = session.connection().scalar(_INSERT_WEBHOOK, values)
                row = db.Webhook(id=webhook_id, **values)  # what was written, never flushed
                changed, sealed = self._apply_headers(session, row, definition, new=True)
                # A new action's record, from what was written: no signing secret yet.
                webhook = self._webhook(session, row, tenant, sorted(sealed), [])
                self._tables.audit(
                    session,
                    tenant_id,
                    actor=actor,
                    action="webhook.create",
                    target=f"webhook:{definition.name}",
                    after=webhook.public() | {"headers_set": changed},
                )
                return webhook
        except IntegrityError as exc:
            raise AlreadyExists("webhook", definition.name) from exc

    def update(
        self, tenant: str, name: str, changes: object, *, replace: bool = False, actor: str
    ) -> Webhook:
        """Change a definition (PATCH, or PUT with ``replace``); header values are write-only."""
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            row = self._tables.webhook_row(session, tenant_row, name)
            before = self._webhook(session, row, tenant)
            definition = merge_definition(
                before.public(), changes, replace=replace, rules=self._tables.rules
            )
            _check_headers_follow_the_url(before, definition)
            row.description = definition.description
            row.url = definition.url
            row.method = definition.method
            row.timeout = definition.timeout
            row.parameters = [p.record() for p in definition.parameters]
            row.examples = list(definition.examples)
            row.enabled = definition.enabled
            row.calls_per_minute = definition.calls_per_minute
            row.replies = dict(definition.replies)
            row.service_messages = definition.service_messages
            row.retry_post = definition.retry_post
            row.revision += 1
            row.updated_at = datetime.now(UTC)
            changed, _ = self._apply_headers(session, row, definition)
            session.execute(
                update(db.Tenant)
                .where(db.Tenant.id == tenant_row.id)
                .values(version=db.Tenant.version + 1)
            )
            session.flush()
            after = self._webhook(session, row, tenant)
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.update",
                target=f"webhook:{name}",
                before=before.public(),
                after=after.public() | {"headers_set": changed},
            )
            return after

    def delete(self, tenant: str, name: str, *, actor: str) -> None:
        """Delete a definition and free its slot of the tenant's limit."""
        with self._tables.transaction() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            row = self._tables.webhook_row(session, tenant_row, name)
            before = self._webhook(session, row, tenant).public()
            session.delete(row)
            session.execute(
                update(db.Tenant)
                .where(db.Tenant.id == tenant_row.id)
                .values(action_count=db.Tenant.action_count - 1, version=db.Tenant.version + 1)
            )
            self._tables.audit(
                session,
                tenant_row,
                actor=actor,
                action="webhook.delete",
                target=f"webhook:{name}",
                before=before,
            )

    def get(self, tenant: str, name: str) -> Webhook:
        """The tenant's definition ``name``; :class:`NotFound` if there is none."""
        for webhook in self.list(tenant):
            if webhook.name == name:
                return webhook
        raise NotFound("webhook", name)

    def list(self, tenant: str) -> list[Webhook]:
        """The tenant's definitions, by name.

        The last list read of each tenant is kept with the tenant's version, read with the
        definitions in one snapshot, and served again while the version read now (inside
        :meth:`Store.reading`, the one read with the operator) has not moved: every change to a
        definition, its headers or its signing secrets adds one to it (what the action servers'
        caches rely on too), so a change by any process is seen by the next read, and nothing
        kept is ever served after it. At most :data:`KEPT_LISTS` tenants are kept.
        """
        with self._tables.read(alone=True) as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            # The row's id too: a database restored from a backup could bring a version back.
            kept = self._kept_lists.get(tenant)
            if kept is not None and kept[0] == (tenant_row.id, tenant_row.version):
                return list(kept[1])
        # Read anew, the version with the definitions, in one snapshot.
        with self._tables.read() as session:
            tenant_row = self._tables.tenant_row(session, tenant)
            mark = (tenant_row.id, tenant_row.version)
            rows = list(
                session.scalars(
                    select(db.Webhook)
                    .where(db.Webhook.tenant_id == tenant_row.id)
                    .order_by(db.Webhook.name)
                )
            )
            headers = self._sealed_headers(session, [row.id for row in rows])
            signing = self._signing.sealed(
                session, WebhookRecords(), db.Webhook.tenant_id == tenant_row.id
            )
            found = [
                self._webhook(session, row, tenant, headers[row.id], signing.get(row.id, []))
                for row in rows
            ]
            if tenant not in self._kept_lists and len(self._kept_lists) >= KEPT_LISTS:
                with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                    del self._kept_lists[next(iter(self._kept_lists))]
            self._kept_lists[tenant] = (mark, tuple(found))
            return found

    def headers_for(self, webhook: Webhook) -> dict[str, str]:
        """The decrypted header values, for the request about to be sent and nothing else."""
        return {
            name: self._tables.keyring.decrypt(sealed) for name, sealed in webhook.sealed_headers
        }
