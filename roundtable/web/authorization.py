"""Who may do what: login state, and decorators every route and socket event uses.

A route names the weakest role that may call it with ``@series_role_required``;
``tests/test_authorization.py`` walks the URL map and the socket handlers and
fails for any route or event without a check.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from contextlib import contextmanager

from flask import Flask, abort, current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_socketio import emit
from flask_wtf.csrf import CSRFError
from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from roundtable import note_trace
from roundtable.db import close_db, get_db, without_transaction
from roundtable.errors import RateLimited
from roundtable.models import Account, Membership, Role, Series, Session
from roundtable.services.accounts import has_role, role_in_series, series_role
from roundtable.services.audit import record_audit
from roundtable.services.ratelimit import AccountRateLimiter

# Marker attribute the authorization test reads: every view must carry one.
ACCESS_ATTR = "_roundtable_access"


def auth_stamp(account: Account) -> str:
    """A short digest of the password hash: changing the password ends every other login."""
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


def start_login(account: Account) -> None:
    """Begin a fresh login session for ``account`` (after login, invite acceptance, password change)."""
    session.clear()
    session["account_id"] = account.id
    session["auth"] = auth_stamp(account)
    session["generation"] = account.session_generation or 0
    session["login_at"] = int(time.time())
    session.permanent = True


def current_account() -> Account | None:
    """The logged-in account, or None when logged out, expired or the password changed since."""
    if "account" not in g:
        account_id = session.get("account_id")
        _hold_login(get_db().get(Account, account_id) if account_id else None)
    return g.account


def _hold_login(account: Account | None) -> None:
    """Make ``account`` this request's login (``g.account``) if the login cookie still holds for it: same
    password, no logout or removal since (its generation), not expired; else nobody."""
    max_age = current_app.config["SESSION_MAX_AGE_HOURS"] * 3600
    g.account = account if (
        account is not None
        and session.get("auth") == auth_stamp(account)
        and session.get("generation", 0) == (account.session_generation or 0)
        and time.time() - session.get("login_at", 0) < max_age
    ) else None


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
                abort(403, description=_too_weak(series, role, minimum))
            g.series, g.role = series, role
            return view(*args, **kwargs)

        return _mark(wrapped, f"series:{minimum.value}")

    return decorator


def _too_weak(series: Series, role: Role, minimum: Role) -> str:
    """What a role too weak for a page is told: who may, what they are, and, for a change, that none was made."""
    allowed = [f"{r.value}s" for r in Role if has_role(r, minimum)]
    who = ", ".join(allowed[:-1]) + f" and {allowed[-1]}" if len(allowed) > 1 else allowed[0]
    message = f"Only {who} of “{series.title}” may do this; your role in it is {role.value}."
    if request.method not in ("GET", "HEAD"):
        message += " Nothing was changed."
    return message


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


# --- audit of sensitive actions --------------------------------------------

# Routes and socket events whose success is logged here, in one place, so that a
# feature cannot forget it: endpoint -> (action, statuses that mean it happened).
AUDITED_ROUTES = {
    "series.close_session": ("session.close", range(200, 400)),
    "briefs.export": ("brief.export", (200,)),
    "briefs.job_download": ("brief.export", (200,)),
}
AUDITED_SOCKET_EVENTS = {"note:delete": "note.delete"}


def _audit_detail(values: dict) -> dict:
    """Ids and short labels from URL arguments or a payload; never text."""
    detail = {}
    for key, value in (values or {}).items():
        if key in ("slug", "text", "markdown"):
            continue
        if isinstance(value, bool) or isinstance(value, (int, float)) or (isinstance(value, str) and len(value) <= 80):
            detail[key] = value
    return detail


def _audit_route(response):
    rule = AUDITED_ROUTES.get(request.endpoint or "")
    if rule is None or response.status_code not in rule[1] or "series" not in g:
        return response

    db = get_db()
    record_audit(db, current_account(), g.series, rule[0], _audit_detail(request.view_args))
    db.commit()
    return response


def _audit_socket_event(event: str, payload: dict, result) -> None:
    action = AUDITED_SOCKET_EVENTS.get(event)
    if action is None or not (isinstance(result, dict) and result.get("ok")):
        return

    db = get_db()
    keep = {k: payload[k] for k in ("session_id", "note_id", "version") if k in payload}
    record_audit(db, current_account(), g.series, action, _audit_detail(keep))
    db.commit()


# --- Socket.IO events ------------------------------------------------------

LOGIN_ENDED = "your login has expired: log in again"

# Every handler wrapped by ``socket_access``; the authorization test checks that
# each of them is registered on the server, and that every registered event has one.
SOCKET_HANDLERS: list = []


def event_access(db, payload) -> Role | None:
    """The logged-in account (``g.account``) and its role in the series of the session named by
    ``payload["session_id"]``, with the session and its series (``g.meeting``), read in one query.

    Every event reads all three afresh, so a role lowered or removed, a login ended and a closed session
    count from the very next event, on sockets nobody closed too. The meeting stays on ``g.meeting`` for the
    handler: the database session holds loaded rows weakly, and without a reference the handler would read
    it again. An unknown session or account costs a second read, to tell a 401 from a 404.
    """
    session_id = payload.get("session_id")
    if isinstance(session_id, str) and session_id.isdigit():
        session_id = int(session_id)
    account_id = session.get("account_id")
    g.meeting = None
    if isinstance(session_id, bool) or not isinstance(session_id, int) or not 0 < session_id < 2**31 or not account_id:
        current_account()
        return None
    row = db.execute(
        select(Account, Session, Membership.role).select_from(Account)
        .join(Session, Session.id == session_id)
        .outerjoin(Membership, and_(Membership.account_id == Account.id, Membership.series_id == Session.series_id))
        .where(Account.id == account_id)
        .options(joinedload(Session.series))
    ).one_or_none()
    if row is None:
        current_account()
        return None
    account, g.meeting, role = row
    _hold_login(account)
    return series_role(account, role)


def socket_error(code: int, message: str) -> dict:
    """Tell the client what went wrong with an ``error`` event; also returned as the acknowledgement."""
    event = (getattr(request, "event", None) or {}).get("message", "")
    body = {"event": event, "code": code, "error": message}
    emit("error", body)
    return body


def socket_access(minimum: Role, rate: str | None = None, without_transaction_if=None):
    """Guard a Socket.IO handler like ``series_role_required`` guards a route.

    The handler receives one JSON object naming a session (``payload["session_id"]``):
    the account, the session and the role are read in one query (:func:`event_access`). Anonymous,
    non-member, too-weak or malformed calls get an ``error`` event
    (``{"event", "code", "error"}``) and the handler does not run. ``rate``
    names an action counted per account (``"note"`` uses the config key
    ``NOTES_PER_SECOND_PER_ACCOUNT``). Sets ``g.series`` and ``g.role``.
    ``without_transaction_if``: ``True`` for an event that only reads, or a predicate of the payload,
    true for an event that only reads before one statement that writes; such an event runs outside a
    transaction (:func:`roundtable.db.without_transaction`).

        @socketio.on("note:add")
        @socket_access(Role.NOTE_TAKER, rate="note")
        def add_note(payload): ...
    """

    def decorator(handler):
        @functools.wraps(handler)
        def wrapped(payload=None, *args):
            note_uuid = payload.get("uuid") if isinstance(payload, dict) else None
            note_trace.mark(note_uuid, "received")
            with socket_turn():
                note_trace.mark(note_uuid, "turn")
                if without_transaction_if is True or (
                        callable(without_transaction_if) and isinstance(payload, dict) and without_transaction_if(payload)):
                    without_transaction(get_db())
                result = checked(payload, *args)
            result = result.finish() if isinstance(result, AfterTurn) else result
            note_trace.mark(note_uuid, "answered")
            return result

        def checked(payload=None, *args):
            if not isinstance(payload, dict):
                if current_account() is None:
                    return socket_error(401, LOGIN_ENDED)
                return socket_error(400, "the message must be a JSON object")
            role = event_access(get_db(), payload)
            if g.account is None:
                return socket_error(401, LOGIN_ENDED)
            if g.meeting is None or role is None:
                return socket_error(404, "no such session")
            series = g.meeting.series
            if not has_role(role, minimum):
                return socket_error(403, f"you need the {minimum.value} role for this")
            if rate:
                try:
                    enforce_account_rate(rate)
                except RateLimited as exc:
                    return socket_error(429, str(exc))
            g.series, g.role = series, role
            result = handler(payload, *args)
            _audit_socket_event((getattr(request, "event", None) or {}).get("message", ""), payload, result)
            return result

        SOCKET_HANDLERS.append(wrapped)
        return _mark(wrapped, f"series:{minimum.value}")

    return decorator


class AfterTurn:
    """A socket handler's reply, finished after its database turn is given back: work that waits for
    other events (a shared catch-up read) must not hold one of the few turns while it waits."""

    def __init__(self, finish):
        self.finish = finish


@contextmanager
def socket_turn():
    """Run one socket event's database work, ``DATABASE_POOL_SIZE`` events at a time, first come first
    served, and give its connection back before the next one starts.

    Under gevent every event that waits on the database lets the others run; after a restart a
    thousand pages rejoin at once, and without a turn each would hold a pooled connection while the
    rest took theirs in turn, until the pool's wait timed out (measured: 500 rejoins per process).
    """
    with current_app.extensions["roundtable_socket_turns"]:
        try:
            yield
        finally:
            close_db()


def enforce_account_rate(action: str, limit: str | int | None = None) -> None:
    """Count one ``action`` by the logged-in account; raise :class:`RateLimited` over the limit.

    ``limit`` defaults to the config key ``<ACTION>S_PER_SECOND_PER_ACCOUNT`` (10 per second if unset).
    """
    account = current_account()
    if account is None:
        return
    if limit is None:
        limit = current_app.config.get(f"{action.upper()}S_PER_SECOND_PER_ACCOUNT", 10)
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    current_app.extensions["roundtable_account_limiter"].hit(account.id, action, limit)


def _error_response(status: int, message: str):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return make_response({"error": message}, status)
    return make_response(render_template("error.html", status=status, message=message), status)


def _socket_turns(size: int, async_mode: str | None):
    """The semaphore behind :func:`socket_turn`; gevent's own under gevent. threading's notifies a waiter
    through a Condition whose ownership check (a non-blocking acquire of the lock it holds) makes gevent
    switch to the hub, so every event's release waited for the other greenlets to run first: at 1,000
    viewers, a round of socket writes (p50 37 ms, p99 160 ms), holding the semaphore's lock meanwhile."""
    if async_mode == "gevent":
        from gevent.lock import BoundedSemaphore  # lazy: gevent runs only under roundtable serve's gevent worker

        return BoundedSemaphore(size)
    return threading.BoundedSemaphore(size)


