"""Briefs: synthesize a series' tagged notes into a policy report or a research brief.

A brief is Markdown built by *sections* that plugins contribute through the
``register_brief_sections`` hook (the defaults live in
``roundtable_plugins.report_sections``). Each section renders from a
:class:`BriefContext`, gathered once from the database, and wraps its output in
a delimited block::

    {#key-themes}
    ## Key Themes

so that a rebuild can tell sections apart and keep the ones an author edited
(:func:`merge_rebuild`). Generated bullets carry an id (``[**Lead-in:**]{#p-3-1}``)
that maps, in :attr:`BriefDocument.provenance`, to the notes they came from.

Synthesis is extractive and deliberately modest: TF-IDF similarity picks the
most central notes of a theme, merges near-duplicates, groups notes of themes
without sub-themes, and attributes everything to roles only. What it drafts is
material for an author to rewrite, and the Executive Summary and Key Findings
say so.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
import datetime as dt
from typing import Callable, Iterable
from urllib.parse import urlsplit

import numpy as np
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import NotFound, ValidationError
from roundtable.models import (
    Brief,
    BriefVersion,
    Note,
    NoteTag,
    Participant,
    Resource,
    Series,
    TagStatus,
    Theme,
)
from roundtable.models import Session as Meeting
from roundtable.services.anonymize import anonymize_authored_text

TEMPLATES = ("report", "brief")
TEMPLATE_LABELS = {"report": "A Policy Report", "brief": "Research Brief"}
DEFAULT_THEME_SECTION = "Key Themes"

# Categories of the anatomy's "Resources and Partners", in the order it lists them.
RESOURCE_CATEGORY_ORDER = (
    "Research and Policy Organizations",
    "Municipal and Advocacy Networks (US-based)",
    "Municipal and Advocacy Networks (International)",
    "Legal and Policy Analysis",
    "Toolkits",
    "Community Support and Accompaniment Programs",
)
OTHER_LINKS = "Other Links Mentioned"

URL_RE = re.compile(r"https?://[^\s<>\"'\]\[)(]+(?:\([^\s<>\"')(]*\)[^\s<>\"'\]\[)(]*)*", re.I)
CONTRAST_RE = re.compile(
    r"\b(disagree\w*|pushed back|push back|skeptic\w*|however|on the other hand|not convinced|"
    r"cautioned|countered|opposed|objected|warned against|questioned whether|in contrast|"
    r"by contrast|unconvinced|doubt\w*)\b",
    re.I,
)
SECTION_MARK_RE = re.compile(r"^\{#([A-Za-z][\w-]*)[^}\n]*\}[ \t]*\n(?=#{1,2} )", re.M)
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.S)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>#|!~])")
_VERBS = ("noted", "emphasized", "observed", "pointed out", "stressed", "argued")
_SMALL_WORDS = {"and", "or", "of", "the", "a", "an", "in", "on", "for", "to", "with", "at", "by"}


# --------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words, imported on first use (scikit-learn is slow to import)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


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
class Bullet:
    """A generated bullet: a bolded lead-in, a synthesized paragraph, its source notes."""

    id: str
    lead_in: str
    text: str
    note_ids: list[int]
    sessions: list[int] = field(default_factory=list)


@dataclass
class QuoteItem:
    text: str
    role: str
    note_id: int


@dataclass
class ThemeSynthesis:
    theme: ThemeItem
    bullets: list[Bullet]
    quotes: list[QuoteItem]
    note_count: int
    session_count: int
    framing: str = ""
    disagreement: Bullet | None = None


@dataclass
class BriefSection:
    """A section of a brief template, contributed by a plugin.

    ``render(context)`` returns the section's Markdown body; the builder adds
    the delimiting ``{#key}`` marker and the ``## title`` heading. An empty
    body leaves the section out. ``classes`` go on the heading (``unnumbered``,
    ``appendix``).
    """

    key: str
    title: str
    order: int
    templates: tuple[str, ...]
    render: Callable[[BriefContext], str]
    classes: tuple[str, ...] = ()


@dataclass
class BriefDocument:
    """A built brief: Markdown with front matter, and bullet id -> note ids."""

    markdown: str
    front_matter: dict
    provenance: dict[str, list[int]]
    template: str = "report"
    # Exporters show provenance (HTML footnotes, a PDF sources list) only when asked.
    show_provenance: bool = False

    @property
    def body(self) -> str:
        return split_front_matter(self.markdown)[1]


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
    plugins: list[dict] = field(default_factory=list)
    # Titles of the sections the template has, so Key Themes can take unclaimed themes.
    section_titles: list[str] = field(default_factory=list)
    provenance: dict[str, list[int]] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    _syntheses: dict[int, ThemeSynthesis] = field(default_factory=dict, repr=False)

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

    def synthesis(self, theme: ThemeItem) -> ThemeSynthesis:
        """The theme's bullets (computed once per build)."""
        if theme.id not in self._syntheses:
            prefer_actions = theme.section == "Strategic Directions"
            if "lowercase_ok" not in self.options:
                self.options["lowercase_ok"] = lower_words(self.notes)
            self._syntheses[theme.id] = synthesize_theme(
                theme, self.resource_titles(), prefer_actions=prefer_actions,
                lowercase_ok=self.options["lowercase_ok"],
            )
        return self._syntheses[theme.id]

    def cite(self, bullet: Bullet) -> str:
        """Record a bullet's provenance and return its Markdown lead-in with the id."""
        self.provenance[bullet.id] = list(bullet.note_ids)
        return lead_in_markdown(bullet.lead_in, bullet.id)


# --------------------------------------------------------------------------- gather


def _resolve_series(db: DbSession, series) -> Series:
    if isinstance(series, Series):
        return series
    if isinstance(series, int) or (isinstance(series, str) and series.isdigit()):
        found = db.get(Series, int(series))
    else:
        found = db.scalar(select(Series).where(Series.slug == series))
    if found is None:
        raise NotFound(f"no series {series!r}")
    return found


def gather_brief_context(db: DbSession, series, template: str = "report") -> BriefContext:
    """Read a series, its sessions, codebook, tagged notes, resources and consent."""
    s = _resolve_series(db, series)
    meetings = db.scalars(
        select(Meeting).where(Meeting.series_id == s.id).order_by(Meeting.number)
    ).all()
    session_number = {m.id: m.number for m in meetings}
    rows = db.execute(
        select(
            Note.id, Note.session_id, Note.kind, Note.text, Note.speaker_role, Note.author_id
        )
        .join(Meeting, Note.session_id == Meeting.id)
        .where(Meeting.series_id == s.id, Note.deleted_at.is_(None))
        .order_by(Meeting.number, Note.seq)
    ).all()
    notes = [
        NoteItem(
            id=r.id,
            text=r.text,
            kind=r.kind or "point",
            speaker_role=r.speaker_role,
            session_number=session_number[r.session_id],
            author_id=r.author_id,
            links=extract_urls(r.text),
        )
        for r in rows
    ]
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
    tag_rows = db.execute(
        select(NoteTag.note_id, NoteTag.theme_id, NoteTag.source, NoteTag.status)
        .join(Theme, NoteTag.theme_id == Theme.id)
        .where(Theme.series_id == s.id)
    ).all()
    for r in tag_rows:
        status = r.status.value if isinstance(r.status, TagStatus) else str(r.status)
        per = tag_sources.setdefault(r.source or "manual", {})
        per[status] = per.get(status, 0) + 1
        usable = status == TagStatus.ACCEPTED.value
        if usable and r.theme_id in items and r.note_id in by_id:
            items[r.theme_id].notes.append(by_id[r.note_id])
    for item in items.values():
        item.notes.sort(key=lambda n: (n.session_number, n.id))

    resources = [
        ResourceItem(r.url, r.title or "", r.description or "", r.category or "", r.first_note_id)
        for r in db.scalars(select(Resource).where(Resource.series_id == s.id).order_by(Resource.id))
    ]

    people = db.scalars(select(Participant).where(Participant.series_id == s.id)).all()
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
        acknowledgments=s.acknowledgments or "",
        sessions=sessions,
        themes=tops,
        notes=notes,
        resources=resources,
        contributors=contributors,
        anonymous_contributors=any(not p.consent_named for p in people),
        participant_roles=roles,
        participant_count=len(people),
        tag_sources=tag_sources,
        template=template,
    )


