"""The landing page: the series the account belongs to."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from sqlalchemy import select

from roundtable.db import get_db
from roundtable.models import Membership, Series
from roundtable.web.authorization import current_account, login_required, public

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    account = current_account()
    query = select(Series).order_by(Series.created_at.desc())
    if not account.is_admin:
        query = query.join(Membership, Membership.series_id == Series.id).where(Membership.account_id == account.id)
    return render_template("home.html", series_list=get_db().scalars(query).all())


@bp.route("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico by themselves; pages also link the SVG directly."""
    return redirect(url_for("static", filename="favicon.svg"), 301)
