"""Login, logout, password change and invite acceptance."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address

from roundtable.db import get_db
from roundtable.errors import RoundtableError, ValidationError
from roundtable.extensions import limiter
from roundtable.models import Series
from roundtable.services.accounts import authenticate, change_password, end_logins
from roundtable.services.invites import accept_invite, find_invite
from roundtable.web.authorization import current_account, login_required, public, start_login
from roundtable.web.revocation import revoke_sockets

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """Only a path on this site, so the login form cannot redirect elsewhere.

    Browsers drop tabs and newlines inside URLs and read ``\\`` as ``/`` (``/<TAB>/evil`` is
    ``//evil``, another host): a target with any control character, space or backslash is refused.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not any(c <= " " or c in "\\\x7f" for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("home.index")


def _login_email_key() -> str:
    """Guessing one account's password is limited per email, whatever the address."""
    return "login-email:" + (request.form.get("email") or "").strip().lower()[:254]


def _remote_key() -> str:
    # Generous per address: a whole table logs in from one venue network.
    return "login-ip:" + (get_remote_address() or "unknown")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_login_email_key)
@limiter.limit("60 per minute", methods=["POST"], key_func=_remote_key)
@public
def login():
    if request.method == "POST":
        db = get_db()
        account = authenticate(db, request.form.get("email", ""), request.form.get("password", ""))
        if account is None:
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html"), 401
        db.commit()
        start_login(account)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this login, every other login of the account and its open sockets: a copied cookie opens nothing."""
    account = current_account()
    end_logins(account)
    get_db().commit()
    revoke_sockets(account.id)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@login_required
def password():
    account = current_account()
    if request.method == "POST":
        db = get_db()
        new = request.form.get("new_password", "")
        try:
            if new != request.form.get("confirm_password", ""):
                raise ValidationError("the two new passwords differ")
            change_password(db, account, request.form.get("current_password", ""), new)
        except RoundtableError as exc:
            db.rollback()
            flash(f"Password not changed: {exc}.", "error")
            return render_template("auth/password.html"), exc.http_status
        db.commit()
        # A new generation: other browsers and open sockets are logged out; this browser starts afresh.
        revoke_sockets(account.id)
        start_login(account)
        flash("Password changed. Other devices have been logged out.", "success")
        return redirect(url_for("home.index"))
    return render_template("auth/password.html")


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", key_func=_remote_key)
@public
def invite(token):
    """The page an invite link opens: set a password, or join with the account already logged in."""
    db = get_db()
    try:
        found = find_invite(db, token)
    except RoundtableError as exc:
        return render_template("auth/invite_invalid.html", message=str(exc)), exc.http_status
    series = db.get(Series, found.series_id)
    account = current_account()
    context = {"invite": found, "series": series, "account": account}
    if request.method == "POST":
        try:
            if account is None and request.form.get("password", "") != request.form.get("confirm_password", ""):
                raise ValidationError("the two passwords differ")
            joined = accept_invite(
                db,
                token,
                account=account,
                email=request.form.get("email", ""),
                display_name=request.form.get("display_name", ""),
                password=request.form.get("password", ""),
            )
        except RoundtableError as exc:
            db.rollback()
            flash(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", "error")
            return render_template("auth/invite.html", **context), exc.http_status
        db.commit()
        start_login(joined)
        flash(f"Welcome to {series.title}.", "success")
        return redirect(url_for("series.show", slug=series.slug))
    return render_template("auth/invite.html", **context)
