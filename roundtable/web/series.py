"""Series pages: the series overview with its sessions."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from roundtable.models import Role
from roundtable.web.access import series_role_required

bp = Blueprint("series", __name__, url_prefix="/s")


@bp.route("/<slug>/")
@series_role_required(Role.VIEWER)
def show(slug):
    return render_template("series/show.html", series=g.series, role=g.role)
