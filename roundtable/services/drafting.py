"""Machine-drafted prose for a brief, from a language model the group chose (opt-in, per series).

The deterministic synthesis (``services/briefs``) writes every bullet first.
When an admin names a model for a series (``Series.draft_model``), this
service asks that model, through Simon Willison's ``llm`` library, to redraft
each bullet from the same source notes (a bold lead-in and two or three
sentences), and then the Executive Summary, Key Findings and Strategic
Implications from the bullets. Rules that never bend:

- the model sees only anonymized note text that has passed the export gate,
  and what it writes must pass the gate again;
- a drafted text must be *grounded* (``services/grounding``): otherwise the
  deterministic text stays and the bullet is flagged for the author;
- a bullet's provenance (its note ids) never changes;
- drafts are cached by (sources, model, prompt version), so a rebuild applies
  them without calling the model again;
- a missing, broken or slow model degrades to the deterministic draft with a
  message, never a failed build.

Generation (:func:`draft_series`) runs off the request path, reports progress
and can be cancelled; applying cached drafts
(:func:`roundtable.services.briefs.model_prose.apply_drafts`) is part of every
build and needs no model.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session as DbSession

from roundtable.errors import RoundtableError, ValidationError
from roundtable.jobs import Job
from roundtable.models import ProseDraft
from roundtable.services import gguf_model
from roundtable.services.anonymize import roster_and_kept_terms
from roundtable.services.briefs.context import _resolve_series, gather_brief_context
from roundtable.services.briefs.drafts import rebuild_brief
from roundtable.services.briefs.model_prose import (
    DRAFTED_SECTIONS,
    GROUNDED,
    apply_bullet_drafts,
    bullet_input,
    cached,
    digest,
    gate_problems,
    load_prompt,
    section_prompt,
    section_sources,
    theme_bullets,
)
from roundtable.services.grounding import Sources, check_grounding

MAX_BULLET_TOKENS = 160
MAX_SECTION_TOKENS = 220
CALL_TIMEOUT_S = 90.0


class DraftingUnavailable(RoundtableError):
    """The model cannot be used (not installed, unknown, failed to load): the deterministic draft stands."""


# --------------------------------------------------------------------------- models


@dataclass
class ModelChoice:
    """A model named by an admin, and where the text sent to it goes."""

    name: str
    model: object  # an ``llm.Model``
    destination: str
    local: bool


def resolve_model(name: str) -> ModelChoice:
    """An ``llm`` model id (``llm models`` lists them) or the path of a local ``.gguf`` file."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("name a model: an llm model id or the path of a .gguf file")
    try:
        import llm  # lazy: an optional extra, whose absence is a message here
    except ImportError:
        raise DraftingUnavailable("drafting needs the llm extra: pip install 'roundtable[llm]'") from None
    if name.lower().endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise DraftingUnavailable(f"no GGUF file at {path}")
        return ModelChoice(name, gguf_model.local_gguf(path), f"a local GGUF file on this server ({path.name}); "
                           "nothing leaves the server", True)
    try:
        model = llm.get_model(name)
    except llm.UnknownModelError:
        raise DraftingUnavailable(f"the llm library knows no model {name!r} (see `llm models`)") from None
    module = type(model).__module__
    if module.startswith(("llm_gguf", "roundtable_plugins")):
        return ModelChoice(name, model, "a local GGUF model on this server; nothing leaves the server", True)
    if module.startswith("llm_ollama"):
        host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434")
        local = host.split("//")[-1].split(":")[0] in ("127.0.0.1", "localhost", "::1", "[::1]")
        where = "this server" if local else "another machine"
        return ModelChoice(name, model, f"the Ollama server at {host}, on {where}", local)
    provider = module.split(".")[-1].replace("_models", "").replace("llm_", "") or module
    return ModelChoice(name, model, f"a hosted API ({provider}): note text leaves this server for the "
                       "provider's machines", False)


@dataclass
class Generation:
    text: str
    tokens: int
    seconds: float
    timed_out: bool = False


_generate_lock = threading.Lock()  # one model call at a time per process: local models use every core


