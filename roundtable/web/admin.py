"""Administration: series creation (admins), members, roles and invite links (facilitators),
the audit log, and retention (export and purge of a series' notes)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, select

from roundtable.db import get_db
from roundtable.errors import ValidationError
from roundtable.extensions import limiter
from roundtable.models import Note, Role, Series, Session
from roundtable.plurals import count_of
from roundtable.services import audit as audit_service
from roundtable.services import invites as invite_service
from roundtable.services import members as member_service
from roundtable.services import retention as retention_service
from roundtable.services import series as series_service
from roundtable.services.accounts import ROLE_RANK
from roundtable.web.authorization import admin_required, current_account, series_role_required
from roundtable.web.forms import commit_or_flash
from roundtable.web.revocation import revoke_sockets

bp = Blueprint("admin", __name__)


# --- series (admins) -------------------------------------------------------


def _index_page(status: int = 200):
    series_list = get_db().scalars(select(Series).order_by(Series.created_at.desc())).all()
    return render_template("admin/index.html", series_list=series_list), status


@bp.route("/admin/")
@admin_required
def index():
    return _index_page()


@bp.route("/admin/series", methods=["POST"])
@admin_required
def create_series():
    created = commit_or_flash(lambda db: series_service.create_series(
        db, current_account(), request.form.get("slug", ""), request.form.get("title", "")))
    if not created:
        return _index_page(created.error.http_status)
    series = created.value
    flash(f"Series {series.title} created. Invite its facilitators next.", "success")
    return redirect(url_for("admin.members", slug=series.slug))


@bp.route("/admin/audit")
@admin_required
def site_audit():
    return render_template("admin/audit.html", series=None, rows=audit_service.audit_log(get_db()))


# --- members and invites (facilitators) ------------------------------------


def _members_page(new_invite_url: str | None = None, status: int = 200):
    db = get_db()
    actor_role = g.role
    assignable = [r for r in Role if actor_role is Role.ADMIN or ROLE_RANK[r] <= ROLE_RANK[Role.FACILITATOR]]
    return (
        render_template(
            "admin/members.html",
            series=g.series,
            role=g.role,
            members=member_service.members(db, g.series),
            invites=invite_service.pending_invites(db, g.series),
            assignable=assignable,
            me=current_account(),
            new_invite_url=new_invite_url,
            ttl_hours=current_app.config["INVITE_TTL_HOURS"],
        ),
        status,
    )


@bp.route("/s/<slug>/members")
@series_role_required(Role.FACILITATOR)
def members(slug):
    return _members_page()


def _change_membership(change, done: str, account_id: int | None = None):
    """Run ``change(db)``; a user error shows the members page with the message, success goes back to it.

    The open live pages of ``account_id`` (whose access changed) are closed at once: they reload
    with what it may still see.
    """
    changed = commit_or_flash(change)
    if not changed:
        return _members_page(status=changed.error.http_status)
    if account_id is not None:
        revoke_sockets(account_id)
    flash(done, "success")
    return redirect(url_for("admin.members", slug=g.series.slug))


@bp.route("/s/<slug>/members/<int:account_id>/role", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def change_role(slug, account_id):
    return _change_membership(
        lambda db: member_service.change_role(db, current_account(), g.series, account_id, request.form.get("role", "")),
        "Role changed.",
        account_id,
    )


@bp.route("/s/<slug>/members/<int:account_id>/remove", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def remove_member(slug, account_id):
    return _change_membership(
        lambda db: member_service.remove_member(db, current_account(), g.series, account_id),
        "Member removed from this series.",
        account_id,
    )


@bp.route("/s/<slug>/invites", methods=["POST"])
@limiter.limit("30 per hour")
@series_role_required(Role.FACILITATOR)
def create_invite(slug):
    made = commit_or_flash(lambda db: invite_service.create_invite(
        db, current_account(), g.series, request.form.get("role", ""), email=request.form.get("email", ""),
        ttl_hours=current_app.config["INVITE_TTL_HOURS"],
    ))
    if not made:
        return _members_page(status=made.error.http_status)
    # Shown once, in this response only: the token is stored hashed.
    return _members_page(new_invite_url=url_for("auth.invite", token=made.value.token, _external=True))


@bp.route("/s/<slug>/invites/<int:invite_id>/revoke", methods=["POST"])
@series_role_required(Role.FACILITATOR)
def revoke_invite(slug, invite_id):
    return _change_membership(
        lambda db: invite_service.revoke_invite(db, current_account(), g.series, invite_id),
        "Invite link revoked.",
    )


@bp.route("/s/<slug>/audit")
@series_role_required(Role.FACILITATOR)
def audit(slug):
    return render_template(
        "admin/audit.html", series=g.series, role=g.role, rows=audit_service.audit_log(get_db(), g.series)
    )


# --- retention (admins) ----------------------------------------------------


def _note_count(series: Series) -> int:
    return get_db().scalar(
        select(func.count(Note.id)).join(Session, Session.id == Note.session_id).where(Session.series_id == series.id)
    )


def _retention_page(status: int = 200):
    return (
        render_template(
            "admin/retention.html",
            series=g.series,
            role=g.role,
            note_count=_note_count(g.series),
            published=retention_service.brief_is_published(get_db(), g.series),
        ),
        status,
    )


@bp.route("/s/<slug>/retention")
@series_role_required(Role.ADMIN)
def retention(slug):
    return _retention_page()


@bp.route("/s/<slug>/retention/export", methods=["POST"])
@series_role_required(Role.ADMIN)
def export_archive(slug):
    db = get_db()
    with tempfile.TemporaryDirectory() as tmp:
        path = retention_service.export_series_archive(db, g.series, tmp, actor=current_account())
        data = Path(path).read_bytes()
        name = Path(path).name
    db.commit()
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True, download_name=name)


@bp.route("/s/<slug>/retention/purge", methods=["POST"])
@series_role_required(Role.ADMIN)
def purge(slug):
    def purge_notes(db):
        if request.form.get("confirm", "").strip() != g.series.slug:
            raise ValidationError(f"type the short name {g.series.slug} to confirm the purge")
        return retention_service.purge_series_notes(
            db, g.series, current_account(), include_roster=request.form.get("include_roster") == "yes"
        )

    purged = commit_or_flash(purge_notes)
    if not purged:
        return _retention_page(purged.error.http_status)
    result = purged.value
    get_db().close()
    current_app.extensions["roundtable"].database.erase_deleted()
    flash(f"Purged {count_of(result.notes, 'note')} and {count_of(result.tags, 'tag')}. The brief is kept.", "success")
    return redirect(url_for("admin.retention", slug=slug))
