"""Who belongs to a series and with which role: listing members, changing and removing them.

Facilitators hand out roles up to their own; only admins make admins (:func:`may_assign`,
which invites follow too). Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Forbidden, NotFound, ValidationError
from roundtable.models import Account, Membership, Role, Series
from roundtable.services.accounts import ROLE_RANK, has_role, role_in_series
from roundtable.services.audit import record_audit


def may_assign(actor_role: Role | None, role: Role) -> bool:
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
    if not may_assign(actor_role, role) or not may_assign(actor_role, membership.role):
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
    if not may_assign(actor_role, membership.role):
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
