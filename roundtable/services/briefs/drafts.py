"""Stored drafts: rebuilds that keep an author's edited sections, saves, versions and diffs."""

from __future__ import annotations

import difflib
import re
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import Conflict, NotFound, ValidationError
from roundtable.models import MAX_DATABASE_ID, Brief, BriefVersion, Note, Session, utcnow
from roundtable.services.anonymize import authored_line, authored_text_anonymizer
from roundtable.services.briefs.build import build_brief
from roundtable.services.briefs.context import _resolve_series, gather_brief_context
from roundtable.services.briefs.markdown import FRONT_MATTER_KEY, lead_in_markdown, split_sections
from roundtable.services.briefs.prose import normalize_role
from roundtable.services.briefs.synthesis import synthesize_group
from roundtable.services.inserts import insert_ignoring_duplicates
from roundtable.services.render import heading_text, split_front_matter

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


def get_brief(db: DbSession, series, template: str = "report", create: bool = True) -> Brief | None:
    """The series' stored draft of ``template``; with ``create``, an empty one is stored if there is none.

    Two first opens at once: the second insert waits for the first's transaction and stores nothing."""
    s = _resolve_series(db, series)
    stored = select(Brief).where(Brief.series_id == s.id, Brief.template == template)
    brief = db.scalar(stored)
    if brief is None and create:
        db.execute(insert_ignoring_duplicates(db, Brief).values(series_id=s.id, template=template))
        brief = db.scalar(stored)
    return brief


def first_draft(db: DbSession, series, template: str = "report", *, roundtable, author_id: int | None = None) -> Brief:
    """The stored draft, built from the notes the first time it is opened.

    Two tabs opening it at once build it once: the second waits for the first's draft (its row, then its
    lock) and returns it as stored."""
    brief = get_brief(db, series, template, create=False)
    if brief is not None and brief.markdown:
        return brief
    brief = get_brief(db, series, template)
    _hold_draft(db, brief)
    if brief.markdown:
        return brief
    return rebuild_brief(db, series, template, roundtable=roundtable, author_id=author_id)


def rebuild_brief(db: DbSession, series, template: str = "report", force: bool = False, *, roundtable,
                  progress=None, author_id: int | None = None) -> Brief:
    """Rebuild the stored draft from notes, keeping edited sections unless ``force``.

    The previous draft is saved as a version first, so nothing is lost.
    """
    brief = get_brief(db, series, template)
    document = build_brief(db, series, template=template, roundtable=roundtable, progress=progress)
    _hold_draft(db, brief)
    old = brief.markdown or ""
    if old:
        save_version(db, brief, label="before rebuild", author_id=author_id)
        merged = merge_rebuild(old, document.markdown, brief.edited_sections, force=force)
    else:
        merged = document.markdown
    provenance = dict(document.provenance)
    if not force:  # bullets in the sections kept as the author left them keep their sources
        for key in brief.edited_sections or ():
            for bullet_id in BULLET_ID_RE.findall(split_sections(old).get(key, "")):
                if bullet_id in (brief.provenance or {}):
                    provenance[bullet_id] = brief.provenance[bullet_id]
    # A regenerated section whose text changed is a draft again until an author reviews it.
    changed = changed_sections(old, merged)
    brief.section_status = {k: v for k, v in (brief.section_status or {}).items() if k not in changed}
    brief.markdown = merged
    if force:
        brief.edited_sections = []
    brief.provenance = provenance
    save_version(db, brief, label="rebuilt from notes" + (" (forced)" if force else ""), author_id=author_id)
    return brief


def _hold_draft(db: DbSession, brief: Brief) -> None:
    """Lock the draft's row until commit, then read it as it is now.

    Building takes seconds, and an author may save an edit meanwhile: merged into the draft as it
    was when the build began, the edit would be lost (and its version number taken twice). The same
    for section marks: each change rewrites the whole set.
    """
    db.execute(update(Brief).where(Brief.id == brief.id).values(updated_at=utcnow()))
    db.refresh(brief)


def latest_version(db: DbSession, brief: Brief) -> int:
    """The number of the draft's newest saved version (0 before the first); every change of its text saves one."""
    return db.scalar(select(func.max(BriefVersion.number)).where(BriefVersion.brief_id == brief.id)) or 0


