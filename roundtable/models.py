"""The data model (SQLAlchemy 2.0, typed).

Real names live in exactly one table, ``participants`` (the roster), because
the anonymizer needs them. Every other text column holds anonymized text only.
Schema changes go through Alembic (``roundtable/migrations``); a test checks
that the models and the migrations agree.
"""

from __future__ import annotations

import enum
from datetime import date as calendar_date
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from roundtable.encryption import EncryptedJSON

# The largest id or number an integer column holds (SQLite and PostgreSQL ``integer``).
MAX_DATABASE_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON, list: JSON}


class Policy(str, enum.Enum):
    """How identities are replaced in a series."""

    ROLE = "role"
    PSEUDONYM = "pseudonym"
    REDACT = "redact"


class SessionState(str, enum.Enum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    CLOSED = "closed"


class Role(str, enum.Enum):
    """An account's role in one series, weakest first."""

    VIEWER = "viewer"
    NOTE_TAKER = "note-taker"
    AUTHOR = "author"
    FACILITATOR = "facilitator"
    ADMIN = "admin"


NOTE_KINDS = ("point", "quote", "question", "action", "resource")


class TagStatus(str, enum.Enum):
    SUGGESTED = "suggested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _enum(cls):
    return Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=20)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    organizations: Mapped[list] = mapped_column(default=list)
    authors: Mapped[list] = mapped_column(default=list)
    funder: Mapped[str] = mapped_column(String(300), default="")
    brief_number: Mapped[str] = mapped_column(String(80), default="")
    policy: Mapped[Policy] = mapped_column(_enum(Policy), default=Policy.ROLE)
    acknowledgments: Mapped[str] = mapped_column(Text, default="")
    # How many people took part over the series (the roster lists only those who may be named or detected).
    participant_count: Mapped[int | None] = mapped_column(Integer, default=None)
    # Brief options a series may extend: {"glossary": {"abbr": "expansion"}, "resource_rules": [...]}.
    brief_settings: Mapped[dict] = mapped_column(default=dict)
    # The live chips' floor per suggester, computed from the series' coded notes (services.suggestion_floor).
    suggestion_floors: Mapped[dict] = mapped_column(default=dict)
    anonymize_affiliations: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language model an admin chose to draft the brief's prose (``llm`` model id or GGUF path); None = off.
    draft_model: Mapped[str | None] = mapped_column(String(500), default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="series", order_by="Session.number", cascade="all, delete-orphan"
    )
    participants: Mapped[list[Participant]] = relationship(
        back_populates="series", order_by="Participant.id", cascade="all, delete-orphan"
    )
    themes: Mapped[list[Theme]] = relationship(
        back_populates="series", order_by="Theme.position", cascade="all, delete-orphan"
    )


class Session(Base):
    """One meeting of a series (not a database session)."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    date: Mapped[calendar_date | None] = mapped_column(Date, default=None)
    focus: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[SessionState] = mapped_column(_enum(SessionState), default=SessionState.SCHEDULED)
    # Highest sequence number handed out; bumped atomically per note.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Highest change number handed out (roundtable.services.note_changes): bumped per change to stored notes.
    last_change_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    series: Mapped[Series] = relationship(back_populates="sessions")
    notes: Mapped[list[Note]] = relationship(
        back_populates="session", order_by="Note.seq", cascade="all, delete-orphan"
    )


class Participant(Base):
    """A person on a series' roster: the one place where real names are stored."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    # Identifying fields are encrypted at rest (roundtable/encryption.py).
    name: Mapped[str] = mapped_column(EncryptedJSON)
    aliases: Mapped[list] = mapped_column(EncryptedJSON, default=list)
    affiliation: Mapped[str] = mapped_column(EncryptedJSON, default="")
    role_label: Mapped[str] = mapped_column(String(120), default="participant")
    consent_named: Mapped[bool] = mapped_column(Boolean, default=False)

    series: Mapped[Series] = relationship(back_populates="participants")


class Account(Base):
    """A login. Display names of accounts are shown as presence, never in notes."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped to end every login of the account at once (logout, password change): each login
    # carries the value it started with, and a login whose value is older is over.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )


class Membership(Base):
    """An account's role in one series."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("account_id", "series_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))

    account: Mapped[Account] = relationship(back_populates="memberships")
    series: Mapped[Series] = relationship()


