"""Login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from roundtable.extensions import limiter
from roundtable.services.accounts import authenticate
from roundtable.web.access import get_db, login_required, public

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so the login form cannot redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def login():
    if request.method == "POST":
        db = get_db()
        account = authenticate(db, request.form.get("email", ""), request.form.get("password", ""))
        if account is None:
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html"), 401
        db.commit()
        session.clear()
        session["account_id"] = account.id
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
