"""API keys: who may search, write and manage keys.

A key has one scope, each including the ones before it: ``search`` (the read
endpoints), ``write`` (pushing and deleting articles), ``admin`` (keys). The key
itself (``nsk_<id>_<secret>``) is shown once, when made; only its secret's
SHA-256 is stored (a secret of 256 random bits needs no slow hash), found by its
id and compared in constant time. A key past its ``expires`` day (UTC) or revoked
is refused as if unknown. Keys live in the index folder's durable records
(``search.durable``), shared by every worker and the ``search-keys`` command.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import durable
from search.errors import Forbidden, InvalidParameter, NotFound, Unauthorized

SCOPES = ("search", "write", "admin")
PREFIX = "nsk"
MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class Key:
    """A key as listed: everything but its secret."""

    id: str
    name: str
    scope: str
    created: str
    expires: str | None = None
    revoked: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "scope": self.scope, "created": self.created,
                "expires": self.expires, "revoked": self.revoked}  # fmt: skip

    def allows(self, scope: str) -> bool:
        """Whether this key's scope includes ``scope``."""
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


class Keys:
    """The keys of one index folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.records = durable.Records(folder)

    def create(self, scope: str, name: str = "", expires: str | None = None) -> tuple[Key, str]:
        """A new key and its text, which is not kept and cannot be shown again.

        Raises:
            InvalidParameter: an unknown scope, a name too long, or an expiry that is
                not a future date YYYY-MM-DD.
        """
        if scope not in SCOPES:
            raise InvalidParameter("scope", f"one of {', '.join(SCOPES)}")
        if len(name) > MAX_NAME_CHARS:
            raise InvalidParameter("name", f"at most {MAX_NAME_CHARS} characters")
        if expires is not None:
            try:
                day = dt.date.fromisoformat(expires)
            except ValueError:
                raise InvalidParameter("expires", "a date YYYY-MM-DD") from None
            if day < _today():
                raise InvalidParameter("expires", "must not be in the past")
        key = Key(secrets.token_hex(6), name, scope, _now(), expires)
        secret = secrets.token_urlsafe(32)
        with self.records.transaction() as db:
            db.execute(
                "INSERT INTO keys (id, name, scope, secret_hash, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key.id, name, scope, _hash(secret), key.created, expires),
            )
        return key, f"{PREFIX}_{key.id}_{secret}"

    def list(self) -> list[Key]:
        with self.records.using() as db:
            rows = db.execute(
                "SELECT id, name, scope, created, expires, revoked FROM keys ORDER BY created, id"
            )
            return [Key(*row) for row in rows]

    def revoke(self, key_id: str) -> Key:
        """Revoke a key (it stays listed, as revoked).

        Raises:
            NotFound: no key has this id.
        """
        with self.records.transaction() as db:
            db.execute(
                "UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (_now(), key_id)
            )
        found = [key for key in self.list() if key.id == key_id]
        if not found:
            raise NotFound(f"no key with id {key_id!r}")
        return found[0]

    def check(self, presented: str | None, scope: str) -> Key:
        """The key ``presented`` if it is valid and allows ``scope``.

        Raises:
            Unauthorized: no key, or one unknown, revoked or expired.
            Forbidden: a valid key whose scope is too small.
        """
        if not presented:
            raise Unauthorized("this needs a key: Authorization: Bearer <key>")
        prefix, _, rest = presented.partition("_")
        key_id, _, secret = rest.partition("_")
        with self.records.using() as db:
            query = "SELECT id, name, scope, created, expires, revoked, secret_hash FROM keys"
            row = db.execute(f"{query} WHERE id = ?", (key_id,)).fetchone()
        known = row is not None and prefix == PREFIX
        # Compared even for an unknown id, so the time taken tells nothing.
        matches = hmac.compare_digest(_hash(secret), row[6] if known else _hash(""))
        if not (known and matches):
            raise Unauthorized("the key is not valid")
        key = Key(*row[:6])
        if key.revoked is not None or (key.expires is not None and key.expires < str(_today())):
            raise Unauthorized("the key is revoked or expired")
        if not key.allows(scope):
            raise Forbidden(f"this needs a {scope} key; this one is a {key.scope} key")
        return key


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
