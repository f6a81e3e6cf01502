"""The brief context: a series' sessions, codebook, tagged notes, resources and consent, read once."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import NotFound
from roundtable.models import Note, NoteTag, Participant, Resource, Series, Session, TagStatus, Theme
from roundtable.services.briefs.markdown import extract_urls, lead_in_markdown, url_key
from roundtable.services.anonymize import anonymize_authored_text
from roundtable.services.briefs.glossary import clean_note
from roundtable.services.briefs.prose import normalize_role, pluralize
from roundtable.services.briefs.synthesis import (
    Bullet,
    ThemeSynthesis,
    compress,
    encoder_name,
    phrase_method,
    spacy_pipeline,
    synthesize_theme,
)
from roundtable.services.briefs.realize import Realizer
from roundtable.services.tagging import section_tags

TEMPLATES = ("report", "brief")


TEMPLATE_LABELS = {"report": "A Policy Report", "brief": "Research Brief"}


DEFAULT_THEME_SECTION = "Key Themes"


@dataclass
class NoteItem:
    """One anonymized note as the synthesis sees it."""

    id: int
    text: str
    kind: str
    speaker_role: str | None
    session_number: int
    author_id: int | None = None
    links: list[str] = field(default_factory=list)
    seq: int = 0
    # The note as prose (speaker prefix off, shorthand written out) and whether it pushes back.
    prose: str = ""
    dissent: bool = False

    @property
    def role(self) -> str:
        return normalize_role(self.speaker_role)


@dataclass
class ThemeItem:
    """A codebook entry with the notes coded with it (accepted and manual tags only)."""

    id: int
    name: str
    description: str
    section: str
    position: int
    children: list[ThemeItem] = field(default_factory=list)
    notes: list[NoteItem] = field(default_factory=list)

    def all_notes(self) -> list[NoteItem]:
        """The theme's own notes and its sub-themes', each once, in note order."""
        seen: dict[int, NoteItem] = {n.id: n for n in self.notes}
        for child in self.children:
            for n in child.notes:
                seen.setdefault(n.id, n)
        return sorted(seen.values(), key=lambda n: (n.session_number, n.id))


@dataclass
class SessionItem:
    number: int
    title: str
    date: dt.date | None
    focus: str
    note_count: int = 0

    @property
    def month(self) -> str:
        return self.date.strftime("%B") if self.date else ""


@dataclass
class ResourceItem:
    url: str
    title: str
    description: str
    category: str
    note_id: int | None = None


@dataclass
class BriefContext:
    """Everything a section may use, gathered once from the database."""

    series_id: int
    slug: str
    title: str
    subtitle: str
    description: str
    organizations: list[str]
    authors: list[str]
    funder: str
    brief_number: str
    policy: str
    acknowledgments: str
    sessions: list[SessionItem]
    themes: list[ThemeItem]
    notes: list[NoteItem]
    resources: list[ResourceItem]
    contributors: list[str]
    anonymous_contributors: bool
    participant_roles: Counter
    participant_count: int
    tag_sources: dict[str, dict[str, int]]
    template: str = "report"
    roster_count: int = 0
    settings: dict = field(default_factory=dict)
    # Lower-cased words of the names and aliases of people who declined to be named.
    hidden_words: frozenset = frozenset()
    plugins: list[dict] = field(default_factory=list)
    # Titles of the sections the template has, so Key Themes can take unclaimed themes.
    section_titles: list[str] = field(default_factory=list)
    provenance: dict[str, list[int]] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    _syntheses: dict[int, ThemeSynthesis] = field(default_factory=dict, repr=False)
    _realizer: Realizer | None = field(default=None, repr=False)

    # ---- lookups sections need

    @property
    def notes_by_kind(self) -> dict[str, list[NoteItem]]:
        out: dict[str, list[NoteItem]] = {}
        for n in self.notes:
            out.setdefault(n.kind, []).append(n)
        return out

    @property
    def note_taker_count(self) -> int:
        return len({n.author_id for n in self.notes if n.author_id is not None})

    @property
    def period(self) -> str:
        """"January to May 2025" from the session dates, or ""."""
        dates = sorted(s.date for s in self.sessions if s.date)
        if not dates:
            return ""
        first, last = dates[0], dates[-1]
        if (first.year, first.month) == (last.year, last.month):
            return first.strftime("%B %Y")
        if first.year == last.year:
            return f"{first.strftime('%B')} to {last.strftime('%B %Y')}"
        return f"{first.strftime('%B %Y')} to {last.strftime('%B %Y')}"

    def themes_in_section(self, section: str) -> list[ThemeItem]:
        return [t for t in self.themes if t.section == section]

    def resource_titles(self) -> dict[str, str]:
        return {url_key(r.url): r.title for r in self.resources if r.title}

    def realizer(self) -> Realizer:
        """Rewrites claims into sentences: knows the series' proper names, tags with spaCy when used."""
        if self._realizer is None:
            self.options.setdefault("phrases", phrase_method(len(self.notes)))
            tagger = spacy_pipeline() if self.options["phrases"] == "spacy" else None
            self._realizer = Realizer.for_notes((n.prose or n.text for n in self.notes), tagger)
        return self._realizer

    def parse_claims(self) -> None:
        """Parse the claims the themes' bullets rewrite in spaCy batches before the themes are synthesized
        (:meth:`Realizer.prefetch`): the same parses, in about half the time one by one takes."""
        notes = {n.id: n for theme in self.themes for n in theme.all_notes() if n.kind not in ("question", "quote")}
        self.realizer().prefetch((compress(n.prose or n.text), pluralize(normalize_role(n.speaker_role)))
                                 for n in notes.values())

    def synthesis(self, theme: ThemeItem) -> ThemeSynthesis:
        """The theme's bullets (computed once per build)."""
        if theme.id not in self._syntheses:
            prefer_actions = theme.section == "Strategic Directions"
            self.options.setdefault("encoder", encoder_name(len(self.notes)))
            self.options.setdefault("phrases", phrase_method(len(self.notes)))
            self._syntheses[theme.id] = synthesize_theme(
                theme, self.resource_titles(), prefer_actions=prefer_actions,
                encoder=self.options["encoder"], phrases=self.options["phrases"], hidden=self.hidden_words,
                realizer=self.realizer(),
            )
        return self._syntheses[theme.id]

    def cite(self, bullet: Bullet) -> str:
        """Record a bullet's provenance and return its Markdown lead-in with the id."""
        self.provenance[bullet.id] = list(bullet.note_ids)
        return lead_in_markdown(bullet.lead_in, bullet.id)


