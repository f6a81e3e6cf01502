"""``roundtable users``: accounts from the command line (the first admin, resets)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from roundtable.application import current_roundtable
from roundtable.errors import NotFound
from roundtable.models import Account
from roundtable.services.audit import record_audit
from roundtable.services.members import parse_role
from roundtable.services.series import get_series
from roundtable.services.accounts import create_account, end_logins, grant_role, hash_password
from roundtable.web.revocation import revoke_sockets


def _account(db, email: str) -> Account:
    account = db.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    if account is None:
        raise NotFound(f"no account with email {email}")
    return account


@click.group("users")
def users_group():
    """Create accounts, give roles, reset passwords."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name shown to other members.")
@click.option("--admin", "is_admin", is_flag=True, help="A site administrator: creates series, sees all.")
@click.password_option("--password", help="Asked for when not given (at least 10 characters).")
@with_appcontext
def create_user(email, display_name, is_admin, password):
    """Create an account (use --admin for the first administrator)."""
    with current_roundtable().database.session() as db:
        account = create_account(db, email, display_name, password, is_admin=is_admin)
        record_audit(db, None, None, "account.create", {"account_id": account.id, "admin": is_admin, "via": "cli"})
        click.echo(f"Created {'admin ' if is_admin else ''}account {account.email} (id {account.id}).")


@users_group.command("grant")
@click.argument("email")
@click.argument("slug")
@click.argument("role")
@with_appcontext
def grant_user(email, slug, role):
    """Give an account a ROLE (viewer, note-taker, author, facilitator, admin) in series SLUG."""
    role = parse_role(role)
    with current_roundtable().database.session() as db:
        account = _account(db, email)
        series = get_series(db, slug)
        grant_role(db, account, series, role)
        record_audit(db, None, series, "role.change", {"account_id": account.id, "to": role.value, "via": "cli"})
        click.echo(f"{account.email} is now {role.value} in {series.slug}.")
    revoke_sockets(account.id)


@users_group.command("set-password")
@click.argument("email")
@click.password_option("--password", help="Asked for when not given.")
@with_appcontext
def set_password(email, password):
    """Set a new password (logs the account out everywhere)."""
    with current_roundtable().database.session() as db:
        account = _account(db, email)
        account.password_hash = hash_password(password, (account.email, account.display_name))
        end_logins(account)
        record_audit(db, None, None, "password.reset", {"account_id": account.id, "via": "cli"})
        click.echo(f"Password of {account.email} changed.")
    revoke_sockets(account.id)


@users_group.command("list")
@with_appcontext
def list_users():
    """List accounts and their roles."""
    with current_roundtable().database.session() as db:
        for account in db.scalars(select(Account).order_by(Account.email)):
            roles = ", ".join(f"{m.series.slug}:{m.role.value}" for m in account.memberships)
            click.echo(f"{account.email}\t{account.display_name}\t{'admin' if account.is_admin else '-'}\t{roles}")
