"""Accounts, passwords and roles in a series."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ValidationError
from roundtable.models import Account, Membership, Role, Series

_hasher = PasswordHasher()

ROLE_RANK = {role: rank for rank, role in enumerate(Role)}
MIN_PASSWORD_LENGTH = 10
# zxcvbn's score 3: "safely unguessable", about 10^8 guesses or more.
MIN_PASSWORD_SCORE = 3
# zxcvbn's time grows with the length; what follows the first 100 characters only adds strength.
ZXCVBN_MAX_CHARS = 100


def check_password(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse a short or guessable password (common passwords, keyboard runs, repeats, dates,
    the account's own email or name), with zxcvbn's reason."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    inputs = [part for value in user_inputs for part in [value, *value.replace("@", " ").replace(".", " ").split()] if part]
    result = zxcvbn(password[:ZXCVBN_MAX_CHARS], user_inputs=[*inputs, "roundtable"])
    if result["score"] < MIN_PASSWORD_SCORE:
        feedback = result["feedback"]
        reason = (feedback.get("warning") or "").rstrip(".")
        advice = " ".join(feedback.get("suggestions") or []) or "Use a few uncommon words."
        raise ValidationError(f"this password is too easy to guess{f' ({reason})' if reason else ''}. {advice}".rstrip("."))


def hash_password(password: str, user_inputs: tuple[str, ...] = ()) -> str:
    check_password(password, user_inputs)
    return _hasher.hash(password)


def create_account(db: DbSession, email: str, display_name: str, password: str, is_admin=False) -> Account:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationError("enter a valid email address")
    if not display_name.strip():
        raise ValidationError("display name is required")
    if db.scalar(select(Account).where(func.lower(Account.email) == email)):
        raise ValidationError("an account with this email already exists")
    account = Account(
        email=email, display_name=display_name.strip()[:120], password_hash=hash_password(password, (email, display_name)),
        is_admin=is_admin
    )
    db.add(account)
    db.flush()
    return account


def authenticate(db: DbSession, email: str, password: str) -> Account | None:
    """The account for these credentials, or None (same answer for unknown email and wrong password)."""
    account = db.scalar(select(Account).where(Account.email == (email or "").strip().lower()))
    if account is None or not account.password_hash:
        _hasher.hash("timing-equaliser")
        return None
    try:
        _hasher.verify(account.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return account


def change_password(db: DbSession, account: Account, old: str, new: str) -> None:
    try:
        _hasher.verify(account.password_hash, old or "")
    except (VerificationError, InvalidHashError):
        raise ValidationError("current password is wrong") from None
    account.password_hash = hash_password(new, (account.email, account.display_name))
    end_logins(account)


def end_logins(account: Account) -> None:
    """End every login of ``account`` (every browser, every open socket) at its next request or event."""
    account.session_generation = (account.session_generation or 0) + 1


def role_in_series(db: DbSession, account: Account | None, series: Series) -> Role | None:
    """The account's role in the series (:func:`series_role`)."""
    if account is None:
        return None
    membership_role = None if account.is_admin else db.scalar(  # an admin's membership changes nothing
        select(Membership.role).where(Membership.account_id == account.id, Membership.series_id == series.id)
    )
    return series_role(account, membership_role)


def series_role(account: Account, membership_role: Role | None) -> Role | None:
    """The role ``account`` acts with in a series where it is a member as ``membership_role`` (None: no
    member): admins are admin everywhere. The one place of that rule, for pages and live events alike."""
    return Role.ADMIN if account.is_admin else membership_role


def has_role(role: Role | None, minimum: Role) -> bool:
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[minimum]


def grant_role(db: DbSession, account: Account, series: Series, role: Role) -> Membership:
    membership = db.scalar(
        select(Membership).where(Membership.account_id == account.id, Membership.series_id == series.id)
    )
    if membership is None:
        membership = Membership(account_id=account.id, series_id=series.id, role=role)
        db.add(membership)
    else:
        membership.role = role
    db.flush()
    return membership