def generate(choice: ModelChoice, prompt: str, max_tokens: int, cancel: threading.Event | None = None,
             timeout_s: float = CALL_TIMEOUT_S) -> Generation:
    """Stream a completion, stopping at ``max_tokens`` chunks, on cancel or after ``timeout_s``."""
    options = {}
    option_names = set(getattr(getattr(choice.model, "Options", None), "model_fields", {}) or {})
    if "max_tokens" in option_names:
        options["max_tokens"] = max_tokens
    if "temperature" in option_names:
        options["temperature"] = 0
    with _generate_lock:
        start = time.monotonic()
        chunks: list[str] = []
        timed_out = False
        try:
            # Always streamed: llm-gguf 0.2's non-streaming path stops in a debugger.
            for chunk in choice.model.prompt(prompt, stream=True, **options):
                chunks.append(chunk)
                if len(chunks) >= max_tokens or (cancel is not None and cancel.is_set()):
                    break
                if time.monotonic() - start > timeout_s:
                    timed_out = True
                    break
        except RoundtableError:
            raise
        except Exception as exc:  # a model plugin's own error (connection refused, bad file...)
            raise DraftingUnavailable(f"the model failed: {exc.__class__.__name__}: {str(exc)[:200]}") from None
        return Generation("".join(chunks), len(chunks), time.monotonic() - start, timed_out)


# --------------------------------------------------------------------------- parsing


def parse_bullet(output: str) -> tuple[str, str] | None:
    """``(lead-in, prose)`` from "<lead-in>\\nProse: <sentences>", or None if it is not that shape."""
    text = re.split(r"<end_of_turn>|<\|im_end\|>|\n\s*(?:Notes|Lead-in)\s*:", output)[0].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    lead = re.sub(r"^(?:Lead-in\s*:\s*)", "", lines[0], flags=re.I).strip(" *:#\"'")
    prose = " ".join(lines[1:])
    prose = re.sub(r"^(?:Prose\s*:\s*)", "", prose, flags=re.I).strip()
    words = lead.split()
    if not 1 <= len(words) <= 7 or len(prose) < 20:
        return None
    return lead, first_sentences(prose, 3)


def parse_section(output: str, key: str) -> str | None:
    text = re.split(r"<end_of_turn>|<\|im_end\|>|\n\s*Points from the report\s*:", output)[0].strip()
    if key == "key-findings":
        lines = [ln.strip()[2:].strip() for ln in text.splitlines() if ln.strip().startswith(("- ", "* "))]
        lines = [first_sentences(ln, 1) for ln in lines if len(ln) >= 20][:5]
        return "\n".join(f"- {ln}" for ln in lines) if len(lines) >= 2 else None
    paragraph = first_sentences(" ".join(text.split()), 4)
    return paragraph if len(paragraph) >= 40 else None


def first_sentences(text: str, limit: int) -> str:
    """Up to ``limit`` complete sentences; a trailing fragment is dropped."""
    sentences = re.findall(r"[^.!?]+[.!?]+(?:[\"”’)]+)?", text)
    kept = " ".join(s.strip() for s in sentences[:limit])
    return kept.strip()


# --------------------------------------------------------------------------- generation (off the request path)


@dataclass(kw_only=True)
class DraftJob(Job):
    """Progress of one drafting run (a :class:`roundtable.jobs.Job` that can also end ``unavailable``);
    ``cancel()`` stops it after the current token."""

    kind: str = "draft"
    series_id: int
    template: str = "report"
    model: str = ""
    generated: int = 0
    reused: int = 0
    grounded: int = 0
    flagged: int = 0
    tokens: int = 0
    model_seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.model_seconds if self.model_seconds else 0.0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("state", "done", "total", "step", "message", "generated", "reused",
                                               "grounded", "flagged", "tokens", "model", "template")} | {
            "tokens_per_second": round(self.tokens_per_second, 1),
            "seconds": round((self.finished or time.monotonic()) - self.started, 1)}