# --------------------------------------------------------------------------- text helpers


def extract_urls(text: str) -> list[str]:
    out = []
    for m in URL_RE.finditer(text or ""):
        url = m.group(0).rstrip(".,;:!?'\"")
        if url not in out:
            out.append(url)
    return out


def url_key(url: str) -> str:
    """A URL normalized for "each link once": lower-case host, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    key = f"{parts.netloc.lower().removeprefix('www.')}{path}"
    if parts.query:
        key += "?" + parts.query
    return key


def url_label(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower().removeprefix("www.") or url


def escape_md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_link(label: str, url: str) -> str:
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{escape_md(label)}]({safe})"


def note_markdown(text: str, titles: dict[str, str] | None = None) -> str:
    """Escape a note for Markdown, turning its URLs into inline links."""
    titles = titles or {}
    out, last = [], 0
    for m in URL_RE.finditer(text):
        url = m.group(0).rstrip(".,;:!?'\"")
        out.append(escape_md(text[last : m.start()]))
        out.append(md_link(titles.get(url_key(url)) or url_label(url), url))
        last = m.start() + len(url)
    out.append(escape_md(text[last:]))
    return "".join(out)


def lead_in_markdown(lead_in: str, bullet_id: str) -> str:
    return f"[**{escape_md(lead_in.rstrip(':'))}:**]{{#{bullet_id}}}"


def normalize_role(role: str | None) -> str:
    role = (role or "").strip().strip("[]").lower()
    for article in ("a ", "an ", "the "):
        if role.startswith(article):
            role = role[len(article) :]
    return role or "participant"


def pluralize(noun: str) -> str:
    words = noun.split()
    if not words:
        return noun
    last = words[-1]
    if last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        last = last[:-1] + "ies"
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        last += "es"
    elif last == "person":
        last = "people"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


def article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def attribution(notes: Iterable[NoteItem], limit: int = 2) -> str:
    """"legal advocates and scholars" / "a municipal leader": roles only, never names."""
    counts = Counter(normalize_role(n.speaker_role) for n in notes)
    if not counts:
        return "participants"
    named = [(r, c) for r, c in counts.most_common() if r != "participant"][:limit]
    if not named:
        return "participants" if counts["participant"] > 1 else "a participant"
    parts = [pluralize(r) if c > 1 else article(r) for r, c in named]
    return join_words(parts)


def capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def trim_sentence(text: str, limit: int = 300) -> str:
    """The note's text up to ``limit`` characters, cut at a sentence end when possible."""
    text = " ".join(text.split())
    if len(text) > limit:
        cut = max(text.rfind(". ", 0, limit), text.rfind("? ", 0, limit), text.rfind("! ", 0, limit))
        text = text[: cut + 1] if cut > 60 else text[:limit].rsplit(" ", 1)[0] + "…"
    if text and text[-1] not in ".?!…\"”":
        text += "."
    return text


