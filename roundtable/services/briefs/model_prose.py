"""Prose a language model drafted, as every build applies it: the prompts, the drafts cache, grounded drafts put
in place (no model is needed here; ``services/drafting`` runs the model, off the request path)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import ExportBlocked, ValidationError
from roundtable.models import Brief, ProseDraft, Series
from roundtable.services.anonymize import export_gate, roster_and_kept_terms
from roundtable.services.briefs.markdown import escape_md, note_markdown, split_sections
from roundtable.services.grounding import normalize

GROUNDED = "grounded"
DRAFTED_SECTIONS = {
    "executive-summary": "Write one paragraph of three or four sentences that tells a busy reader what the "
    "group found.",
    "key-findings": "Write three to five findings, one per line, each line starting with \"- \" and holding "
    "one sentence.",
    "strategic-implications": "Write one paragraph of two or three sentences on what the findings mean for "
    "the people who will act on them.",
}


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str  # "bullet.v1@3f2a9c1d": file name and a digest, so an edited file never reuses a cache
    template: str

    def format(self, **values) -> str:
        return self.template.format(**values)


@lru_cache(maxsize=None)
def load_prompt(name: str) -> Prompt:
    """The newest ``roundtable/prompts/NAME.vN.txt``."""
    folder = files("roundtable") / "prompts"
    found = sorted((p for p in folder.iterdir() if re.fullmatch(rf"{name}\.v(\d+)\.txt", p.name)),
                   key=lambda p: int(p.name.split(".v")[1].split(".")[0]))
    if not found:
        raise ValidationError(f"no prompt named {name!r}")
    # No trailing newline: the prompt ends on "Lead-in:" so that the model's next words are the lead-in.
    text = found[-1].read_text(encoding="utf-8").rstrip()
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Prompt(name, f"{found[-1].name.removesuffix('.txt')}@{digest}", text)


def model_label(name: str) -> str:
    """How a report names the model: a GGUF file by its file name, never the server's path to it."""
    return Path(name).name if name.lower().endswith(".gguf") else name


# --------------------------------------------------------------------------- what a bullet's prompt holds


def note_line(note) -> str:
    role = note.speaker_role or "a participant"
    return f"- (session {note.session_number}, {role}) {' '.join(note.text.split())}"


def bullet_input(bullet, notes_by_id) -> list[str]:
    return [note_line(notes_by_id[i]) for i in bullet.note_ids if i in notes_by_id]


def digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def theme_bullets(context) -> list:
    """The generated theme bullets, in the order the report shows them."""
    out = []
    for theme in context.themes:
        out.extend(context.synthesis(theme).bullets)
    return out


def section_points(context) -> list[str]:
    """The bullets a section is drafted from: "Lead-in: text" per bullet, as they stand."""
    points = []
    for bullet in theme_bullets(context):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", bullet.text).replace("\\", "")
        points.append(f"- {bullet.lead_in.rstrip(':')}: {normalize(plain)}")
    return points


def section_sources(context) -> str:
    """What a section may draw on: the series' title and its bullets, never the prompt's own instructions."""
    return "\n".join([context.title, *section_points(context)])


def section_prompt(context, key: str, title: str) -> str:
    return load_prompt("section").format(
        title=title, series=context.title, sessions=len(context.sessions),
        instruction=DRAFTED_SECTIONS[key], points="\n".join(section_points(context)))


# --------------------------------------------------------------------------- the cache


def cached(db: DbSession, series_id: int, kind: str, key: str, model: str, version: str) -> ProseDraft | None:
    return db.scalar(select(ProseDraft).where(
        ProseDraft.series_id == series_id, ProseDraft.kind == kind, ProseDraft.sources_hash == key,
        ProseDraft.model == model, ProseDraft.prompt_version == version))


def gate_problems(text: str, roster) -> list[str]:
    try:
        export_gate(text, roster)
    except ExportBlocked as exc:
        return [f"export gate: {finding}" for finding in exc.findings] or ["export gate refused it"]
    return []


# --------------------------------------------------------------------------- applying cached drafts to a build