def draft_series(roundtable, series, template: str = "report", model_name: str | None = None,
                 job: DraftJob | None = None, progress: Callable[[DraftJob], None] | None = None,
                 timeout_s: float = CALL_TIMEOUT_S) -> DraftJob:
    """Draft every bullet, then the summary sections, then rebuild the stored draft with them
    (in the database and with the brief sections of the application ``roundtable``).

    Never raises for a model problem: the job ends ``unavailable`` with a
    message and the deterministic draft stands.
    """
    database = roundtable.database
    notify = progress or (lambda job: None)
    with database.session() as db:
        s = _resolve_series(db, series)
        job = job or DraftJob(series_id=s.id, template=template)
        job.model = model_name or s.draft_model or ""
        if not job.model:
            raise ValidationError(f"series {s.slug!r} has no drafting model: an admin names one first")
        context = gather_brief_context(db, s, template, roundtable=roundtable)
        roster, _ = roster_and_kept_terms(db, s)
    bullets = theme_bullets(context)
    job.total = len(bullets) + len(DRAFTED_SECTIONS)
    job.state, job.step = "running", "loading the model"
    notify(job)
    try:
        choice = resolve_model(job.model)
    except DraftingUnavailable as exc:
        return _finish(job, "unavailable", f"{exc}; the deterministic draft stands", notify)

    notes_by_id = {n.id: n for n in context.notes}
    bullet_prompt = load_prompt("bullet")
    try:
        s_id = job.series_id
        for bullet in bullets:
            if job.cancelled:
                return _finish(job, "cancelled", _cancel_message(job), notify)
            job.step = f"bullet {bullet.id}"
            lines = bullet_input(bullet, notes_by_id)
            with database.session() as db:
                _draft_one(db, job, choice, s_id, "bullet", digest(*lines), bullet_prompt.version,
                           lambda: bullet_prompt.format(notes="\n".join(lines)), "\n".join(lines),
                           roster, MAX_BULLET_TOKENS, timeout_s)
            job.done += 1
            notify(job)
        # Sections are drafted from the bullets as the report will show them.
        with database.session() as db:
            apply_bullet_drafts(db, context, job.model, roster)
        section_prompt_version = load_prompt("section").version
        titles = {"executive-summary": "Executive Summary", "key-findings": "Key Findings",
                  "strategic-implications": "Strategic Implications"}
        for key, title in titles.items():
            if job.cancelled:
                return _finish(job, "cancelled", _cancel_message(job), notify)
            job.step = f"section {key}"
            prompt = section_prompt(context, key, title)
            with database.session() as db:
                _draft_one(db, job, choice, s_id, key, digest(prompt), section_prompt_version, lambda: prompt,
                           section_sources(context), roster, MAX_SECTION_TOKENS, timeout_s)
            job.done += 1
            notify(job)
    except DraftingUnavailable as exc:
        return _finish(job, "unavailable", f"{exc}; the deterministic draft stands", notify)

    job.step = "rebuilding the draft"
    notify(job)
    with database.session() as db:
        rebuild_brief(db, job.series_id, template, roundtable=roundtable)
    message = (f"{job.grounded} of {job.done} texts drafted by the model and used; {job.flagged} kept the "
               "deterministic text (flagged)")
    return _finish(job, "done", message, notify)


def _cancel_message(job: DraftJob) -> str:
    return (f"cancelled after {job.done} of {job.total}; the stored draft is unchanged and the texts drafted "
            "so far are cached for the next run")


def _finish(job: DraftJob, state: str, message: str, notify) -> DraftJob:
    job.finish(state, message)
    notify(job)
    return job


def _draft_one(db, job, choice, series_id, kind, key, version, make_prompt, source_text, roster,
               max_tokens, timeout_s) -> ProseDraft:
    """Reuse the cached draft for these sources, or gate, prompt, parse, gate, check and store one."""
    row = cached(db, series_id, kind, key, job.model, version)
    if row is not None:
        job.reused += 1
        _count(job, row)
        return row
    row = ProseDraft(series_id=series_id, kind=kind, sources_hash=key, model=job.model, prompt_version=version,
                     lead_in="", text="", problems=[], tokens=0, seconds=0.0)
    blocked = gate_problems(source_text, roster)
    if blocked:  # the model never sees text the export gate refuses
        row.status, row.problems = "blocked", ["its notes did not pass the export gate"] + blocked
    else:
        out = generate(choice, make_prompt(), max_tokens, job.cancel_event, timeout_s)
        job.tokens += out.tokens
        job.model_seconds += out.seconds
        job.generated += 1
        row.tokens, row.seconds = out.tokens, out.seconds
        if job.cancelled:
            return row  # an interrupted text is neither used nor cached
        _judge(row, kind, out, Sources(source_text), roster)
        if row.status == "slow":  # a busy machine is no verdict on the text: try again next run
            _count(job, row)
            return row
    db.add(row)
    db.flush()
    _count(job, row)
    return row