def require_version(db: DbSession, brief: Brief, opened: int | None) -> None:
    """Refuse a change made on a page that showed version ``opened`` when the draft has changed since.

    Two authors editing at once: the second would otherwise overwrite, rewrite or approve text they never saw.
    """
    _hold_draft(db, brief)
    newest = latest_version(db, brief)
    if opened is not None and opened != newest:
        raise Conflict(f"another author saved version {newest} of this draft since you opened version {opened}; "
                       "your change was not saved")


def save_draft(db: DbSession, brief: Brief, markdown: str, author_id: int | None = None,
               label: str = "", *, roundtable, opened_version: int | None = None) -> Brief:
    """Store an author's edit, anonymized like every other text; sections that changed are marked as edited.

    ``opened_version``: the version the author's page showed; a newer one is a :class:`Conflict`.
    """
    split_front_matter(markdown)  # reject unreadable front matter before storing
    require_version(db, brief, opened_version)
    anonymize = authored_text_anonymizer(db, _resolve_series(db, brief.series_id), roundtable=roundtable,
                                         keep_credited=True)
    label = authored_line(anonymize, label or "", "a version label", 200)  # shown beside the draft: anonymized too
    markdown = anonymize(markdown)
    edited = set(brief.edited_sections or ()) | (changed_sections(brief.markdown or "", markdown) - {"_preamble"})
    brief.markdown = markdown
    brief.edited_sections = sorted(edited)
    save_version(db, brief, label=label or "edited", author_id=author_id)
    return brief


SECTION_STATUSES = ("draft", "reviewed")
BULLET_ID_RE = re.compile(r"\]\{#((?:p|q|kf)-[\w-]+)\}")


def section_keys(markdown: str) -> list[str]:
    """The keys of a draft's sections, in order (no front matter or preamble)."""
    return [k for k in split_sections(markdown) if k != FRONT_MATTER_KEY and not k.startswith("_")]


SECTION_HEAD_RE = re.compile(r"\A\{#[^}\n]*\}[ \t]*\n#{1,2} (.+)\n?")


def section_titles(markdown: str) -> dict[str, str]:
    """Each section's key -> the title its heading shows readers (the key where a hand edit removed the heading)."""
    return {key: (heading_text(m.group(1)) if (m := SECTION_HEAD_RE.match(text)) else key)
            for key, text in split_sections(markdown).items() if key != FRONT_MATTER_KEY and not key.startswith("_")}


def set_section_status(db: DbSession, brief: Brief, key: str, status: str, author_id: int | None = None) -> Brief:
    """Mark a section "draft" or "reviewed"; exports mark every section not reviewed as a draft."""
    if status not in SECTION_STATUSES:
        raise ValidationError(f"unknown status {status!r}; choose draft or reviewed")
    _hold_draft(db, brief)  # another author may have marked another section since this page read the draft
    if key not in section_keys(brief.markdown or ""):
        raise NotFound(f"this brief has no section {key!r}")
    statuses = dict(brief.section_status or {})
    statuses[key] = status
    brief.section_status = statuses
    db.flush()
    return brief


def reviewed_sections(brief: Brief | None) -> set[str]:
    return {k for k, v in ((brief.section_status or {}) if brief else {}).items() if v == "reviewed"}


def regenerate_bullet(db: DbSession, brief: Brief, bullet_id: str, note_ids: list[int],
                      author_id: int | None = None, *, roundtable) -> Brief:
    """Rewrite one generated bullet from the notes the author chose (sources removed or added).

    The bullet keeps its lead-in and place; its section counts as edited, so a
    rebuild keeps it, and as a draft until reviewed again.
    """
    markdown = brief.markdown or ""
    line_re = re.compile(rf"^(?P<lead>(?:- )?)\[\*\*(?P<name>.+?):\*\*\]\{{#{re.escape(bullet_id)}\}}.*$", re.M)
    found = line_re.search(markdown)
    if found is None:
        raise NotFound(f"this brief has no bullet {bullet_id!r}")
    context = gather_brief_context(db, brief.series_id, brief.template, roundtable=roundtable)
    by_id = {n.id: n for n in context.notes}
    if any(i not in by_id for i in note_ids):
        raise ValidationError("a note you chose is not a note of this series (or was deleted since the page was "
                              "opened); nothing was changed")
    notes = [by_id[i] for i in dict.fromkeys(note_ids)]
    if not notes:
        raise ValidationError("choose at least one note of this series for the bullet")
    lead = found.group("name").replace("\\", "")
    bullet = synthesize_group(bullet_id, lead, notes, context.resource_titles(),
                              prefer_actions=any(n.kind == "action" for n in notes), hidden=context.hidden_words,
                              realizer=context.realizer(), phrases=context.options["phrases"])
    if bullet is None:
        raise ValidationError("none of these notes can be written into the brief (empty, or holding a word "
                              "of the name of someone who declined to be named)")
    line = f"{found.group('lead')}{lead_in_markdown(lead, bullet_id)} {bullet.text}"
    brief.markdown = markdown[: found.start()] + line + markdown[found.end():]
    brief.provenance = {**(brief.provenance or {}), bullet_id: bullet.note_ids}
    key = next(k for k, text in split_sections(brief.markdown).items() if f"{{#{bullet_id}}}" in text)
    brief.edited_sections = sorted(set(brief.edited_sections or ()) | {key})
    brief.section_status = {k: v for k, v in (brief.section_status or {}).items() if k != key}
    save_version(db, brief, label=f"bullet {bullet_id} regenerated from {len(notes)} notes", author_id=author_id)
    return brief


