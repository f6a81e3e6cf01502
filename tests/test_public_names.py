"""Authors keep public references (a head of state, cited authors) unreplaced in their series, on purpose."""

from __future__ import annotations

from sqlalchemy import select

from roundtable.models import KeptTerm, Role
from roundtable.services.anonymize import anonymizer_for_series


def test_an_author_keeps_a_public_name_and_notes_in_the_series_keep_it(client, login, db, series, roundtable):
    login(Role.AUTHOR)
    page = client.get(f"/s/{series.slug}/public-names")
    assert page.status_code == 200 and "Public names" in page.get_data(as_text=True)
    response = client.post(f"/s/{series.slug}/public-names", data={"term": "Obama"})
    assert response.status_code == 302
    assert db.scalars(select(KeptTerm.term).where(KeptTerm.series_id == series.id)).all() == ["Obama"]
    assert "Obama" in client.get(f"/s/{series.slug}/public-names").get_data(as_text=True)
    db.expire_all()
    text = anonymizer_for_series(db, series, roundtable).anonymize("rents rose under the Obama administration").text
    assert "Obama" in text


def test_an_author_removes_a_public_name(client, login, db, series):
    login(Role.AUTHOR)
    client.post(f"/s/{series.slug}/public-names", data={"term": "Obama"})
    assert client.post(f"/s/{series.slug}/public-names/remove", data={"term": "Obama"}).status_code == 302
    assert db.scalars(select(KeptTerm.term).where(KeptTerm.series_id == series.id)).all() == []


def test_an_empty_public_name_is_refused_with_a_message(client, login, series):
    login(Role.AUTHOR)
    response = client.post(f"/s/{series.slug}/public-names", data={"term": "  "})
    assert response.status_code == 400
    assert "empty" in response.get_data(as_text=True)


def test_a_note_taker_cannot_change_public_names(client, login, db, series):
    login(Role.NOTE_TAKER)
    assert client.post(f"/s/{series.slug}/public-names", data={"term": "Obama"}).status_code == 403
    assert db.scalars(select(KeptTerm).where(KeptTerm.series_id == series.id)).all() == []