def _judge(row: ProseDraft, kind: str, out: Generation, sources: Sources, roster) -> None:
    if out.timed_out:
        row.status, row.problems = "slow", [f"the model took longer than {out.seconds:.0f} s"]
        return
    if kind == "bullet":
        parsed = parse_bullet(out.text)
        lead, text = parsed if parsed else ("", "")
    else:
        lead, text = "", parse_section(out.text, kind) or ""
    row.lead_in, row.text = lead, text
    if not text:
        row.status, row.problems = "unparsed", ["the model's answer was not in the asked shape: "
                                                + " ".join(out.text.split())[:200]]
        return
    problems = gate_problems(f"{lead}\n{text}", roster)
    problems += [f"lead-in {p}" for p in check_grounding(lead, sources, title=True).problems] if lead else []
    problems += check_grounding(text, sources).problems
    if problems:
        row.status, row.problems = ("blocked" if any(p.startswith("export gate") for p in problems)
                                    else "ungrounded"), problems
    else:
        row.status = GROUNDED


def _count(job: DraftJob, row: ProseDraft) -> None:
    if row.status == GROUNDED:
        job.grounded += 1
    else:
        job.flagged += 1


@dataclass
class BulletStatus:
    bullet_id: str
    theme: str
    lead_in: str  # the deterministic one
    text: str
    status: str  # "not drafted", "grounded", or why the deterministic text stayed
    drafted_lead_in: str = ""
    drafted_text: str = ""
    problems: list[str] = field(default_factory=list)


def bullet_statuses(db: DbSession, series, template: str = "report", *, roundtable) -> list[BulletStatus]:
    """Each bullet beside its cached draft for the series' model: what an author checks."""
    s = _resolve_series(db, series)
    context = gather_brief_context(db, s, template, roundtable=roundtable)
    notes_by_id = {n.id: n for n in context.notes}
    version = load_prompt("bullet").version
    out = []
    for theme in context.themes:
        for bullet in context.synthesis(theme).bullets:
            row = cached(db, s.id, "bullet", digest(*bullet_input(bullet, notes_by_id)), s.draft_model or "",
                         version)
            out.append(BulletStatus(bullet.id, theme.name, bullet.lead_in, bullet.text,
                                    row.status if row else "not drafted", row.lead_in if row else "",
                                    row.text if row else "", list(row.problems or []) if row else []))
    return out


def flagged_bullets(db: DbSession, series, template: str = "report", *, roundtable) -> dict[str, BulletStatus]:
    """Bullets whose machine draft was not used, for the author's workbench (empty when drafting is off)."""
    s = _resolve_series(db, series)
    if not s.draft_model:
        return {}
    return {b.bullet_id: b for b in bullet_statuses(db, s, template, roundtable=roundtable) if b.status not in (GROUNDED, "not drafted")}


def llm_installed() -> bool:
    return find_spec("llm") is not None


# --------------------------------------------------------------------------- runs started from the web page


def current_job(roundtable, series_id: int) -> DraftJob | None:
    """The last drafting run of the series in this process (running or ended), if any."""
    return roundtable.jobs.latest(("draft", series_id))


def start_job(roundtable, series_id: int, template: str = "report",
              progress: Callable[[DraftJob], None] | None = None) -> DraftJob:
    """Run :func:`draft_series` off the request path (:mod:`roundtable.jobs`); one run per series at a time."""
    return roundtable.jobs.start(
        DraftJob(series_id=series_id, template=template),
        lambda job: draft_series(roundtable, series_id, template, job=job, progress=progress),
        key=("draft", series_id), busy="a drafting run is already going for this series",
        failure="drafting failed; the deterministic draft stands (see the server log)",
    )
