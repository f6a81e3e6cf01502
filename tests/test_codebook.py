"""The codebook: its YAML and REFI-QDA formats, and edits that never lose a tag."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import xmlschema
from sqlalchemy import select

from roundtable.errors import NotFound, ValidationError
from roundtable.models import Note, NoteTag, Session, TagStatus, Theme
from roundtable.services.codebook import (
    PALETTE,
    Codebook,
    codebook_for_series,
    codebook_from_qdc,
    codebook_to_qdc,
    create_theme,
    dump_codebook,
    load_codebook,
    load_codebook_file,
    merge_themes,
    rename_theme,
    reorder_themes,
    series_themes,
    theme_colors,
    retire_theme,
    save_codebook,
    split_theme,
)

SCHEMA = Path(__file__).parent / "data" / "refi-qda" / "Codebook.xsd"

CODEBOOK_YAML = """
themes:
  - name: Federal enforcement
    description: Pressure from federal agencies on cities.
    keywords: [ICE, detainers]
    color: "#1f77b4"
    children:
      - name: Funding threats
        description: Grants withheld or conditioned.
      - name: Courthouse arrests
  - name: Invest in legal aid
    description: Fund representation for residents.
    section: Strategic Directions
"""


def test_yaml_codebook_reads_two_levels_sections_and_defaults():
    codebook = load_codebook(CODEBOOK_YAML)
    assert codebook.names("top") == ["Federal enforcement", "Invest in legal aid"]
    assert codebook.names("sub") == ["Funding threats", "Courthouse arrests", "Invest in legal aid"]
    enforcement = codebook.find("federal ENFORCEMENT")
    assert enforcement.keywords == ["ICE", "detainers"]
    assert enforcement.section == "Key Themes"
    assert codebook.find("Invest in legal aid").section == "Strategic Directions"
    assert codebook.top_level_of("Courthouse arrests") == "Federal enforcement"


def test_yaml_dump_reads_back_the_same_codebook():
    codebook = load_codebook(CODEBOOK_YAML)
    assert load_codebook(dump_codebook(codebook)) == codebook


@pytest.mark.parametrize(
    "text, message",
    [
        ("- just a list", "expected a mapping with a 'themes:' list"),
        ("themes: []", "non-empty list"),
        ("themes:\n  - description: no name", "themes[0] has no 'name'"),
        ("themes:\n  - name: A\n    color: blue", "themes[0] ('A') 'color' must look like"),
        ("themes:\n  - name: A\n    keywords: {a: 1}", "themes[0] ('A') 'keywords' must be a list"),
        ("themes:\n  - name: A\n    colour: '#fff'", "themes[0] ('A') has unknown key(s) colour"),
        ("themes:\n  - name: A\n  - name: a", "'a' is used twice"),
        (
            "themes:\n  - name: A\n    children:\n      - name: B\n        children: [C]",
            "themes[0].children[0] ('B') is a sub-theme and cannot have children",
        ),
        ("themes:\n  - name: A\n    children:\n      - name: B\n        section: X", "only top-level themes"),
        ("themes: [unclosed", "not valid YAML at line"),
    ],
)
def test_malformed_codebook_is_one_clear_error_naming_the_item(text, message):
    with pytest.raises(ValidationError) as info:
        load_codebook(text)
    assert message in str(info.value)


def test_qdc_export_is_valid_against_the_refi_qda_codebook_schema():
    schema = xmlschema.XMLSchema(str(SCHEMA))
    document = codebook_to_qdc(load_codebook(CODEBOOK_YAML))
    schema.validate(document)
    assert 'xmlns="urn:QDA-XML:codebook:1.0"' in document
    assert 'color="#1F77B4"' in document


def test_qdc_round_trip_keeps_names_descriptions_keywords_sections_and_guids():
    original = load_codebook(CODEBOOK_YAML)
    document = codebook_to_qdc(original)
    back = codebook_from_qdc(document)
    assert back.names("sub") == original.names("sub")
    assert back.find("Federal enforcement").keywords == ["ICE", "detainers"]
    assert back.find("Invest in legal aid").section == "Strategic Directions"
    assert back.find("Funding threats").description == "Grants withheld or conditioned."
    # The same codebook exports the same file (stable GUIDs), so re-imports do not duplicate codes.
    assert codebook_to_qdc(back) == document


def test_qdc_from_another_tool_with_three_levels_folds_the_third_into_keywords(tmp_path):
    path = tmp_path / "from-nvivo.qdc"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo"><Codes>'
        '<Code guid="{11111111-2222-3333-4444-555555555555}" name="Housing" isCodable="true">'
        '<Code guid="21111111-2222-3333-4444-555555555555" name="Rent" isCodable="true">'
        '<Code guid="31111111-2222-3333-4444-555555555555" name="Eviction" isCodable="true"/>'
        "</Code></Code></Codes></CodeBook>"
    )
    codebook = load_codebook_file(path)
    assert codebook.names("sub") == ["Rent"]
    assert codebook.find("Rent").keywords == ["Eviction"]
    xmlschema.XMLSchema(str(SCHEMA)).validate(codebook_to_qdc(codebook))


def test_a_file_that_is_not_a_codebook_is_a_clear_error(tmp_path):
    path = tmp_path / "x.qdc"
    path.write_text("<Project xmlns='urn:QDA-XML:project:1.0'/>")
    with pytest.raises(ValidationError, match="root element must be CodeBook"):
        load_codebook_file(path)
    with pytest.raises(ValidationError, match="cannot read"):
        load_codebook_file(tmp_path / "missing.yaml")


# --- in the database -------------------------------------------------------------------------


def _note(db, series, text, number=1):
    session = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == number))
    session.last_seq += 1
    note = Note(session_id=session.id, seq=session.last_seq, uuid=str(uuid.uuid4()), text=text)
    db.add(note)
    db.flush()
    return note


def _tag(db, note, theme, status=TagStatus.ACCEPTED, source="manual"):
    tag = NoteTag(note_id=note.id, theme_id=theme.id, status=status, source=source)
    db.add(tag)
    db.flush()
    return tag


def _theme(db, series, name):
    return db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.name == name))


def test_saving_a_codebook_updates_by_name_adds_new_and_retires_missing_themes(db, series, roundtable):
    legal = _theme(db, series, "Legal defense")
    note = _note(db, series, "lawyers at the courthouse")
    _tag(db, note, legal)
    save_codebook(db, series, load_codebook(CODEBOOK_YAML), roundtable=roundtable)
    db.commit()
    codebook = codebook_for_series(db, series)
    assert codebook.names("sub") == ["Funding threats", "Courthouse arrests", "Invest in legal aid"]
    assert codebook.find("Federal enforcement").keywords == ["ICE", "detainers"]
    # "Legal defense" is not in the file: retired, with its tag kept for the history.
    assert _theme(db, series, "Legal defense").retired
    assert db.scalar(select(NoteTag).where(NoteTag.theme_id == legal.id)) is not None
    assert "Legal defense" in codebook_for_series(db, series, include_retired=True).names("top")


def test_renaming_a_theme_keeps_its_tags(db, series, roundtable):
    legal = _theme(db, series, "Legal defense")
    tag = _tag(db, _note(db, series, "pro bono lawyers"), legal)
    rename_theme(db, series, legal.id, "  Legal   representation ", roundtable=roundtable)
    db.commit()
    assert db.get(NoteTag, tag.id).theme.name == "Legal representation"
    with pytest.raises(ValidationError, match="already exists"):
        rename_theme(db, series, legal.id, "federal enforcement", roundtable=roundtable)


def test_merging_moves_tags_and_sub_themes_and_keeps_the_stronger_of_two_tags(db, series):
    enforcement = _theme(db, series, "Federal enforcement")
    legal = _theme(db, series, "Legal defense")
    both = _note(db, series, "ICE at the courthouse, lawyers turned away")
    only_source = _note(db, series, "detainer requests doubled")
    _tag(db, both, enforcement, status=TagStatus.ACCEPTED)
    _tag(db, both, legal, status=TagStatus.SUGGESTED, source="lexical")
    _tag(db, only_source, enforcement, status=TagStatus.SUGGESTED, source="lexical")
    merge_themes(db, series, enforcement.id, legal.id)
    db.commit()
    assert db.get(Theme, enforcement.id) is None
    tags = {(t.note_id, t.status) for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == legal.id))}
    assert tags == {(both.id, TagStatus.ACCEPTED), (only_source.id, TagStatus.SUGGESTED)}
    assert [c.name for c in codebook_for_series(db, series).find("Legal defense").children] == ["Funding threats"]


def test_splitting_moves_only_the_assigned_notes_to_the_new_theme(db, series, roundtable):
    legal = _theme(db, series, "Legal defense")
    kept = _note(db, series, "due process for everyone")
    moved = _note(db, series, "fund public defenders")
    _tag(db, kept, legal)
    _tag(db, moved, legal)
    [aid] = split_theme(db, series, legal.id, ["Legal aid funding"], assignments={moved.id: "legal aid funding"}, roundtable=roundtable)
    db.commit()
    assert {t.note_id for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == aid.id))} == {moved.id}
    assert {t.note_id for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == legal.id))} == {kept.id}
    with pytest.raises(ValidationError, match="not one of the new themes"):
        split_theme(db, series, legal.id, ["Another"], assignments={kept.id: "Elsewhere"}, roundtable=roundtable)


def test_reordering_and_retiring_change_the_codebook_but_not_the_tags(db, series):
    legal = _theme(db, series, "Legal defense")
    aid = _theme(db, series, "Invest in legal aid")
    tag = _tag(db, _note(db, series, "fund lawyers"), aid)
    reorder_themes(db, series, [aid.id, legal.id])
    assert codebook_for_series(db, series).names("top") == [
        "Invest in legal aid", "Legal defense", "Federal enforcement",
    ]
    retire_theme(db, series, aid.id)
    db.commit()
    assert "Invest in legal aid" not in codebook_for_series(db, series).names("top")
    assert db.get(NoteTag, tag.id) is not None
    retire_theme(db, series, aid.id, retired=False)
    assert "Invest in legal aid" in codebook_for_series(db, series).names("top")


def test_creating_themes_checks_names_levels_and_the_series(db, series, roundtable):
    enforcement = _theme(db, series, "Federal enforcement")
    sub = create_theme(db, series, "Raids", "Workplace raids.", parent_id=enforcement.id, roundtable=roundtable)
    assert sub.section == enforcement.section
    with pytest.raises(ValidationError, match="two levels"):
        create_theme(db, series, "Deeper", parent_id=sub.id, roundtable=roundtable)
    with pytest.raises(ValidationError, match="needs a name"):
        create_theme(db, series, "   ", roundtable=roundtable)
    with pytest.raises(NotFound):
        rename_theme(db, series, 10_000, "x", roundtable=roundtable)


def test_codebook_dataclass_flattens_sub_themes_into_their_parent_for_top_level_suggestions():
    codebook = load_codebook(CODEBOOK_YAML)
    flat = codebook.flatten("top")
    assert isinstance(flat, Codebook)
    enforcement = flat.find("Federal enforcement")
    assert "Funding threats" in enforcement.keywords and "Grants withheld" in enforcement.description
    assert flat.flatten("top").names("top") == codebook.names("top")
    assert codebook.flatten("sub").find("Courthouse arrests").keywords == ["Federal enforcement"]


def test_every_theme_has_one_colour_its_own_else_its_parents_else_the_palettes_by_place(db, series):
    """One rule, used by the codebook and the live page alike."""
    themes = series_themes(db, series)
    tops = [t for t in themes if t.parent_id is None]
    tops[0].color, tops[1].color = "#123456", ""
    children = [t for t in themes if t.parent_id == tops[0].id]
    for child in children:
        child.color = ""
    colors = theme_colors(themes)
    assert colors[tops[0].id] == "#123456" and {colors[c.id] for c in children} == {"#123456"}
    assert colors[tops[1].id] == PALETTE[1]