def _resolve_series(db: DbSession, series) -> Series:
    if isinstance(series, Series):
        return series
    if isinstance(series, int) or (isinstance(series, str) and series.isdigit()):
        found = db.get(Series, int(series))
    else:
        found = db.scalar(select(Series).where(Series.slug == series))
    if found is None:
        raise NotFound(f"no series called {series!r}")
    return found


def hidden_name_words(people) -> frozenset[str]:
    """Words (three letters or more, lower-cased) of the names and aliases of people not to be named."""
    words: set[str] = set()
    for p in people:
        if p.consent_named:
            continue
        for name in [p.name, *(p.aliases or [])]:
            words.update(w.lower() for w in re.findall(r"[^\W\d_]+", name or "") if len(w) >= 3)
    return frozenset(words)


def gather_brief_context(db: DbSession, series, template: str = "report", *, roundtable) -> BriefContext:
    """Read a series, its sessions, codebook, tagged notes, resources and consent."""
    s = _resolve_series(db, series)
    meetings = db.scalars(
        select(Session).where(Session.series_id == s.id).order_by(Session.number)
    ).all()
    session_number = {m.id: m.number for m in meetings}
    rows = db.execute(
        select(
            Note.id, Note.session_id, Note.kind, Note.text, Note.speaker_role, Note.author_id, Note.seq
        )
        .join(Session, Note.session_id == Session.id)
        .where(Session.series_id == s.id, Note.deleted_at.is_(None))
        .order_by(Session.number, Note.seq)
    ).all()
    settings = dict(s.brief_settings or {})
    glossary = {str(k): str(v) for k, v in (settings.get("glossary") or {}).items()}
    notes = []
    for r in rows:
        prose, named_role, dissent = clean_note(r.text, glossary)
        role = r.speaker_role
        if named_role and normalize_role(role) == "participant":
            role = named_role  # "A funder: ..." typed without a speaker: the note says who spoke
        notes.append(NoteItem(
            id=r.id, text=r.text, kind=r.kind or "point", speaker_role=role,
            session_number=session_number[r.session_id], author_id=r.author_id, links=extract_urls(r.text),
            seq=r.seq or 0, prose=prose, dissent=dissent,
        ))
    by_id = {n.id: n for n in notes}
    counts = Counter(n.session_number for n in notes)
    sessions = [
        SessionItem(m.number, m.title or "", m.date, m.focus or "", counts.get(m.number, 0))
        for m in meetings
    ]

    themes = db.scalars(
        select(Theme).where(Theme.series_id == s.id).order_by(Theme.position, Theme.id)
    ).all()
    items = {
        t.id: ThemeItem(t.id, t.name, t.description or "", t.section or DEFAULT_THEME_SECTION, t.position)
        for t in themes
        if not t.retired
    }
    tops: list[ThemeItem] = []
    for t in themes:
        if t.id not in items:
            continue
        if t.parent_id is None:
            tops.append(items[t.id])
        elif t.parent_id in items:
            items[t.parent_id].children.append(items[t.id])

    tag_sources: dict[str, dict[str, int]] = {}
    # One theme per section for each note: a note carries one tag per section.
    grouped = section_tags(db, s.id)
    tag_rows = db.execute(
        select(NoteTag.note_id, NoteTag.theme_id, NoteTag.source, NoteTag.status)
        .join(Theme, NoteTag.theme_id == Theme.id)
        .where(Theme.series_id == s.id)
    ).all()
    for r in tag_rows:
        status = r.status.value if isinstance(r.status, TagStatus) else str(r.status)
        per = tag_sources.setdefault(r.source or "manual", {})
        per[status] = per.get(status, 0) + 1
        usable = status == TagStatus.ACCEPTED.value and r.theme_id in grouped.get(r.note_id, {}).values()
        if usable and r.theme_id in items and r.note_id in by_id:
            items[r.theme_id].notes.append(by_id[r.note_id])
    for item in items.values():
        item.notes.sort(key=lambda n: (n.session_number, n.id))

    resources = [
        ResourceItem(r.url, r.title or "", r.description or "", r.category or "", r.first_note_id)
        for r in db.scalars(select(Resource).where(Resource.series_id == s.id).order_by(Resource.id))
    ]

    people = db.scalars(select(Participant).where(Participant.series_id == s.id)).all()
    # The series' own acknowledgments, with anyone on the roster who declined to be named taken out.
    acknowledgments = anonymize_authored_text(db, s, s.acknowledgments or "", roundtable=roundtable, keep_credited=True)
    contributors = sorted(
        (p.name for p in people if p.consent_named), key=lambda n: (n.split()[-1].lower(), n.lower())
    )
    roles = Counter(normalize_role(p.role_label) for p in people)

    return BriefContext(
        series_id=s.id,
        slug=s.slug,
        title=s.title,
        subtitle=s.subtitle or "",
        description=s.description or "",
        organizations=list(s.organizations or []),
        authors=list(s.authors or []),
        funder=s.funder or "",
        brief_number=s.brief_number or "",
        policy=s.policy.value if hasattr(s.policy, "value") else str(s.policy),
        acknowledgments=acknowledgments,
        sessions=sessions,
        themes=tops,
        notes=notes,
        resources=resources,
        contributors=contributors,
        anonymous_contributors=any(not p.consent_named for p in people),
        participant_roles=roles,
        participant_count=s.participant_count or len(people),
        roster_count=len(people),
        hidden_words=hidden_name_words(people),
        settings=settings,
        tag_sources=tag_sources,
        template=template,
    )
