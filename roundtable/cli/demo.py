"""``roundtable demo``: a fictional series to explore, built from the bundle shipped with the package."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from roundtable.application import current_roundtable
from roundtable.cli.serve import serve
from roundtable.models import Account, Role, Series
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.bundles import import_bundle, read_bundle

DEMO_BUNDLE = Path(__file__).resolve().parent.parent / "demo" / "sanctuary-2026"
DEMO_PASSWORD = "demo lantern harbor"
DEMO_ACCOUNTS = [
    ("facilitator@demo.example", "Demo Facilitator", Role.FACILITATOR),
    ("notes@demo.example", "Demo Note-taker", Role.NOTE_TAKER),
    ("author@demo.example", "Demo Author", Role.AUTHOR),
    ("viewer@demo.example", "Demo Viewer", Role.VIEWER),
]


def load_demo(roundtable) -> Series:
    """Create the demo series and its accounts in the application's database, once; return the series."""
    database = roundtable.database
    database.upgrade()
    with database.session() as db:
        bundle = read_bundle(DEMO_BUNDLE)
        series = db.scalar(select(Series).where(Series.slug == bundle.slug))
        if series is None:
            series = import_bundle(db, bundle, roundtable=roundtable)
        for email, name, role in DEMO_ACCOUNTS:
            account = db.scalar(select(Account).where(Account.email == email))
            if account is None:
                account = create_account(db, email, name, DEMO_PASSWORD)
            grant_role(db, account, series, role)
        return series


@click.command("demo")
@click.option("--serve", "then_serve", is_flag=True, help="Start the server afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def demo_command(then_serve, host, port):
    """Create a fictional demo series (five sessions, roster, codebook, notes) and demo logins."""
    series = load_demo(current_roundtable())
    click.echo(f"Demo series '{series.title}' is ready.")
    click.echo(f"Log in at http://{host}:{port}/auth/login with any of (password: {DEMO_PASSWORD}):")
    for email, _name, role in DEMO_ACCOUNTS:
        click.echo(f"  {email:<28} {role.value}")
    if then_serve:
        serve(host, port)