def init_app(app: Flask) -> None:
    """The per-account rate limiter, the audit of sensitive routes, and the pages for CSRF, 413 and 429."""
    app.extensions["roundtable_account_limiter"] = AccountRateLimiter.from_config(app.config)
    app.extensions["roundtable_socket_turns"] = _socket_turns(app.config["DATABASE_POOL_SIZE"],
                                                              app.config.get("SOCKETIO_ASYNC_MODE"))
    app.after_request(_audit_route)

    @app.errorhandler(CSRFError)
    def _csrf_failed(exc):
        return _error_response(
            400, "This form has expired or did not come from Roundtable. Reload the page and try again."
        )

    @app.errorhandler(413)
    def _too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"]
        size = f"{limit / 1024**2:.3g} MB" if limit >= 1024**2 else f"{limit / 1024:.0f} KB"
        message = f"The upload is too large: files may be at most {size}."
        return _error_response(413, message)

    @app.errorhandler(429)
    def _too_many(exc):
        limit = getattr(getattr(exc, "limit", None), "limit", None)
        message = "Too many attempts in a short time. Wait a minute and try again."
        if limit is not None:
            message = f"Too many attempts (at most {limit}). Wait a minute and try again."
        response = _error_response(429, message)
        response.headers["Retry-After"] = "60"
        return response

    @app.context_processor
    def _inject_account():
        return {"current_account": current_account(), "Role": Role}
