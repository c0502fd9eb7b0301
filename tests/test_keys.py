"""Keys: made once, stored hashed, checked by scope, refused once revoked or expired."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from search import durable
from search.errors import Forbidden, InvalidParameter, NotFound, Unauthorized
from search.keys import Keys


def test_a_key_allows_its_scope_and_those_below_it(tmp_path: Path) -> None:
    keys = Keys(tmp_path)
    _, write = keys.create("write", "cms")
    assert keys.check(write, "search").scope == "write"
    assert keys.check(write, "write").name == "cms"
    with pytest.raises(Forbidden):
        keys.check(write, "admin")


@pytest.mark.parametrize("presented", [None, "", "nsk_nope_nope", "Bearer x", "nsk__"])
def test_no_key_or_an_unknown_one_is_unauthorized(tmp_path: Path, presented: str | None) -> None:
    Keys(tmp_path).create("admin")
    with pytest.raises(Unauthorized):
        Keys(tmp_path).check(presented, "search")


def test_a_key_is_stored_hashed_and_listed_without_its_secret(tmp_path: Path) -> None:
    keys = Keys(tmp_path)
    key, text = keys.create("search")
    stored = sqlite3.connect(tmp_path / durable.FILE).execute("SELECT * FROM keys").fetchall()
    secret = text.rsplit("_", 1)[-1]
    assert text.startswith(f"nsk_{key.id}_") and all(secret not in str(row) for row in stored)
    assert [listed.as_dict() for listed in keys.list()] == [key.as_dict()]
    assert "key" not in key.as_dict()


def test_a_revoked_key_and_an_expired_key_are_refused(tmp_path: Path) -> None:
    keys = Keys(tmp_path)
    revoked, revoked_text = keys.create("write")
    assert keys.revoke(revoked.id).revoked is not None
    with pytest.raises(Unauthorized, match="revoked or expired"):
        keys.check(revoked_text, "search")
    expired, expired_text = keys.create("write", expires="2999-01-01")
    assert keys.check(expired_text, "write").id == expired.id
    with sqlite3.connect(tmp_path / durable.FILE) as db:
        db.execute("UPDATE keys SET expires = '2020-01-01' WHERE id = ?", (expired.id,))
    with pytest.raises(Unauthorized, match="revoked or expired"):
        keys.check(expired_text, "search")
    with pytest.raises(NotFound):
        keys.revoke("nope")


@pytest.mark.parametrize(
    ("scope", "expires"), [("root", None), ("write", "tomorrow"), ("write", "2020-01-01")]
)
def test_a_bad_scope_or_expiry_is_named(tmp_path: Path, scope: str, expires: str | None) -> None:
    with pytest.raises(InvalidParameter):
        Keys(tmp_path).create(scope, expires=expires)
