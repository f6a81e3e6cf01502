"""Roster fields encrypted at rest, so a copied database file does not reveal who took part.

The roster is the one place real names must exist (the anonymizer needs
them). Its identifying columns use :class:`EncryptedJSON`: Fernet
(AES-128-CBC + HMAC) with a key derived from the app's ``SECRET_KEY``. Each
engine carries its own key (``Database(url, secret_key=...)``), so several apps
in one process do not share one; :func:`attach_key` sets it up. Losing or changing ``SECRET_KEY`` makes the
roster unreadable: keep it with your backups (docs/security.md).
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text
from sqlalchemy.types import Text, TypeDecorator

from roundtable.errors import RoundtableError

MAX_CACHED_PLAINTEXTS = 100_000


def fernet_for(secret: str | bytes) -> Fernet:
    if isinstance(secret, str):
        secret = secret.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"roundtable roster", info=b"roster fields").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def attach_key(engine, secret: str | bytes) -> None:
    """Give an engine its roster key and an empty cache of decrypted values."""
    engine.dialect.roundtable_fernet = fernet_for(secret)
    engine.dialect.roundtable_plaintexts = {}


class RosterKeyError(RoundtableError):
    """The roster cannot be decrypted with this SECRET_KEY."""


class EncryptedJSON(TypeDecorator):
    """A JSON value (string or list) stored encrypted as text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return dialect.roundtable_fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # The anonymizer reads the roster for every note: decrypt each stored token once per engine.
        plaintexts = dialect.roundtable_plaintexts
        plain = plaintexts.get(value)
        if plain is None:
            try:
                plain = dialect.roundtable_fernet.decrypt(value.encode())
            except InvalidToken:
                raise RosterKeyError(
                    "the roster cannot be decrypted: SECRET_KEY differs from the one it was written with"
                ) from None
            if len(plaintexts) >= MAX_CACHED_PLAINTEXTS:
                plaintexts.clear()
            plaintexts[value] = plain
        return json.loads(plain)


def reencrypt(engine, table, old_secret: str | bytes, new_secret: str | bytes) -> int:
    """Decrypt every :class:`EncryptedJSON` value of ``table`` with the old key and encrypt it with the
    new one, in one transaction: on any error (a value the old key cannot open) nothing changes.
    Returns the number of rows. Run it with every server process stopped."""
    old, new = fernet_for(old_secret), fernet_for(new_secret)
    columns = [c.name for c in table.columns if isinstance(c.type, EncryptedJSON)]
    (key,) = [c.name for c in table.primary_key.columns]
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT {key}, {', '.join(columns)} FROM {table.name}")).all()
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        for row in rows:
            values = {"row_key": row[0]}
            for column, value in zip(columns, row[1:]):
                try:
                    values[column] = None if value is None else new.encrypt(old.decrypt(value.encode())).decode()
                except InvalidToken:
                    raise RosterKeyError(
                        "the roster cannot be decrypted with the current key: name the key it was written with "
                        "in --old-key-file"
                    ) from None
            conn.execute(text(f"UPDATE {table.name} SET {assignments} WHERE {key} = :row_key"), values)
    return len(rows)
