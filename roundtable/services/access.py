"""Who belongs to a series and what they may do: invites, roles, series, audit, retention.

Invites are single-use links that expire; only a SHA-256 of the token is
stored, so a database leak does not leak working links. The audit log records
who exported, deleted, changed roles or closed a session, never note text.
Retention: :func:`export_series_archive` writes a full export before
:func:`purge_series_notes` removes a series' notes and keeps its brief.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Conflict, Forbidden, NotFound, ValidationError
from roundtable.models import (
    Account,
    AuditEvent,
    Brief,
    BriefVersion,
    Invite,
    KeptTerm,
    Membership,
    Note,
    NoteTag,
    Participant,
    Resource,
    Role,
    Series,
    Session,
)
from roundtable.services.accounts import ROLE_RANK, create_account, grant_role, has_role, role_in_series

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
# Detail keys that may never carry text, and the longest string an entry may hold:
# short enough that no note or draft fits into the log by mistake.
FORBIDDEN_DETAIL_KEYS = frozenset({"text", "note", "notes", "markdown", "body", "content", "draft"})
MAX_DETAIL_STRING = 120


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- audit -----------------------------------------------------------------


def record_audit(db: DbSession, account: Account | None, series: Series | None, action: str, detail: dict | None = None) -> AuditEvent:
    """Log a sensitive action. ``detail`` holds ids, counts, roles and short labels, never note text."""
    detail = dict(detail or {})
    for key, value in detail.items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS and isinstance(value, str):
            raise ValueError(f"audit detail may not carry {key!r}: the log never holds note text")
        if isinstance(value, str) and len(value) > MAX_DETAIL_STRING:
            raise ValueError(f"audit detail {key!r} is too long for a label")
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise ValueError(f"audit detail {key!r} must be a plain value")
    event = AuditEvent(
        account_id=account.id if account is not None else None,
        series_id=series.id if series is not None else None,
        action=action,
        detail=detail,
    )
    db.add(event)
    db.flush()
    return event


@dataclass
class AuditRow:
    at: datetime
    who: str
    action: str
    detail: dict


def audit_log(db: DbSession, series: Series | None = None, limit: int = 500) -> list[AuditRow]:
    """Newest first; the whole log when ``series`` is None."""
    query = (
        select(AuditEvent, Account.display_name, Account.email)
        .outerjoin(Account, Account.id == AuditEvent.account_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    if series is not None:
        query = query.where(AuditEvent.series_id == series.id)
    return [
        AuditRow(at=_aware(event.at), who=f"{name} <{email}>" if email else "(deleted account)", action=event.action, detail=event.detail or {})
        for event, name, email in db.execute(query)
    ]


# --- series ----------------------------------------------------------------


def create_series(db: DbSession, admin: Account, slug: str, title: str, **fields) -> Series:
    """A new, empty series. Only site admins create series."""
    if not admin.is_admin:
        raise Forbidden("only administrators create series")
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError("the short name must be 3-80 lowercase letters, digits or hyphens")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise ValidationError("a title of at most 300 characters is required")
    if db.scalar(select(Series.id).where(Series.slug == slug)):
        raise Conflict(f"a series called {slug!r} already exists")
    series = Series(slug=slug, title=title, **fields)
    db.add(series)
    db.flush()
    record_audit(db, admin, series, "series.create", {"slug": slug})
    return series


def get_series(db: DbSession, slug: str) -> Series:
    series = db.scalar(select(Series).where(Series.slug == slug))
    if series is None:
        raise NotFound(f"no series called {slug!r}")
    return series


# --- members and roles -----------------------------------------------------


def _may_assign(actor_role: Role | None, role: Role) -> bool:
    """Facilitators hand out roles up to their own; only admins make admins."""
    if not has_role(actor_role, Role.FACILITATOR):
        return False
    return actor_role is Role.ADMIN or ROLE_RANK[role] <= ROLE_RANK[Role.FACILITATOR]


@dataclass
class MemberRow:
    account_id: int
    email: str
    display_name: str
    role: Role


def members(db: DbSession, series: Series) -> list[MemberRow]:
    rows = db.execute(
        select(Account, Membership.role)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.series_id == series.id)
        .order_by(Account.display_name, Account.id)
    )
    return [MemberRow(a.id, a.email, a.display_name, role) for a, role in rows]


def change_role(db: DbSession, actor: Account, series: Series, account_id: int, role: Role | str) -> Membership:
    role = parse_role(role)
    actor_role = role_in_series(db, actor, series)
    membership = db.scalar(
        select(Membership).where(Membership.series_id == series.id, Membership.account_id == account_id)
    )
    if membership is None:
        raise NotFound("that account is not a member of this series")
    if membership.account_id == actor.id and not actor.is_admin:
        raise Forbidden("you cannot change your own role; ask another facilitator or an administrator")
    if not _may_assign(actor_role, role) or not _may_assign(actor_role, membership.role):
        raise Forbidden("you may not give or change this role")
    old = membership.role
    membership.role = role
    db.flush()
    record_audit(db, actor, series, "role.change", {"account_id": account_id, "from": old.value, "to": role.value})
    return membership


def remove_member(db: DbSession, actor: Account, series: Series, account_id: int) -> None:
    actor_role = role_in_series(db, actor, series)
    membership = db.scalar(
        select(Membership).where(Membership.series_id == series.id, Membership.account_id == account_id)
    )
    if membership is None:
        raise NotFound("that account is not a member of this series")
    if not _may_assign(actor_role, membership.role):
        raise Forbidden("you may not remove this member")
    old = membership.role
    db.delete(membership)
    db.flush()
    record_audit(db, actor, series, "member.remove", {"account_id": account_id, "role": old.value})


def parse_role(value: Role | str) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ValidationError(f"unknown role {value!r}; choose one of {', '.join(r.value for r in Role)}") from None


# --- invites ---------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass
class NewInvite:
    invite: Invite
    token: str  # shown once, to the facilitator who made the link; never stored


def create_invite(db: DbSession, actor: Account, series: Series, role: Role | str, email: str = "", ttl_hours: float = 72) -> NewInvite:
    """A single-use link that lets one person join ``series`` with ``role``."""
    role = parse_role(role)
    if not _may_assign(role_in_series(db, actor, series), role):
        raise Forbidden("you may not invite people with this role")
    email = (email or "").strip().lower()
    if email and ("@" not in email or len(email) > 254):
        raise ValidationError("enter a valid email address or leave it empty")
    if not 0 < ttl_hours <= 24 * 30:
        raise ValidationError("an invite lasts between a few minutes and 30 days")
    token = secrets.token_urlsafe(32)
    invite = Invite(
        series_id=series.id,
        role=role,
        token_hash=hash_token(token),
        email=email,
        created_by_id=actor.id,
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    db.add(invite)
    db.flush()
    record_audit(db, actor, series, "invite.create", {"invite_id": invite.id, "role": role.value})
    return NewInvite(invite, token)


def find_invite(db: DbSession, token: str) -> Invite:
    """The usable invite for ``token``; one message for unknown, used and expired links."""
    invite = db.scalar(select(Invite).where(Invite.token_hash == hash_token(token or "")))
    if invite is None or invite.used_at is not None or _aware(invite.expires_at) <= utcnow():
        raise NotFound("this invite link is not valid: it may have expired or been used already; ask for a new one")
    return invite


def pending_invites(db: DbSession, series: Series) -> list[Invite]:
    return list(
        db.scalars(
            select(Invite)
            .where(Invite.series_id == series.id, Invite.used_at.is_(None), Invite.expires_at > utcnow())
            .order_by(Invite.expires_at)
        )
    )


def revoke_invite(db: DbSession, actor: Account, series: Series, invite_id: int) -> None:
    invite = db.scalar(select(Invite).where(Invite.id == invite_id, Invite.series_id == series.id))
    if invite is None:
        raise NotFound("no such invite")
    if not _may_assign(role_in_series(db, actor, series), invite.role):
        raise Forbidden("you may not revoke this invite")
    db.delete(invite)
    db.flush()
    record_audit(db, actor, series, "invite.revoke", {"invite_id": invite_id})


def _claim(db: DbSession, invite: Invite) -> None:
    """Mark the invite used, atomically: of two simultaneous acceptances only one wins."""
    claimed = db.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise NotFound("this invite link has just been used; ask for a new one")


def accept_invite(
    db: DbSession,
    token: str,
    *,
    account: Account | None = None,
    email: str = "",
    display_name: str = "",
    password: str = "",
) -> Account:
    """Join the invite's series: as the logged-in ``account``, or as a new account with a password."""
    invite = find_invite(db, token)
    series = db.get(Series, invite.series_id)
    if account is None:
        email = invite.email or (email or "").strip().lower()
        if db.scalar(select(Account.id).where(func.lower(Account.email) == email)):
            raise Conflict("an account with this email already exists: log in first, then open the invite link again")
        account = create_account(db, email, display_name, password)
    elif invite.email and invite.email != account.email.lower():
        raise Forbidden("this invite was made for another email address")
    _claim(db, invite)
    current = role_in_series(db, account, series)
    if current is None or ROLE_RANK[invite.role] > ROLE_RANK[current]:
        grant_role(db, account, series, invite.role)
    record_audit(db, account, series, "invite.accept", {"invite_id": invite.id, "role": invite.role.value})
    return account