@dataclass
class AppliedDrafts:
    """What a build took from the cache: drafted texts used, and bullets flagged for the author."""

    model: str
    sections: dict[str, str] = field(default_factory=dict)
    drafted_bullets: list[str] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # bullet id or section key -> problems

    def revise(self, markdown: str, reviewed: list[str] | tuple = ()) -> str:
        """Put drafted sections in place and say in the methods appendix what was machine-drafted."""
        parts = split_sections(markdown)
        for key, body in self.sections.items():
            if key in parts:
                head = re.match(r"\{#[^\n]*\n## [^\n]*\n", parts[key]).group(0)
                parts[key] = f"{head}\n::: draft\n{body.strip()}\n:::\n\n"
        if "methods" in parts and (self.sections or self.drafted_bullets):
            parts["methods"] = parts["methods"].rstrip("\n") + "\n\n" + self.methods_note(reviewed) + "\n"
        return "".join(t if t.endswith("\n") else t + "\n" for t in parts.values())

    def methods_note(self, reviewed) -> str:
        drafted = [t for k, t in (("executive-summary", "Executive Summary"), ("key-findings", "Key Findings"),
                                  ("strategic-implications", "Strategic Implications")) if k in self.sections]
        parts = [f"{len(self.drafted_bullets)} theme bullets"] if self.drafted_bullets else []
        if drafted:
            parts.append("the " + ", ".join(drafted))
        what = " and ".join(parts)
        checked = ", ".join(reviewed) if reviewed else "none yet"
        return (f"**Machine-drafted prose.** The language model {escape_md(model_label(self.model))} drafted {what} from the "
                "anonymized notes only; every drafted sentence was checked against its source notes, and text "
                "that named anything the notes did not was replaced by the deterministic synthesis. Sections "
                f"an author has reviewed since: {escape_md(checked)}.")


def apply_bullet_drafts(db: DbSession, context, model: str, roster, applied: AppliedDrafts | None = None
                        ) -> AppliedDrafts:
    """Swap each bullet's lead-in and text for its grounded cached draft (note ids untouched)."""
    applied = applied or AppliedDrafts(model)
    version = load_prompt("bullet").version
    notes_by_id = {n.id: n for n in context.notes}
    titles = context.resource_titles()
    for bullet in theme_bullets(context):
        row = cached(db, context.series_id, "bullet", digest(*bullet_input(bullet, notes_by_id)), model, version)
        if row is None:
            continue
        problems = list(row.problems or []) if row.status != GROUNDED else gate_problems(
            f"{row.lead_in}\n{row.text}", roster)  # the roster may have changed since it was drafted
        if problems:
            applied.flagged[bullet.id] = problems
            continue
        bullet.synthesized = bullet.synthesized or bullet.text
        bullet.lead_in, bullet.text = row.lead_in, note_markdown(row.text, titles)
        applied.drafted_bullets.append(bullet.id)
    return applied


def apply_drafts(db: DbSession, context) -> AppliedDrafts | None:
    """For a series with drafting on: drafted bullets in the context now, drafted sections via ``revise``."""
    series = db.get(Series, context.series_id)
    if series is None or not series.draft_model:
        return None
    roster, _ = roster_and_kept_terms(db, series)
    applied = apply_bullet_drafts(db, context, series.draft_model, roster)
    version = load_prompt("section").version
    for key, title in (("executive-summary", "Executive Summary"), ("key-findings", "Key Findings"),
                       ("strategic-implications", "Strategic Implications")):
        row = cached(db, context.series_id, key, digest(section_prompt(context, key, title)),
                     series.draft_model, version)
        if row is None:
            continue
        problems = list(row.problems or []) if row.status != GROUNDED else gate_problems(row.text, roster)
        if problems:
            applied.flagged[key] = problems
        else:
                applied.sections[key] = "\n".join(
                ("- " + escape_md(ln[2:])) if ln.startswith("- ") else escape_md(ln) for ln in row.text.splitlines())
    return applied


def reviewed_sections(db: DbSession, series_id: int, template: str) -> list[str]:
    """Titles of the sections an author marked reviewed in the workbench, for the methods appendix."""
    brief = db.scalar(select(Brief).where(Brief.series_id == series_id, Brief.template == template))
    titles = {"executive-summary": "Executive Summary", "key-findings": "Key Findings",
              "strategic-implications": "Strategic Implications", "key-themes": "Key Themes",
              "strategic-directions": "Strategic Directions"}
    status = (brief.section_status or {}) if brief else {}
    return [title for key, title in titles.items() if status.get(key) == "reviewed"]