_SAYS_WHO_RE = re.compile(r"^(an?|the|some|several|many|one|two|other|another)\s+[\w -]{3,40}?(:| said| noted| argued| asked)", re.I)
_DISCOURSE_RE = re.compile(r"^(however|but|yet|still|on the other hand|by contrast|in contrast|that said)\s*,?\s+", re.I)


def lower_words(notes: Iterable[NoteItem]) -> set[str]:
    """Words the notes write in lower case somewhere: safe to lower-case at a sentence start."""
    words: set[str] = set(stop_words())
    for n in notes:
        words.update(w for w in re.findall(r"\b[a-z][a-z'-]+\b", n.text))
    return words


def reported(verb: str, who: str, text: str, titles: dict[str, str], lowercase_ok: set[str] | None = None) -> str:
    """"Legal advocates noted that cities ...": lower-cases the note's first word only when safe."""
    text = trim_sentence(_DISCOURSE_RE.sub("", text.strip().strip("\"“”")))
    word = re.sub(r"[^\w'-]", "", text.split(" ", 1)[0])
    body = note_markdown(text, titles)
    if who in ("a participant", "participants") and _SAYS_WHO_RE.match(text):
        return capitalize_first(body)  # the note already says who spoke ("A legal advocate: ...")
    safe = lowercase_ok if lowercase_ok is not None else stop_words()
    if word and not word.isupper() and (word.lower() in safe or word[:1].islower()):
        return f"{capitalize_first(who)} {verb} that {body[:1].lower()}{body[1:]}"
    return f"{capitalize_first(who)} {verb}: {capitalize_first(body)}"


# --------------------------------------------------------------------------- synthesis


class TextSpace:
    """TF-IDF vectors of a set of notes, fitted once and shared by every step of a theme."""

    def __init__(self, notes: list[NoteItem]):
        self.notes = notes
        self.index = {n.id: i for i, n in enumerate(notes)}
        self.matrix = None
        self._ngrams = None
        self._vocab = None
        if notes:
            _, self.matrix = _vectorize([n.text for n in notes])

    def rows(self, notes: list[NoteItem]):
        if self.matrix is None:
            return None
        return self.matrix[[self.index[n.id] for n in notes]]

    def ngram_space(self):
        if self._ngrams is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(analyzer=phrases, sublinear_tf=True)
            try:
                self._ngrams = vec, vec.fit_transform([n.text for n in self.notes])
            except ValueError:
                self._ngrams = None, None
        return self._ngrams

    def lead_in(self, group: list[NoteItem], others: list[NoteItem] | None = None, avoid=()) -> str:
        """A 1-3 word lead-in drawn from the group's own words (distinctive phrases)."""
        vec, matrix = self.ngram_space()
        if vec is None:
            return "Further Points"
        if self._vocab is None:
            self._vocab = vec.get_feature_names_out()
        vocab = self._vocab
        in_group = {n.id for n in group}
        rest_ids = [self.index[n.id] for n in (others if others is not None else self.notes) if n.id not in in_group]
        sub = matrix[[self.index[n.id] for n in group]]
        score = np.asarray(sub.mean(axis=0)).ravel()
        if rest_ids:
            score = score - 0.5 * np.asarray(matrix[rest_ids].mean(axis=0)).ravel()
        doc_freq = np.asarray((sub > 0).sum(axis=0)).ravel()
        lengths = np.fromiter((t.count(" ") + 1 for t in vocab), dtype=float, count=len(vocab))
        need = min(2, len(group))
        score = np.where(doc_freq >= need, score * (1 + 0.3 * (lengths - 1)), score * 0.3)
        taken = {a.lower() for a in avoid}
        order = [i for i in np.argsort(-score)[:60] if score[i] > 0 and vocab[i] not in taken]
        if not order:
            return "Further Points"
        # 1. a phrase several notes of the group share; 2. the best phrase of its most central note.
        for i in order:
            if " " in vocab[i] and doc_freq[i] >= need:
                return title_case(vocab[i])
        rows = self.rows(group)
        if rows is not None and len(group) > 1:
            central_row = self.index[group[central_order(rows)[0]].id]
        else:
            central_row = self.index[group[0].id]
        in_central = set(matrix[central_row].indices)
        for i in order:
            if " " in vocab[i] and i in in_central:
                return title_case(vocab[i])
        return title_case(vocab[order[0]])