# --- retention -------------------------------------------------------------


def brief_is_published(db: DbSession, series: Series) -> bool:
    """A brief counts as published once a version of it has been saved."""
    return bool(
        db.scalar(
            select(func.count(BriefVersion.id)).join(Brief, Brief.id == BriefVersion.brief_id).where(Brief.series_id == series.id)
        )
    )


def export_series_archive(db: DbSession, series: Series, directory: str | Path, actor: Account | None = None) -> Path:
    """Write a full export of the series as one ``.zip`` into ``directory`` and return its path.

    Inside: the series as a re-importable bundle (``roundtable.services.bundles``),
    each brief and its saved versions as Markdown under ``briefs/``, and
    ``full.json`` with every row that belongs to the series.
    """
    from roundtable.services.bundles import export_bundle

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{series.slug}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        export_bundle(db, series, root)
        briefs_dir = root / "briefs"
        briefs_dir.mkdir()
        for brief in db.scalars(select(Brief).where(Brief.series_id == series.id).order_by(Brief.id)):
            (briefs_dir / f"{brief.template}.md").write_text(brief.markdown, encoding="utf-8")
            for version in brief.versions:
                (briefs_dir / f"{brief.template}.v{version.number}.md").write_text(version.markdown, encoding="utf-8")
        (root / "full.json").write_text(
            json.dumps(series_rows(db, series), indent=1, default=str, ensure_ascii=False), encoding="utf-8"
        )
        path = directory / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(root.parent).as_posix())
    record_audit(db, actor, series, "series.export", {"file": path.name[:MAX_DETAIL_STRING]})
    return path


