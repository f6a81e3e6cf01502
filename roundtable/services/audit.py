"""The audit log: who exported, deleted, changed roles or closed a session, and when. Never note text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.models import Account, AuditEvent, Series, as_utc

# Detail keys that may never carry text, and the longest string an entry may hold:
# short enough that no note or draft fits into the log by mistake.
FORBIDDEN_DETAIL_KEYS = frozenset({"text", "note", "notes", "markdown", "body", "content", "draft"})
MAX_DETAIL_STRING = 120


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
        AuditRow(at=as_utc(event.at), who=f"{name} <{email}>" if email else "(deleted account)", action=event.action, detail=event.detail or {})
        for event, name, email in db.execute(query)
    ]