_WORD_RE = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
_WEAK_EXTRA = {"should", "could", "would", "can", "need", "needs", "make", "said", "says",
                              "think", "like", "just", "really", "also", "ppl", "people", "thing", "things",
                              "scholar", "scholars", "advocate", "advocates", "leader", "leaders", "organizer",
                              "organizers", "participant", "participants", "convinced", "agreed", "disagreed",
                              "noted", "argued", "raised", "point", "getting", "worse", "better"}
_LINKING = {"of", "and", "for", "to", "in", "on", "with", "without"}
# Words that turn a phrase into a clause ("cities should pool"): never inside a lead-in.
_CLAUSE = {"should", "could", "would", "can", "must", "will", "may", "might", "was", "were", "is", "are",
           "not", "did", "does", "do", "has", "have", "had", "be", "been", "can't", "won't", "don't",
           "isn't", "aren't", "doesn't", "didn't", "cannot"}


@functools.lru_cache(maxsize=1)
def weak_words() -> frozenset[str]:
    return stop_words() | _WEAK_EXTRA


def phrases(text: str) -> list[str]:
    """Candidate lead-in phrases: 1-3 word runs that neither start nor end with a weak word."""
    _WEAK = weak_words()
    words = _WORD_RE.findall(URL_RE.sub(" ", text).lower().replace("’", "'"))
    out = []
    for i, w in enumerate(words):
        if w in _WEAK or len(w) < 3:
            continue
        for n in range(1, 4):
            if i + n > len(words):
                break
            last = words[i + n - 1]
            if last in _CLAUSE or (n == 3 and words[i + 1] in _WEAK and words[i + 1] not in _LINKING):
                break
            if n > 1 and (last in _WEAK or len(last) < 3):
                continue
            out.append(" ".join(words[i : i + n]))
    return out


def _vectorize(texts: list[str], ngrams=(1, 1)):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", ngram_range=ngrams, sublinear_tf=True, min_df=1)
    try:
        matrix = vec.fit_transform(texts)
    except ValueError:  # only stop words
        return None, None
    return vec, matrix


def central_order(matrix, boosts: np.ndarray | None = None) -> list[int]:
    """Indices ranked by cosine similarity to the group's centroid (TF-IDF rows are unit length)."""
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    scores = np.asarray(matrix @ centroid).ravel()
    if boosts is not None:
        scores = scores + boosts
    return list(np.argsort(-scores, kind="stable"))


def pick_central(notes: list[NoteItem], matrix, prefer_actions=False, count=2, dup=0.55):
    """The ``count`` most central notes, each with the near-duplicates merged into it."""
    if len(notes) == 1 or matrix is None:
        return [(n, [n]) for n in notes[:count]]
    boosts = None
    if prefer_actions:
        boosts = np.array([0.25 if n.kind == "action" else 0.0 for n in notes])
    order = central_order(matrix, boosts)
    sims = (matrix @ matrix.T).toarray()
    candidates = [i for i in order if notes[i].kind != "question"] or order[:1]
    chosen: list[int] = []
    for i in candidates:
        if len(chosen) == count:
            break
        if not chosen or sims[i, chosen].max() < dup:
            chosen.append(i)
    # Every other note joins the chosen note it is a near-duplicate of (for provenance).
    to_chosen = sims[:, chosen]
    nearest = to_chosen.argmax(axis=1)
    merged = {c: [c] for c in chosen}
    for i in range(len(notes)):
        if i not in merged and to_chosen[i, nearest[i]] >= dup:
            merged[chosen[nearest[i]]].append(i)
    return [(notes[c], [notes[m] for m in merged[c]]) for c in chosen]


def title_case(text: str) -> str:
    words = text.split()
    return " ".join(
        w if w.isupper() else (w if (i and w in _SMALL_WORDS) else w[:1].upper() + w[1:])
        for i, w in enumerate(words)
    )


def synthesize_group(
    bullet_id: str,
    lead_in: str,
    notes: list[NoteItem],
    titles: dict[str, str],
    prefer_actions: bool = False,
    verb_offset: int = 0,
    space: TextSpace | None = None,
    lowercase_ok: set[str] | None = None,
) -> Bullet:
    """One bullet from a group of notes: central notes, duplicates merged, roles, links."""
    space = space or TextSpace(notes)
    picks = pick_central(notes, space.rows(notes), prefer_actions=prefer_actions)
    sentences = []
    used_links: set[str] = set()
    first_who = None
    for k, (note, merged) in enumerate(picks):
        who = attribution(merged)
        if k == 0:
            first_who = who
        elif who == first_who:
            who = "others"
        verb = _VERBS[(verb_offset + k) % len(_VERBS)]
        sentence = reported(verb, who, note.text, titles, lowercase_ok)
        merged_sessions = {m.session_number for m in merged}
        if k == 0 and len(merged_sessions) > 1:
            sentence = sentence.rstrip(".") + f" (a point raised in {len(merged_sessions)} sessions)."
        sentences.append(sentence)
        used_links.update(url_key(u) for u in note.links)
    extra = []
    for n in notes:
        for u in n.links:
            if url_key(u) not in used_links and len(extra) < 3:
                used_links.add(url_key(u))
                extra.append(md_link(titles.get(url_key(u)) or url_label(u), u))
    if extra:
        sentences.append(f"See {join_words(extra)}.")
    sessions = sorted({n.session_number for n in notes})
    return Bullet(bullet_id, lead_in, " ".join(sentences), [n.id for n in notes], sessions)


