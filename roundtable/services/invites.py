"""Invites: single-use links that let one person join a series with a role, and expire.

Only a SHA-256 of the token is stored, so a database leak does not leak
working links; of two simultaneous acceptances only one wins.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Conflict, Forbidden, NotFound, ValidationError
from roundtable.models import Account, Invite, Role, Series, as_utc, utcnow
from roundtable.services.accounts import ROLE_RANK, create_account, grant_role, role_in_series
from roundtable.services.audit import record_audit
from roundtable.services.members import may_assign, parse_role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass
class NewInvite:
    invite: Invite
    token: str  # shown once, to the facilitator who made the link; never stored


def create_invite(db: DbSession, actor: Account, series: Series, role: Role | str, email: str = "", ttl_hours: float = 72) -> NewInvite:
    """A single-use link that lets one person join ``series`` with ``role``."""
    role = parse_role(role)
    if not may_assign(role_in_series(db, actor, series), role):
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
    if invite is None or invite.used_at is not None or as_utc(invite.expires_at) <= utcnow():
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
    if not may_assign(role_in_series(db, actor, series), invite.role):
        raise Forbidden("you may not revoke this invite")
    # Only while unused, checked in the DELETE itself: the invitee may accept between the read and the write,
    # and a facilitator told "revoked" would believe no one got in.
    if db.execute(delete(Invite).where(Invite.id == invite_id, Invite.used_at.is_(None))).rowcount != 1:
        if db.scalar(select(Invite.used_at).where(Invite.id == invite_id)) is not None:
            raise Conflict("this invite has been accepted already; remove the member instead")
        raise NotFound("no such invite")
    record_audit(db, actor, series, "invite.revoke", {"invite_id": invite_id})


def _claim(db: DbSession, invite: Invite) -> None:
    """Mark the invite used, atomically: of two simultaneous acceptances only one wins."""
    claimed = db.execute(
        update(Invite).where(Invite.id == invite.id, Invite.used_at.is_(None)).values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise NotFound("this invite link has just been used or revoked; ask for a new one")


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
