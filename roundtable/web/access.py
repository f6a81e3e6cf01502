"""Who may do what: login state, and decorators every route and socket event uses.

A route names the weakest role that may call it with ``@series_role_required``;
``tests/test_authorization.py`` walks the URL map and the socket handlers and
fails for any route or event without a check.
"""

from __future__ import annotations

import functools

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select

from roundtable.models import Account, Role, Series
from roundtable.services.accounts import has_role, role_in_series

# Marker attribute the authorization test reads: every view must carry one.
ACCESS_ATTR = "_roundtable_access"


def get_db():
    """The request's database session, closed at teardown."""
    if "db" not in g:
        g.db = current_app.extensions["roundtable_db"].sessionmaker()
    return g.db


def current_account() -> Account | None:
    if "account" not in g:
        account_id = session.get("account_id")
        g.account = get_db().get(Account, account_id) if account_id else None
    return g.account


def _mark(view, rule):
    setattr(view, ACCESS_ATTR, rule)
    return view


def public(view):
    """Reachable without logging in (login page, invite acceptance, static)."""
    return _mark(view, "public")


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_account() is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return _mark(wrapped, "login")


def series_role_required(minimum: Role):
    """Require membership of the series named by the ``slug`` URL argument with at least ``minimum``.

    Non-members get 404, so that a series' existence is not revealed.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            account = current_account()
            if account is None:
                return redirect(url_for("auth.login", next=request.full_path))
            series = get_db().scalar(select(Series).where(Series.slug == kwargs.get("slug")))
            role = role_in_series(get_db(), account, series) if series else None
            if series is None or role is None:
                abort(404)
            if not has_role(role, minimum):
                abort(403)
            g.series, g.role = series, role
            return view(*args, **kwargs)

        return _mark(wrapped, f"series:{minimum.value}")

    return decorator


def admin_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        account = current_account()
        if account is None:
            return redirect(url_for("auth.login", next=request.full_path))
        if not account.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return _mark(wrapped, "admin")


def init_app(app: Flask) -> None:
    from roundtable.web import auth

    app.register_blueprint(auth.bp)

    @app.context_processor
    def _inject_account():
        return {"current_account": current_account(), "Role": Role}