def group_by_similarity(notes: list[NoteItem], k: int, matrix=None) -> list[list[NoteItem]]:
    """Split notes into ``k`` groups of similar notes (k-means on TF-IDF), largest first."""
    if len(notes) <= k:
        return [[n] for n in notes]
    if matrix is None:
        _, matrix = _vectorize([n.text for n in notes])
    if matrix is None:
        return [notes]
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=1, random_state=0, max_iter=100).fit_predict(matrix)
    groups: dict[int, list[NoteItem]] = {}
    for n, label in zip(notes, labels):
        groups.setdefault(int(label), []).append(n)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0].id))


def bullets_wanted(note_count: int) -> int:
    return max(1, min(6, max(3, round(note_count / 6)), note_count))


def synthesize_theme(theme: ThemeItem, titles: dict[str, str], prefer_actions=False,
                     lowercase_ok: set[str] | None = None) -> ThemeSynthesis:
    """Bullets for a theme: one per sub-theme, or 3-6 groups of similar notes."""
    all_notes = theme.all_notes()
    notes = [n for n in all_notes if n.kind != "question"]
    space = TextSpace(notes)
    bullets: list[Bullet] = []
    lead_of: dict[int, str] = {}
    children = [c for c in theme.children if any(n.kind != "question" for n in c.notes)]
    if children:
        groups = [(c.name, [n for n in c.notes if n.kind != "question"]) for c in children]
        in_children = {n.id for _, g in groups for n in g}
        own = [n for n in notes if n.id not in in_children]
        if len(own) >= 2:
            groups.append((space.lead_in(own), own))
    elif notes:
        clusters = group_by_similarity(notes, bullets_wanted(len(notes)), space.matrix)
        groups = []
        for g in clusters:
            groups.append((space.lead_in(g, avoid=[lead for lead, _ in groups]), g))
    else:
        groups = []
    for i, (lead, group) in enumerate(groups, 1):
        bullets.append(synthesize_group(f"p-{theme.id}-{i}", lead, group, titles, prefer_actions,
                                        verb_offset=i, space=space, lowercase_ok=lowercase_ok))
        for n in group:
            lead_of.setdefault(n.id, lead)
    return ThemeSynthesis(
        theme=theme,
        bullets=bullets,
        quotes=pick_quotes(all_notes),
        note_count=len(all_notes),
        session_count=len({n.session_number for n in all_notes}),
        framing=trim_sentence(theme.description) if theme.description else "",
        disagreement=find_disagreement(theme, space, titles, lead_of, lowercase_ok),
    )


def pick_quotes(notes: list[NoteItem], limit: int = 2, max_chars: int = 240) -> list[QuoteItem]:
    """Up to two short verbatim quotes (quote notes, already anonymized), most central first."""
    quotes = [n for n in notes if n.kind == "quote" and len(n.text) <= max_chars]
    if len(quotes) > limit:
        _, matrix = _vectorize([n.text for n in quotes])
        if matrix is not None:
            quotes = [quotes[i] for i in central_order(matrix)]
    picked: list[NoteItem] = []
    seen: set[str] = set()
    sessions: set[int] = set()
    for q in quotes:
        key = re.sub(r"\W+", " ", q.text.lower()).strip()
        if key in seen:
            continue
        if q.session_number in sessions and len({x.session_number for x in quotes}) > len(picked):
            continue
        seen.add(key)
        sessions.add(q.session_number)
        picked.append(q)
        if len(picked) == limit:
            break
    return [
        QuoteItem(" ".join(q.text.strip().strip("\"“”").split()), article(normalize_role(q.speaker_role)), q.id)
        for q in picked
    ]


def find_disagreement(theme: ThemeItem, space: TextSpace, titles: dict[str, str],
                      lead_of: dict[int, str], lowercase_ok: set[str] | None = None) -> Bullet | None:
    """A "participants differed on ..." bullet when a note pushes back on a similar one."""
    notes = space.notes
    if len(notes) < 2 or space.matrix is None:
        return None
    dissent = np.array([bool(CONTRAST_RE.search(n.text)) for n in notes])
    if not dissent.any() or dissent.all():
        return None
    d_idx, o_idx = np.flatnonzero(dissent), np.flatnonzero(~dissent)
    sims = (space.matrix[d_idx] @ space.matrix[o_idx].T).toarray()
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    if sims[i, j] < 0.08:
        return None
    d, other = notes[d_idx[i]], notes[o_idx[j]]
    topic = (lead_of.get(d.id) or lead_of.get(other.id) or space.lead_in([d, other])).lower()
    text = (
        f"Participants differed on {escape_md(topic)}. "
        f"{reported('held', attribution([other]), other.text, titles, lowercase_ok)} "
        f"{dissent_sentence(d, titles, lowercase_ok)}"
    )
    return Bullet(f"p-{theme.id}-d", "Where Participants Differed", text, [other.id, d.id],
                  sorted({other.session_number, d.session_number}))


def first_question(text: str) -> str:
    """The note's first question ("Who decides? ..." -> "Who decides?"), or the note as a question."""
    text = " ".join(text.split())
    m = re.search(r"[^?]{12,}?\?+", text)
    question = m.group(0).strip() if m else trim_sentence(text, 220).rstrip(".!…") + "?"
    return capitalize_first(re.sub(r"\?+$", "?", question))


