"""``roundtable rotate-key``: a new secret key, with the roster re-encrypted under it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from sqlalchemy import delete

from roundtable import create_app
from roundtable.config import refuse_public_key, write_secret_key
from roundtable.encryption import reencrypt
from roundtable.errors import ValidationError
from roundtable.models import Participant, RememberedName


def _read_key(path: str) -> str:
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not UTF-8 text") from None
    if not key:
        raise ValidationError(f"{path} holds no key")
    return key


@click.command("rotate-key")
@click.option("--new-key-file", type=click.Path(exists=True, dir_okay=False),
              help="Take the new key from this file (needed when the key is set in ROUNDTABLE_SECRET_KEY "
                   "or config.py). Default: generate one into the instance folder.")
@click.option("--old-key-file", type=click.Path(exists=True, dir_okay=False),
              help="The key the roster was encrypted with, when it is not the configured one.")
def rotate_key_command(new_key_file, old_key_file):
    """Replace the secret key and re-encrypt the roster under the new one.

    Stop every server process first. Logins and open forms signed with the old key end;
    pseudonyms in notes written after the rotation differ from earlier ones (docs/security.md).
    """
    app = create_app({"KEY_ROTATION": True})
    key_file = app.config.get("SECRET_KEY_FILE")
    if new_key_file is None and key_file is None:
        raise ValidationError(
            "the secret key is set in ROUNDTABLE_SECRET_KEY or config.py: put a new key (e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`) in a file and pass --new-key-file FILE"
        )
    old = _read_key(old_key_file) if old_key_file else app.config["SECRET_KEY"]
    new = _read_key(new_key_file) if new_key_file else secrets.token_hex(32)
    refuse_public_key(new)
    if new == old:
        raise ValidationError("the new key is the old key")
    database = app.extensions["roundtable"].database
    database.upgrade()
    pending = Path(key_file).with_name("secret_key.new") if key_file else None
    if pending:
        # Written before the roster changes, so that a crash after the commit leaves the new key on disk.
        write_secret_key(pending, new)
    try:
        # Digests keyed by the old key cannot be re-keyed (the names are not stored) and, the old key known, could
        # be tested against a list of names: cleared first, so that no failure leaves them behind.
        with database.engine.begin() as connection:
            forgotten = connection.execute(delete(RememberedName)).rowcount
        count = reencrypt(database.engine, Participant.__table__, old, new)
    except BaseException:
        if pending:
            pending.unlink(missing_ok=True)
        raise
    finally:
        database.dispose()
    if pending:
        os.replace(pending, key_file)
        click.echo(f"Re-encrypted {count} roster entries; the new key is in {key_file}.")
    else:
        click.echo(f"Re-encrypted {count} roster entries; set ROUNDTABLE_SECRET_KEY to the key in {new_key_file} "
                   "before starting the server.")
    click.echo(f"Cleared the memory of names of live sessions ({forgotten} digests keyed by the old key).")
    click.echo("Everyone must log in again. Delete old backups of the key.")