@dataclass
class SourceNote:
    """A note as the author's workbench shows it: where it was said, what kind, by which role."""

    id: int
    session: int
    number: int
    kind: str
    role: str
    text: str

    @property
    def ref(self) -> str:
        return f"{self.session}.{self.number}"


@dataclass
class WorkbenchBullet:
    id: str
    markdown: str
    notes: list[SourceNote]


@dataclass
class WorkbenchSection:
    key: str
    title: str
    status: str
    bullets: list[WorkbenchBullet]
    text: str = ""  # a section without generated bullets: its Markdown under the heading, for the author to read


def source_note_rows(db: DbSession, series_id: int, where) -> list[SourceNote]:
    rows = db.execute(
        select(Note.id, Note.seq, Note.kind, Note.text, Note.speaker_role, Session.number)
        .join(Session, Note.session_id == Session.id)
        .where(Session.series_id == series_id, Note.deleted_at.is_(None), where)
        .order_by(Session.number, Note.seq)
    ).all()
    return [SourceNote(r.id, r.number, r.seq, r.kind or "point", normalize_role(r.speaker_role), r.text) for r in rows]


def workbench(db: DbSession, brief: Brief) -> list[WorkbenchSection]:
    """Every section with its review status, and beside each generated bullet the notes it came from."""
    provenance = brief.provenance or {}
    ids = {int(i) for v in provenance.values() for i in v}
    notes = {n.id: n for n in source_note_rows(db, brief.series_id, Note.id.in_(ids))} if ids else {}
    out = []
    titles = section_titles(brief.markdown or "")
    for key, text in split_sections(brief.markdown or "").items():
        if key not in titles:
            continue
        bullets = [
            WorkbenchBullet(m.group(1), line, [notes[int(i)] for i in provenance.get(m.group(1), []) if int(i) in notes])
            for line in text.splitlines() if (m := BULLET_ID_RE.search(line))
        ]
        out.append(WorkbenchSection(key, titles[key], (brief.section_status or {}).get(key, "draft"), bullets,
                                    "" if bullets else SECTION_HEAD_RE.sub("", text, count=1).strip()))
    return out


def resolve_note_refs(db: DbSession, series_id: int, refs: str) -> list[int]:
    """Note ids from references as the workbench shows them: "2.14" is note 14 of session 2."""
    wanted = re.findall(r"\S+", refs.replace(",", " "))
    pairs = []
    for ref in wanted:
        m = re.fullmatch(r"(\d{1,4})\.(\d{1,6})", ref)
        if not m:
            raise ValidationError(f"{ref!r} is not a note reference such as 2.14 (session 2, note 14)")
        pairs.append((int(m.group(1)), int(m.group(2))))
    found = {(n.session, n.number): n.id for n in source_note_rows(
        db, series_id, Note.seq.in_([p[1] for p in pairs]))} if pairs else {}
    missing = [f"{s}.{n}" for s, n in pairs if (s, n) not in found]
    if missing:
        raise NotFound(f"no note {', '.join(missing)} in this series")
    return [found[p] for p in pairs]


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
    # A number no column holds is not looked up: the database refuses it (a server error).
    wanted = [n for n in (old_number, new_number) if 0 < n <= MAX_DATABASE_ID]
    found = {v.number: v for v in db.scalars(
        select(BriefVersion).where(BriefVersion.brief_id == brief.id, BriefVersion.number.in_(wanted)))}
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