def dissent_sentence(note: NoteItem, titles: dict[str, str], lowercase_ok: set[str] | None = None) -> str:
    """The pushing-back note, attributed unless it already says who disagreed."""
    text = _DISCOURSE_RE.sub("", note.text.strip())
    first = text.split(" ", 1)[0].lower()
    if first in ("a", "an", "some", "others", "several", "many", "one", "another", "two", "few"):
        return f"Not everyone agreed: {note_markdown(trim_sentence(text), titles)}"
    return reported("countered", attribution([note]), text, titles, lowercase_ok)


def question_topics(context: BriefContext, limit: int = 5) -> list[Bullet]:
    """Question notes grouped into bolded topics with one or two open questions each."""
    questions = context.notes_by_kind.get("question", [])
    if not questions:
        return []
    theme_of: dict[int, str] = {}
    for t in context.themes:
        for n in t.all_notes():
            theme_of.setdefault(n.id, t.name)
    space = TextSpace(questions)
    groups = group_by_similarity(questions, min(limit, len(questions)), space.matrix)
    used_topics: set[str] = set()
    titles = context.resource_titles()
    bullets = []
    for i, group in enumerate(groups, 1):
        names = Counter(theme_of[n.id] for n in group if n.id in theme_of).most_common(1)
        topic = names[0][0] if names and names[0][0] not in used_topics else ""
        if not topic:
            topic = space.lead_in(group)
        used_topics.add(topic)
        matrix = space.rows(group)
        order = central_order(matrix) if matrix is not None else range(len(group))
        asked = []
        for j in order:
            text = first_question(group[j].text)
            if all(difflib.SequenceMatcher(None, text, a).ratio() < 0.8 for a in asked):
                asked.append(text)
            if len(asked) == 2:
                break
        body = " ".join(note_markdown(capitalize_first(a), titles) for a in asked)
        bullets.append(Bullet(f"q-{i}", topic, body, [n.id for n in group],
                              sorted({n.session_number for n in group})))
    return bullets


def name_from_url(url: str) -> str:
    """"Open Records Kit" from https://open-records-kit.example.org/...: a readable stand-in name."""
    host = url_label(url).split(".")[0]
    return title_case(re.sub(r"[-_]+", " ", host)) if host else url


def describe_from_note(text: str, url: str) -> str:
    """The words of the note that mentioned a link, without the link: its one-line description."""
    words = URL_RE.sub("", text)
    words = re.sub(r"\s*[-:–—]\s*$", "", " ".join(words.split())).strip(" -:;,([")
    words = re.sub(r"\(\s*\)|\[\s*\]", "", words).strip()
    if len(words) < 12:
        return ""
    return capitalize_first(trim_sentence(words, 160))


def collect_resources(context: BriefContext) -> "OrderedDict[str, list[ResourceItem]]":
    """Every link mentioned in the series, once, grouped by category in the anatomy's order."""
    seen: set[str] = set()
    items: list[ResourceItem] = []
    for r in context.resources:
        key = url_key(r.url)
        if key not in seen:
            seen.add(key)
            items.append(r)
    for n in context.notes:
        for u in n.links:
            key = url_key(u)
            if key not in seen:
                seen.add(key)
                items.append(ResourceItem(u, name_from_url(u), describe_from_note(n.text, u), "", n.id))
    groups: dict[str, list[ResourceItem]] = {}
    for r in items:
        groups.setdefault(r.category.strip() or OTHER_LINKS, []).append(r)
    known = [c for c in RESOURCE_CATEGORY_ORDER if c in groups]
    rest = sorted(c for c in groups if c not in RESOURCE_CATEGORY_ORDER and c != OTHER_LINKS)
    ordered: OrderedDict[str, list[ResourceItem]] = OrderedDict()
    for c in known + rest + ([OTHER_LINKS] if OTHER_LINKS in groups else []):
        ordered[c] = sorted(groups[c], key=lambda r: (r.title or url_label(r.url)).lower())
    return ordered


# --------------------------------------------------------------------------- building


def front_matter_for(context: BriefContext) -> dict:
    last = max((s.date for s in context.sessions if s.date), default=None)
    fm = {
        "title": context.title,
        "subtitle": context.subtitle,
        "kind": TEMPLATE_LABELS.get(context.template, context.template.title()),
        "template": context.template,
        "organizations": context.organizations,
        "authors": context.authors,
        "contributors": context.contributors,
        "anonymous_contributors": context.anonymous_contributors,
        "date": last.strftime("%B %Y") if last else "",
    }
    if context.template == "brief":
        fm["brief_number"] = context.brief_number
        fm["funder"] = context.funder
    return fm


def sections_for(template: str, pm=None) -> list[BriefSection]:
    """The sections registered for ``template``, later registrations replacing earlier ones."""
    from roundtable.plugins import collect, default_plugin_manager

    pm = pm or default_plugin_manager()
    # collect() returns newest plugin first: the first section seen for a key wins.
    chosen: dict[str, BriefSection] = {}
    for section in collect(pm, "register_brief_sections"):
        if template in section.templates and section.key not in chosen:
            chosen[section.key] = section
    if not chosen:
        raise ValidationError(f"no sections are registered for template {template!r}")
    return sorted(chosen.values(), key=lambda s: (s.order, s.key))


