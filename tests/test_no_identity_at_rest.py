"""The promise of an unrecorded session, checked on the bytes: no roster name is stored, logged or exported.

Roster names, plain and disguised (look-alike letters, invisible characters,
markup and entities inside the word), go into every field a user can type
into, through a real server (notes, edits, session titles, themes, codebook
import, brief drafts) and every import command (notes, series bundle); then
the raw SQLite files, every log line and the brief's rendered HTML and PDF
downloads are searched for them, in their plain and their readable (matching)
form.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid

import io
import shutil
from pathlib import Path

import requests
import yaml
from pypdf import PdfReader

from roundtable.live_clients import PASSWORD, SECRET_KEY, NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until
from roundtable.db import Database
from roundtable.models import Role, Series
from roundtable.services.accounts import create_account, grant_role
from roundtable.services.anonymize.normalize import matching_text

# The non-consenting and consenting people of conftest.make_series, in the forms note-takers type.
MENTIONS = [
    "María Núñez", "Maria Nunez", "Núñez's", "Mari",
    "Hope van der Berg", "van der Berg", "Hope",
    "Kwame Mensah-Boateng", "Mensah-Boateng", "Kwame",
    # The same people disguised: decomposed accents, invisible characters, look-alike letters, markup, entities.
    "Kwa\u200bme", "Mensah\u00ad-Boateng", "ＫＷＡＭＥ", "Кwame", "**Kwa**me", "Kw&#97;me", "Kw&amp;#97;me",
    "va\u0301n der Berg", "Hope van der B<b>e</b>rg", "Kwame\u2060 Mensah",
]
PLUGINS = "roster,contact_details,keyword_suggester,live_suggestions,report_sections,exporters"
# María Núñez agreed to be named: her name may stand in a brief's credits, nowhere else.
FORBIDDEN = ["van der Berg", "Mensah", "Kwame", "hope.vdb@city.example", "415 555 0199"]
CREDITED = ["Núñez", "Nunez", "María", "Maria"]


def _sentence(i: int) -> str:
    return (f"{MENTIONS[i % len(MENTIONS)]} said the county ({MENTIONS[(i + 3) % len(MENTIONS)]} agreed) "
            f"shares data; write to hope.vdb@city.example or call +1 415 555 0199")


def _csrf(http: requests.Session, url: str) -> str:
    # The brief editor builds the draft when first opened: allow for a busy machine.
    return re.search(r'name="csrf-token" content="([^"]+)"', http.get(url, timeout=120).text).group(1)


def _readable(data: bytes) -> str:
    """Bytes as a reader would read them: decoded, then in matching form (disguises undone), lower case."""
    return matching_text(data.decode("utf-8", "replace")).text.lower()


def _bundle_with_names(tmp_path) -> Path:
    """The demo bundle with this test's roster and names in the series, session and codebook fields."""
    bundle = tmp_path / "bundle"
    shutil.copytree(Path(__file__).resolve().parent.parent / "roundtable" / "demo" / "sanctuary-2026", bundle)
    (bundle / "roster.csv").write_text(
        "name,aliases,affiliation,role,consent\nKwame Mensah-Boateng,,,scholar,anonymous\n"
        "Hope van der Berg,Hope,,municipal leader,anonymous\n")
    meta = yaml.safe_load((bundle / "series.yaml").read_text())
    meta.update(slug="bundle-with-names", title="With Kwame Mensah-Boateng", description="Hope van der Berg convened")
    (bundle / "series.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
    sessions = yaml.safe_load((bundle / "sessions.yaml").read_text())
    sessions[0].update(title="Kw&#97;me opens", focus="What van der Berg asked")
    (bundle / "sessions.yaml").write_text(yaml.safe_dump(sessions, allow_unicode=True))
    (bundle / "notes.jsonl").write_text('{"session": 1, "text": "Kwame said so"}\n')
    (bundle / "codebook.yaml").write_text("themes:\n- name: Ideas of Mensah-Boateng\n  keywords: [Kwame]\n"
                                          "  section: Views of Hope van der Berg\n")
    return bundle


def _logged_in(base: str, email: str) -> requests.Session:
    http = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(base + "/auth/login", timeout=10).text).group(1)
    response = http.post(base + "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, timeout=10)
    assert response.ok
    return http


def test_no_roster_name_reaches_the_database_file_or_the_logs(tmp_path):
    db_file = tmp_path / "rt.sqlite"
    url = f"sqlite:///{db_file}"
    world = prepare_database(url, note_takers=1, viewers=0)
    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        series = db.query(Series).one()
        for role in (Role.FACILITATOR, Role.AUTHOR):
            grant_role(db, create_account(db, f"{role.value}@rest.example", f"Rest {role.value}", PASSWORD), series, role)
    database.dispose()

    server = ServerProcess(url, free_port(), tmp_path / "server", plugins=PLUGINS).start()
    try:
        base, slug = server.url, world["slug"]
        writer = NoteClient(base, login_cookie(base, world["note-takers"][0]), world["session_id"]).connect()
        try:
            wait_until(writer.joined.is_set, message="joined the session")
            kinds = ["point", "quote", "question", "action"]
            ids = [writer.send_note(_sentence(i), kind=kinds[i % 4]) for i in (0, 1, 2, 3, 10, 13, 16, 19)]
            wait_until(lambda: all(writer.notes.get(i) for i in ids), message="notes acknowledged")
            first = writer.notes[ids[0]]
            reply = writer.sio.call("note:edit", {"session_id": world["session_id"], "note_id": first["id"],
                                                  "version": first["version"], "text": _sentence(7)}, timeout=15)
            assert reply["ok"], reply
            refused = writer.sio.call("note:add", {"session_id": world["session_id"], "uuid": str(uuid.uuid4()),
                                                   "text": "x", "speaker_role": "Hope van der Berg"}, timeout=15)
            assert refused.get("ok") is not True and "Hope" not in refused["error"]
            assert all("Núñez" not in note["text"] and "Hope" not in note["text"] for note in writer.notes.values())
        finally:
            writer.disconnect()

        facilitator = _logged_in(base, "facilitator@rest.example")
        token = _csrf(facilitator, f"{base}/s/{slug}/")
        facilitator.post(f"{base}/s/{slug}/sessions", data={"csrf_token": token, "number": "9", "date": "2026-09-01",
                                                            "title": "With Kwame Mensah-Boateng", "focus": _sentence(1)})
        facilitator.post(f"{base}/s/{slug}/codebook/themes", data={"csrf_token": token, "name": "Hope van der Berg's plan",
                                                                   "description": _sentence(2), "keywords": "Kwame, Kw&#97;me",
                                                                   "section": "Views of **Kwa**me"})
        codebook = "themes:\n- name: Plan of ＫＷＡＭＥ\n  description: By Mensah\u00ad-Boateng\n  keywords: [Kwa\u200bme]\n"
        imported_codebook = facilitator.post(f"{base}/s/{slug}/codebook/import", data={"csrf_token": token},
                                             files={"file": ("codebook.yaml", io.BytesIO(codebook.encode()))})
        assert imported_codebook.ok
        author = _logged_in(base, "author@rest.example")
        token = _csrf(author, f"{base}/s/{slug}/brief/report/")
        saved = author.post(f"{base}/s/{slug}/brief/report/save",
                            data={"csrf_token": token, "markdown": "# Draft\n\n" + _sentence(4) + "\n\n" + _sentence(12)})
        assert saved.ok, " ".join(re.sub(r"<[^>]+>", " ", saved.text).split())[-400:]
        html = author.post(f"{base}/s/{slug}/brief/report/export/html", data={"csrf_token": token})
        pdf = author.post(f"{base}/s/{slug}/brief/report/export/pdf", data={"csrf_token": token})
        assert html.ok and pdf.ok and pdf.content.startswith(b"%PDF")
        exported = html.content + "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).encode()
    finally:
        server.stop()

    notes_file = tmp_path / "imported.txt"
    notes_file.write_text("\n".join(_sentence(i) for i in range(len(MENTIONS))) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    env.update(ROUNDTABLE_DATABASE_URL=url, ROUNDTABLE_SECRET_KEY=SECRET_KEY, ROUNDTABLE_LOAD_PLUGINS=PLUGINS,
               ROUNDTABLE_INSTANCE_PATH=str(tmp_path / "cli"))
    imported = subprocess.run([sys.executable, "-c", "from roundtable.cli import main; main()", "notes", "import", slug, "1",
                               str(notes_file)], env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    bundle = subprocess.run([sys.executable, "-c", "from roundtable.cli import main; main()", "series", "import",
                             str(_bundle_with_names(tmp_path))], env=env, capture_output=True, text=True)
    assert bundle.returncode == 0, bundle.stderr

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("rt.sqlite*"))
    logs = b"".join(p.read_bytes() for p in (tmp_path / "server").glob("*.log")) + imported.stdout.encode() + imported.stderr.encode()
    logs += bundle.stdout.encode() + bundle.stderr.encode()
    assert b"a municipal leader" in stored.lower() or b"a legal advocate" in stored.lower()  # the notes are there
    with sqlite3.connect(db_file) as conn:
        typed = conn.execute("SELECT text FROM notes UNION ALL SELECT name || description FROM themes "
                             "UNION ALL SELECT title || focus FROM sessions").fetchall()
    assert len(typed) > 10
    assert not [row for row in typed for name in CREDITED if name in row[0]]
    readable = {"database file": _readable(stored), "logs": _readable(logs), "HTML and PDF exports": _readable(exported)}
    for name in FORBIDDEN:
        for form in {name, name.lower()}:
            assert form.encode() not in stored, f"{form!r} is in the database file"
            assert form.encode() not in logs, f"{form!r} is in the logs"
            assert form.encode() not in exported, f"{form!r} is in an export"
        for where, text in readable.items():
            assert matching_text(name).text.lower() not in text, f"{name!r} can be read in the {where}"
