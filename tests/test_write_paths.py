"""Every path that writes typed or imported text passes the anonymizer.

Codebook files (YAML and REFI-QDA: theme names, descriptions, keywords,
sections), the theme form's keywords and section, and a series bundle (series
title and description, session titles and focus, themes) arrive with roster
names in plain and disguised forms; none is stored.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from roundtable.models import Role, Series, Session, Theme
from roundtable.services import codebook as cb
from roundtable.services.bundles import import_bundle, read_bundle
from roundtable.services.anonymize.normalize import matching_text

DEMO = Path(__file__).resolve().parent.parent / "roundtable" / "demo" / "sanctuary-2026"
# Non-consenting people of conftest.make_series, plain and disguised.
LEAKS = ["Hope van der Berg", "Kwame Mensah-Boateng", "Kw&#97;me", "Mensah\u200b-Boateng", "**Kwa**me", "ＫＷＡＭＥ"]
FORBIDDEN = ("kwame", "mensah", "van der berg", "hope van")


def _leaks(*texts) -> list[str]:
    readable = matching_text(" ".join(str(t) for t in texts)).text.lower()
    return [name for name in FORBIDDEN if name in readable]


def _themes(db, series) -> list[Theme]:
    db.expire_all()
    return list(db.scalars(select(Theme).where(Theme.series_id == series.id)))


def _stored(theme: Theme) -> tuple:
    return theme.name, theme.description, " ".join(theme.keywords or []), theme.section


YAML_CODEBOOK = "themes:\n" + "\n".join(
    f"- name: Plan {i} of {leak}\n  description: Raised by {leak}\n  keywords: [{leak.replace('*', '')}, housing]\n"
    f"  section: Views of {leak}" for i, leak in enumerate(LEAKS)
) + "\n"


def test_a_yaml_codebook_import_stores_no_roster_name(client, login, db, series):
    login(Role.FACILITATOR)

    response = client.post(f"/s/{series.slug}/codebook/import",
                           data={"file": (io.BytesIO(YAML_CODEBOOK.encode()), "codebook.yaml")})

    assert response.status_code == 302
    imported = [t for t in _themes(db, series) if not t.retired]
    assert len(imported) == len(LEAKS)
    assert _leaks(*(field for t in imported for field in _stored(t))) == []


def test_a_refi_qda_codebook_import_stores_no_roster_name(db, series, roundtable):
    qdc = cb.codebook_to_qdc(cb.load_codebook(YAML_CODEBOOK.replace("section: ", "section: x")))

    saved = cb.save_codebook(db, series, cb.codebook_from_qdc(qdc), roundtable=roundtable)

    assert len(saved) == len(LEAKS)
    assert _leaks(*(field for t in _themes(db, series) for field in _stored(t))) == []


def test_the_theme_form_anonymizes_keywords_and_section(client, login, db, series):
    login(Role.FACILITATOR)

    client.post(f"/s/{series.slug}/codebook/themes", data={
        "name": "Outreach", "description": "d", "keywords": "Kwame, Hope van der Berg, outreach",
        "section": "Kwame Mensah-Boateng's ideas"})
    theme = next(t for t in _themes(db, series) if t.name == "Outreach")
    client.post(f"/s/{series.slug}/codebook/themes/{theme.id}", data={
        "name": "Outreach", "description": "d", "keywords": "K&#119;ame, outreach", "section": "With **Kwa**me"})

    theme = next(t for t in _themes(db, series) if t.name == "Outreach")
    assert _leaks(*_stored(theme)) == []
    assert "outreach" in theme.keywords


def test_a_series_bundle_import_stores_no_roster_name(db, tmp_path, roundtable):
    bundle_dir = tmp_path / "bundle"
    shutil.copytree(DEMO, bundle_dir)
    rows = [line.split(",") for line in (bundle_dir / "roster.csv").read_text().splitlines()[1:] if line.strip()]
    name = next(row[0].strip() for row in rows if row[-1].strip() == "anonymous")
    disguised = name.replace("a", "&#97;", 1) if "a" in name else name.upper()
    meta = yaml.safe_load((bundle_dir / "series.yaml").read_text())
    meta.update(title=f"Meeting with {name}", description=f"Convened by {disguised}")
    (bundle_dir / "series.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
    sessions = yaml.safe_load((bundle_dir / "sessions.yaml").read_text())
    sessions[0].update(title=f"{disguised} opens", focus=f"What {name} asked")
    (bundle_dir / "sessions.yaml").write_text(yaml.safe_dump(sessions, allow_unicode=True))
    codebook = yaml.safe_load((bundle_dir / "codebook.yaml").read_text())
    themes = codebook["themes"] if isinstance(codebook, dict) else codebook
    themes[0]["description"] = f"Raised by {name}"
    themes[0]["keywords"] = [name, "housing"]
    (bundle_dir / "codebook.yaml").write_text(yaml.safe_dump(codebook, allow_unicode=True))

    series = import_bundle(db, read_bundle(bundle_dir), roundtable=roundtable)
    db.flush()

    stored = [series.title, series.description]
    stored += [f"{s.title} {s.focus}" for s in db.scalars(select(Session).where(Session.series_id == series.id))]
    stored += [" ".join(map(str, _stored(t))) for t in _themes(db, series)]
    readable = matching_text(" ".join(stored)).text.lower()
    for part in matching_text(name).text.lower().replace("-", " ").split():
        if len(part) > 3:
            assert part not in readable, f"a part of a roster name is stored"
    assert db.scalar(select(Series.id).where(Series.id == series.id)) is not None