def section_block(section: BriefSection, body: str) -> str:
    classes = "".join(f" .{c}" for c in section.classes)
    return f"{{#{section.key}{classes}}}\n## {section.title}\n\n{body.strip()}\n"


def build_brief(db_or_context, series=None, template: str = "report", pm=None, progress=None) -> BriefDocument:
    """Build a brief's Markdown from a series (``db`` + ``series``) or a gathered context.

    ``progress(stage, done, total)`` is called as stages finish: gather,
    synthesize, sections.
    """
    from roundtable.plugins import default_plugin_manager, describe_plugins

    pm = pm or default_plugin_manager()
    report = progress or (lambda stage, done, total: None)
    if isinstance(db_or_context, BriefContext):
        context = db_or_context
        context.template = template
    else:
        if series is None:
            raise ValidationError("build_brief needs a series")
        context = gather_brief_context(db_or_context, series, template)
    report("gather", 1, 3)
    context.provenance = {}
    if not context.plugins:
        context.plugins = describe_plugins(pm)
    sections = sections_for(template, pm)
    context.section_titles = [s.title for s in sections]
    if template == "report" or any(s.key in ("key-themes", "key-findings") for s in sections):
        for theme in context.themes:
            context.synthesis(theme)
    report("synthesize", 2, 3)
    blocks = []
    for section in sections:
        body = section.render(context)
        if body and body.strip():
            blocks.append(section_block(section, body))
    fm = front_matter_for(context)
    markdown = join_front_matter(fm, "\n".join(blocks))
    report("sections", 3, 3)
    return BriefDocument(markdown, fm, dict(context.provenance), template)


def join_front_matter(front_matter: dict, body: str) -> str:
    head = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n\n{body.lstrip()}"


def split_front_matter(markdown: str) -> tuple[dict, str]:
    """``(front matter dict, body)``; an absent or unreadable front matter gives ``{}``."""
    m = FRONT_MATTER_RE.match(markdown)
    if not m:
        return {}, markdown
    try:
        data = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"the front matter is not valid YAML: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ValidationError("the front matter must be a mapping of fields")
    return data, markdown[m.end() :]


# --------------------------------------------------------------------------- sections & rebuild


FRONT_MATTER_KEY = "front-matter"


def split_sections(markdown: str) -> "OrderedDict[str, str]":
    """Section key -> its text, in order. Text before the first marker is ``"_preamble"``;
    the front matter, if any, is ``"front-matter"``."""
    out: OrderedDict[str, str] = OrderedDict()
    m = FRONT_MATTER_RE.match(markdown)
    if m:
        out[FRONT_MATTER_KEY] = m.group(0)
        markdown = markdown[m.end() :]
    marks = list(SECTION_MARK_RE.finditer(markdown))
    start = marks[0].start() if marks else len(markdown)
    if markdown[:start].strip():
        out["_preamble"] = markdown[:start]
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(markdown)
        key = mark.group(1)
        while key in out:
            key += "-2"
        out[key] = markdown[mark.start() : end]
    return out


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def changed_sections(old_markdown: str, new_markdown: str) -> set[str]:
    """Keys of sections whose text differs (or that exist in only one of the two)."""
    old, new = split_sections(old_markdown), split_sections(new_markdown)
    return {k for k in set(old) | set(new) if _norm(old.get(k, "")) != _norm(new.get(k, ""))}


def merge_rebuild(old_markdown: str, new_markdown: str, edited_section_keys, force: bool = False) -> str:
    """A rebuilt draft that keeps the author's edited sections (unless ``force``).

    Generated sections come from ``new_markdown`` in its order; an edited
    section keeps its old text in place; an edited section the new build no
    longer produces (an author's own section) stays after the section it
    followed.
    """
    if force:
        return new_markdown
    edited = set(edited_section_keys or ())
    old, new = split_sections(old_markdown), split_sections(new_markdown)
    result: OrderedDict[str, str] = OrderedDict()
    for key, text in new.items():
        result[key] = old[key] if key in edited and key in old else text
    old_keys = list(old)
    for i, key in enumerate(old_keys):
        if key in result or key not in edited:
            continue
        anchor = next((k for k in reversed(old_keys[:i]) if k in result), None)
        items = list(result.items())
        pos = 0 if anchor is None else [k for k, _ in items].index(anchor) + 1
        items.insert(pos, (key, old[key]))
        result = OrderedDict(items)
    parts = []
    for text in result.values():
        parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(p if i == 0 or p.startswith("\n") or parts[i - 1].endswith("\n\n") else "\n" + p
                   for i, p in enumerate(parts))


# --------------------------------------------------------------------------- drafts & versions


def get_brief(db: DbSession, series, template: str = "report", create: bool = True) -> Brief | None:
    s = _resolve_series(db, series)
    brief = db.scalar(select(Brief).where(Brief.series_id == s.id, Brief.template == template))
    if brief is None and create:
        brief = Brief(series_id=s.id, template=template, markdown="", edited_sections=[], provenance={})
        db.add(brief)
        db.flush()
    return brief


