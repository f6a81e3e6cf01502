"""The codebook pages, as a viewer and an author use them."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import xmlschema
from sqlalchemy import select

from roundtable.models import Note, NoteTag, Role, Session, TagStatus, Theme
from roundtable.services.codebook import codebook_for_series, load_codebook

SCHEMA = Path(__file__).parent / "data" / "refi-qda" / "Codebook.xsd"


def _theme(db, series, name):
    return db.scalar(select(Theme).where(Theme.series_id == series.id, Theme.name == name))


def _note(db, series, text, number=1):
    session = db.scalar(select(Session).where(Session.series_id == series.id, Session.number == number))
    session.last_seq += 1
    note = Note(session_id=session.id, seq=session.last_seq, uuid=str(uuid.uuid4()), text=text)
    db.add(note)
    db.flush()
    return note


def test_a_viewer_reads_the_codebook_and_downloads_it_but_cannot_change_it(client, login, series):
    login(Role.VIEWER)
    page = client.get(f"/s/{series.slug}/codebook/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Federal enforcement" in html and "Funding threats" in html
    assert "Add a theme" not in html
    qdc = client.get(f"/s/{series.slug}/codebook/codebook.qdc")
    xmlschema.XMLSchema(str(SCHEMA)).validate(qdc.get_data(as_text=True))
    yaml_text = client.get(f"/s/{series.slug}/codebook/codebook.yaml").get_data(as_text=True)
    assert load_codebook(yaml_text).find("Invest in legal aid").section == "Strategic Directions"
    assert client.post(f"/s/{series.slug}/codebook/themes", data={"name": "X"}).status_code == 403


def test_outsiders_do_not_learn_that_the_codebook_exists(client, login, series):
    login("outsider")
    assert client.get(f"/s/{series.slug}/codebook/").status_code == 404


def test_a_facilitator_adds_renames_retires_and_restores_a_theme(client, login, db, series):
    login(Role.FACILITATOR)
    base = f"/s/{series.slug}/codebook"
    response = client.post(f"{base}/themes", data={"name": "Housing", "description": "Rent and eviction.",
                                                   "keywords": "rent, eviction", "color": "#336699"})
    assert response.status_code == 302
    housing = _theme(db, series, "Housing")
    assert housing.keywords == ["rent", "eviction"]
    client.post(f"{base}/themes/{housing.id}", data={"name": "Housing and rent", "description": "Rent.",
                                                     "keywords": "", "color": ""})
    client.post(f"{base}/themes/{housing.id}/retire")
    db.expire_all()
    assert "Housing and rent" not in codebook_for_series(db, series).names("top")
    client.post(f"{base}/themes/{housing.id}/retire", data={"restore": "1"})
    db.expire_all()
    assert "Housing and rent" in codebook_for_series(db, series).names("top")


def test_a_bad_theme_is_refused_with_a_clear_message(client, login, series):
    login(Role.FACILITATOR)
    response = client.post(f"/s/{series.slug}/codebook/themes", data={"name": "Legal defense"}, follow_redirects=True)
    assert "already exists" in response.get_data(as_text=True)


def test_a_facilitator_merges_and_splits_themes_without_losing_tags(client, login, db, series):
    legal, aid = _theme(db, series, "Legal defense"), _theme(db, series, "Invest in legal aid")
    a, b = _note(db, series, "pro bono lawyers"), _note(db, series, "fund public defenders")
    db.add_all([NoteTag(note_id=a.id, theme_id=aid.id), NoteTag(note_id=b.id, theme_id=aid.id)])
    db.commit()
    login(Role.FACILITATOR)
    base = f"/s/{series.slug}/codebook"
    client.post(f"{base}/themes/{aid.id}/merge", data={"target_id": legal.id})
    db.expire_all()
    assert {t.note_id for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == legal.id))} == {a.id, b.id}
    form = client.get(f"{base}/themes/{legal.id}/split").get_data(as_text=True)
    assert "fund public defenders" in form
    client.post(f"{base}/themes/{legal.id}/split", data={"name": "Public defenders", "note_id": [str(b.id)]})
    db.expire_all()
    defenders = _theme(db, series, "Public defenders")
    assert {t.note_id for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == defenders.id))} == {b.id}


def test_importing_a_codebook_file_replaces_themes_and_a_bad_file_changes_nothing(client, login, db, series):
    login(Role.FACILITATOR)
    base = f"/s/{series.slug}/codebook"
    bad = client.post(f"{base}/import", data={"file": (io.BytesIO(b"themes:\n  - name: A\n    color: red\n"), "c.yaml")},
                      follow_redirects=True)
    assert "themes[0] (&#39;A&#39;) &#39;color&#39;" in bad.get_data(as_text=True)
    db.expire_all()
    assert "Federal enforcement" in codebook_for_series(db, series).names("top")
    good = b"themes:\n  - name: Housing\n  - name: Legal defense\n"
    client.post(f"{base}/import", data={"file": (io.BytesIO(good), "c.yaml")})
    db.expire_all()
    assert codebook_for_series(db, series).names("top") == ["Housing", "Legal defense"]


def test_an_author_accepts_and_rejects_suggestions(client, login, db, series):
    legal, enforcement = _theme(db, series, "Legal defense"), _theme(db, series, "Federal enforcement")
    note = _note(db, series, "lawyers at the courthouse")
    keep = NoteTag(note_id=note.id, theme_id=legal.id, status=TagStatus.SUGGESTED, source="lexical", confidence=0.7)
    drop = NoteTag(note_id=note.id, theme_id=enforcement.id, status=TagStatus.SUGGESTED, source="lexical", confidence=0.2)
    db.add_all([keep, drop])
    db.commit()
    login(Role.AUTHOR)
    page = client.get(f"/s/{series.slug}/codebook/").get_data(as_text=True)
    assert "Suggestions to review (2)" in page and "lawyers at the courthouse" in page
    client.post(f"/s/{series.slug}/suggestions/{keep.id}/accept")
    client.post(f"/s/{series.slug}/suggestions/{drop.id}/reject")
    db.expire_all()
    assert (db.get(NoteTag, keep.id).status, db.get(NoteTag, drop.id).status) == (TagStatus.ACCEPTED, TagStatus.REJECTED)
    # Gone since the page was shown (replaced by the worker or removed): said on the page, not a 404.
    gone = client.post(f"/s/{series.slug}/suggestions/999999/accept", follow_redirects=True)
    assert gone.status_code == 200
    assert "This suggestion was replaced by newer suggestions or removed; refresh the note." in gone.get_data(as_text=True)


def test_authors_see_emergent_themes_and_adopt_one_in_one_click(client, login, db, series):
    # The bike notes are the weakest-fitting 35 % of the series (emergent.POOR_FIT_QUANTILE), beside notes that fit.
    fitting = ["lawyers for residents facing due process hearings", "federal agencies pressure cities",
               "grants withheld by federal agencies", "fund legal aid representation for residents",
               "lawyers ask for due process", "federal enforcement pressure on the city",
               "legal aid lawyers represent residents"]
    for i, text in enumerate(["bike lanes blocked by vans", "protected bike lanes cut injuries",
                              "safe bike lanes to school", "painted bike lanes not enough"] + fitting):
        _note(db, series, text, 1 + i % 3)
    db.commit()
    login(Role.VIEWER)
    assert client.get(f"/s/{series.slug}/codebook/emergent").status_code == 403
    login(Role.AUTHOR)
    page = client.get(f"/s/{series.slug}/codebook/emergent").get_data(as_text=True)
    assert "Bike lanes" in page and "Adopt into the codebook" in page
    ids = [n.id for n in db.scalars(select(Note).where(Note.text.contains("bike")))]
    client.post(f"/s/{series.slug}/emergent/adopt",
                data={"name": "Bike lanes", "description": "Cycling safety.", "keywords": "bike, lanes",
                      "note_ids": ",".join(map(str, ids))})
    db.expire_all()
    theme = _theme(db, series, "Bike lanes")
    assert {t.note_id for t in db.scalars(select(NoteTag).where(NoteTag.theme_id == theme.id))} == set(ids)


def test_the_heatmap_page_and_its_svg_download(client, login, db, series):
    legal = _theme(db, series, "Legal defense")
    note = _note(db, series, "lawyers needed", 2)
    db.add(NoteTag(note_id=note.id, theme_id=legal.id, status=TagStatus.ACCEPTED))
    db.commit()
    login(Role.VIEWER)
    page = client.get(f"/s/{series.slug}/codebook/heatmap")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="img"' in html and 'href="#cell-1-1"' in html and 'id="cell-1-1"' in html
    download = client.get(f"/s/{series.slug}/codebook/heatmap.svg")
    assert download.mimetype == "image/svg+xml"
    assert "attachment" in download.headers["Content-Disposition"]
    assert "lawyers needed" in download.get_data(as_text=True)


def test_a_theme_id_no_database_can_hold_is_a_message_on_the_page_not_a_server_error(client, login, db, series):
    """A tampered form with a 20-digit theme id was an OverflowError (500) on SQLite."""
    login(Role.FACILITATOR)
    source = _theme(db, series, "Legal defense")
    huge = str(10**20)
    for url, form in [(f"/s/{series.slug}/codebook/themes/{source.id}/merge", {"target_id": huge}),
                      (f"/s/{series.slug}/emergent/adopt", {"name": "Bike lanes", "parent_id": huge}),
                      (f"/s/{series.slug}/codebook/themes", {"name": "Bike lanes", "parent_id": huge})]:
        page = client.post(url, data=form, follow_redirects=True)
        assert page.status_code == 200, url
        assert f"Theme {huge} not found in this series." in page.get_data(as_text=True), url
    db.expire_all()
    assert _theme(db, series, "Bike lanes") is None and _theme(db, series, "Legal defense") is not None


def test_moving_a_theme_in_a_direction_that_is_not_up_or_down_says_so_and_moves_nothing(client, login, db, series):
    login(Role.FACILITATOR)
    theme = _theme(db, series, "Federal enforcement")
    before = [t.name for t in codebook_for_series(db, series.id).themes]
    page = client.post(f"/s/{series.slug}/codebook/themes/{theme.id}/move", data={"direction": "sideways"},
                       follow_redirects=True).get_data(as_text=True)
    assert "The direction must be up or down" in page
    db.expire_all()
    assert [t.name for t in codebook_for_series(db, series.id).themes] == before