class Invite(Base):
    """A single-use, expiring invitation to join a series with a role."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class Note(Base):
    """One anonymized note in a session's stream."""

    __tablename__ = "notes"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="point")
    text: Mapped[str] = mapped_column(Text)
    speaker_role: Mapped[str | None] = mapped_column(String(120), default=None)
    # Character spans of replacements, so the UI can highlight them: [[start, end, kind], ...]
    replacements: Mapped[list] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The session's change number of this note's latest edit, delete or theme change (0: none since stored).
    change_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    session: Mapped[Session] = relationship(back_populates="notes")
    tags: Mapped[list[NoteTag]] = relationship(back_populates="note", cascade="all, delete-orphan")


class Theme(Base):
    """A codebook entry: a top-level theme or (with ``parent``) a sub-theme."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list] = mapped_column(default=list)
    color: Mapped[str] = mapped_column(String(20), default="")
    section: Mapped[str] = mapped_column(String(120), default="Key Themes")
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    series: Mapped[Series] = relationship(back_populates="themes")
    parent: Mapped[Theme | None] = relationship(remote_side="Theme.id", back_populates="children")
    children: Mapped[list[Theme]] = relationship(back_populates="parent", order_by="Theme.position")


class NoteTag(Base):
    """A note coded with a theme, by hand (``source='manual'``) or by a suggester plugin."""

    __tablename__ = "note_tags"
    # AUTOINCREMENT: SQLite would give a deleted tag's id to the next new tag, and a page still showing the
    # deleted suggestion would then accept or reject another note's tag.
    __table_args__ = (UniqueConstraint("note_id", "theme_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(80), default="manual")
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    status: Mapped[TagStatus] = mapped_column(_enum(TagStatus), default=TagStatus.ACCEPTED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[Note] = relationship(back_populates="tags")
    theme: Mapped[Theme] = relationship()


class Resource(Base):
    """A link mentioned in a series, for the brief's Resources section."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("series_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(120), default="")
    first_note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="SET NULL"))


class KeptTerm(Base):
    """A word a note-taker chose to keep although a detector flagged it ("keep 'Berlin'")."""

    __tablename__ = "kept_terms"
    __table_args__ = (UniqueConstraint("series_id", "term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RememberedName(Base):
    """One part of a name found in a session's notes, as a keyed digest, never the word
    (``roundtable.services.anonymize.name_memory``): a later note's lone "Delgado" is found through it."""

    __tablename__ = "name_memory"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)


class Brief(Base):
    """The current Markdown draft of one template of a series' brief."""

    __tablename__ = "briefs"
    __table_args__ = (UniqueConstraint("series_id", "template"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(40), default="report")
    markdown: Mapped[str] = mapped_column(Text, default="")
    # Section keys the author edited by hand; a rebuild keeps them unless forced.
    edited_sections: Mapped[list] = mapped_column(default=list)
    # Provenance: generated bullet id -> list of note ids.
    provenance: Mapped[dict] = mapped_column(default=dict)
    # Section key -> "draft" or "reviewed"; the PDF marks sections that are not reviewed as drafts.
    section_status: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[BriefVersion]] = relationship(
        back_populates="brief", order_by="BriefVersion.number", cascade="all, delete-orphan"
    )


class ProseDraft(Base):
    """A machine-drafted bullet or section, cached by its sources, model and prompt version.

    ``status`` is ``grounded`` (used in the brief) or why it is not: ``ungrounded``,
    ``blocked`` (the export gate refused its input or output), ``unparsed``, ``slow``.
    """

    __tablename__ = "prose_drafts"
    __table_args__ = (UniqueConstraint("series_id", "kind", "sources_hash", "model", "prompt_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "bullet" or a section key
    sources_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(500))
    prompt_version: Mapped[str] = mapped_column(String(40))
    lead_in: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    problems: Mapped[list] = mapped_column(default=list)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BriefVersion(Base):
    """A saved version of a brief draft, for comparison."""

    __tablename__ = "brief_versions"
    __table_args__ = (UniqueConstraint("brief_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("briefs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    markdown: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    brief: Mapped[Brief] = relationship(back_populates="versions")


class AuditEvent(Base):
    """Who did what sensitive thing, when. Never holds note text."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict] = mapped_column(default=dict)