def series_rows(db: DbSession, series: Series) -> dict[str, list[dict]]:
    """Every row belonging to ``series``, table by table, as plain dicts."""

    def rows(model, *where):
        return [
            {c.key: getattr(obj, c.key) for c in model.__table__.columns}
            for obj in db.scalars(select(model).where(*where).order_by(model.id))
        ]

    session_ids = select(Session.id).where(Session.series_id == series.id)
    note_ids = select(Note.id).where(Note.session_id.in_(session_ids))
    brief_ids = select(Brief.id).where(Brief.series_id == series.id)
    from roundtable.models import Theme

    return {
        "series": rows(Series, Series.id == series.id),
        "sessions": rows(Session, Session.series_id == series.id),
        "participants": rows(Participant, Participant.series_id == series.id),
        "themes": rows(Theme, Theme.series_id == series.id),
        "notes": rows(Note, Note.id.in_(note_ids)),
        "note_tags": rows(NoteTag, NoteTag.note_id.in_(note_ids)),
        "resources": rows(Resource, Resource.series_id == series.id),
        "kept_terms": rows(KeptTerm, KeptTerm.series_id == series.id),
        "briefs": rows(Brief, Brief.series_id == series.id),
        "brief_versions": rows(BriefVersion, BriefVersion.brief_id.in_(brief_ids)),
    }


@dataclass
class PurgeResult:
    notes: int
    tags: int
    kept_terms: int
    participants: int


def purge_series_notes(
    db: DbSession, series: Series, actor: Account | None = None, *, include_roster: bool = False, require_brief: bool = True
) -> PurgeResult:
    """Delete the notes (and their tags and kept terms) of a series, keeping its brief.

    Refused until a brief version has been saved, unless ``require_brief`` is off.
    ``include_roster`` also deletes the roster, the only table with real names.
    """
    if require_brief and not brief_is_published(db, series):
        raise Conflict("save a version of the brief before purging the notes: the brief is what remains")
    note_ids = select(Note.id).join(Session, Session.id == Note.session_id).where(Session.series_id == series.id)
    # Resources stay (they are in the brief); only their link to a note goes.
    db.execute(update(Resource).where(Resource.first_note_id.in_(note_ids)).values(first_note_id=None))
    tags = db.execute(delete(NoteTag).where(NoteTag.note_id.in_(note_ids))).rowcount
    notes = db.execute(
        delete(Note).where(Note.session_id.in_(select(Session.id).where(Session.series_id == series.id)))
    ).rowcount
    kept = db.execute(delete(KeptTerm).where(KeptTerm.series_id == series.id)).rowcount
    people = 0
    if include_roster:
        people = db.execute(delete(Participant).where(Participant.series_id == series.id)).rowcount
    series.purged_at = utcnow()
    db.flush()
    db.expire_all()
    record_audit(
        db, actor, series, "series.purge", {"notes": notes, "tags": tags, "kept_terms": kept, "participants": people}
    )
    return PurgeResult(notes, tags, kept, people)