def rebuild_brief(db: DbSession, series, template: str = "report", force: bool = False, pm=None,
                  progress=None, author_id: int | None = None) -> Brief:
    """Rebuild the stored draft from notes, keeping edited sections unless ``force``.

    The previous draft is saved as a version first, so nothing is lost.
    """
    brief = get_brief(db, series, template)
    document = build_brief(db, series, template=template, pm=pm, progress=progress)
    if brief.markdown:
        save_version(db, brief, label="before rebuild", author_id=author_id)
        merged = merge_rebuild(brief.markdown, document.markdown, brief.edited_sections, force=force)
    else:
        merged = document.markdown
    brief.markdown = merged
    if force:
        brief.edited_sections = []
    brief.provenance = document.provenance
    save_version(db, brief, label="rebuilt from notes" + (" (forced)" if force else ""), author_id=author_id)
    return brief


def save_draft(db: DbSession, brief: Brief, markdown: str, author_id: int | None = None,
               label: str = "") -> Brief:
    """Store an author's edit, anonymized like every other text; sections that changed are marked as edited."""
    split_front_matter(markdown)  # reject unreadable front matter before storing
    markdown = anonymize_authored_text(db, _resolve_series(db, brief.series_id), markdown, keep_credited=True)
    edited = set(brief.edited_sections or ()) | (changed_sections(brief.markdown or "", markdown) - {"_preamble"})
    brief.markdown = markdown
    brief.edited_sections = sorted(edited)
    save_version(db, brief, label=label or "edited", author_id=author_id)
    return brief


def save_version(db: DbSession, brief: Brief, label: str = "", author_id: int | None = None) -> BriefVersion:
    number = (db.scalar(select(func.max(BriefVersion.number)).where(BriefVersion.brief_id == brief.id)) or 0) + 1
    version = BriefVersion(brief_id=brief.id, number=number, markdown=brief.markdown, label=label,
                           author_id=author_id)
    db.add(version)
    db.flush()
    return version


def list_versions(db: DbSession, brief: Brief) -> list[BriefVersion]:
    return list(db.scalars(select(BriefVersion).where(BriefVersion.brief_id == brief.id)
                           .order_by(BriefVersion.number.desc())))


@dataclass
class VersionComparison:
    old_number: int
    new_number: int
    unified: str
    changed_sections: list[str]
    rows: list[tuple[str, str]]  # (op, line): op in " ", "-", "+"


def compare_versions(db: DbSession, brief: Brief, old_number: int, new_number: int) -> VersionComparison:
    """A line diff (difflib) of two saved versions and the sections that changed."""
    found = {v.number: v for v in db.scalars(
        select(BriefVersion).where(BriefVersion.brief_id == brief.id,
                                   BriefVersion.number.in_([old_number, new_number])))}
    for n in (old_number, new_number):
        if n not in found:
            raise NotFound(f"no version {n} of this brief")
    return compare_markdown(found[old_number].markdown, found[new_number].markdown, old_number, new_number)


def compare_markdown(old: str, new: str, old_number: int = 0, new_number: int = 0) -> VersionComparison:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    unified = "\n".join(difflib.unified_diff(old_lines, new_lines, f"version {old_number}",
                                             f"version {new_number}", lineterm=""))
    rows = []
    for line in difflib.ndiff(old_lines, new_lines):
        if line[:1] in (" ", "-", "+"):
            rows.append((line[:1], line[2:]))
    order = list(split_sections(new)) + [k for k in split_sections(old) if k not in split_sections(new)]
    changed = changed_sections(old, new)
    return VersionComparison(old_number, new_number, unified, [k for k in order if k in changed], rows)


# --------------------------------------------------------------------------- export


def check_export(db: DbSession, series, text: str) -> None:
    """Run the anonymization export gate on text about to leave the system.

    The gate refuses the name of anyone on the roster who did not agree to be
    named (consenting people may appear in credits), emails and phone numbers.
    """
    from roundtable.services.anonymize import export_gate, roster_and_kept_terms

    roster, kept = roster_and_kept_terms(db, _resolve_series(db, series))
    export_gate(text, roster, kept)


def export_brief(db: DbSession, series, template: str = "report", fmt: str = "pdf", pm=None,
                 progress=None, markdown: str | None = None, provenance: bool = False) -> tuple[bytes, object]:
    """Build (or take the stored ``markdown``), gate, and export a brief.

    Returns ``(data, exporter)``. The export gate runs before any exporter,
    so nothing identifying is ever written.
    """
    from roundtable.plugins import collect, default_plugin_manager

    pm = pm or default_plugin_manager()
    exporters = {}
    for exporter in collect(pm, "register_exporters"):
        exporters.setdefault(exporter.name, exporter)
    if fmt not in exporters:
        raise ValidationError(f"unknown format {fmt!r}; choose one of {', '.join(sorted(exporters))}")
    if markdown is None:
        document = build_brief(db, series, template=template, pm=pm, progress=progress)
    else:
        fm, _ = split_front_matter(markdown)
        brief = get_brief(db, series, template, create=False)
        document = BriefDocument(markdown, fm, dict(brief.provenance or {}) if brief else {}, template)
    document.show_provenance = provenance
    check_export(db, series, document.markdown)
    if progress:
        progress("gate", 1, 1)
    data = exporters[fmt].export(document)
    if progress:
        progress(fmt, 1, 1)
    return data, exporters[fmt]
