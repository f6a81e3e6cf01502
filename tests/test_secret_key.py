"""The secret key: never the repository's, one per installation, and rotatable with the roster re-encrypted."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

import pytest
from conftest import make_roundtable
from flask.cli import ScriptInfo
from sqlalchemy import select, text
from test_bundles import write_bundle

from roundtable import create_app
from roundtable.cli import cli, main
from roundtable.db import Database
from roundtable.models import Note, Participant, Series, Session
from roundtable.services.anonymize import Anonymizer, anonymize_draft
from roundtable.services.bundles import import_bundle, read_bundle

REPO = Path(__file__).resolve().parent.parent
# The key that was committed as instance/secret_key until 2026-11-30: public for good.
PUBLISHED_KEY = "44dad71a5ec8c69d56c6d0a51c00beca282c89f07549bd3008c4c6528925c93a"


def test_no_secret_key_is_in_the_repository_and_the_instance_folder_stays_out():
    tracked = subprocess.run(["git", "ls-files", "instance"], cwd=REPO, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", "instance/secret_key"], cwd=REPO)
    assert ignored.returncode == 0


def test_each_installation_generates_its_own_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    one = create_app({"INSTANCE_PATH": str(tmp_path / "a")}).config["SECRET_KEY"]
    two = create_app({"INSTANCE_PATH": str(tmp_path / "b")}).config["SECRET_KEY"]
    assert one != two and PUBLISHED_KEY not in (one, two)


@pytest.mark.parametrize("where", ["instance file", "environment", "config"])
def test_the_app_refuses_to_start_with_a_published_key(tmp_path, monkeypatch, where):
    from roundtable.config import PublicSecretKey

    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path)}
    if where == "instance file":
        (tmp_path / "secret_key").write_text(PUBLISHED_KEY + "\n")
    elif where == "environment":
        monkeypatch.setenv("ROUNDTABLE_SECRET_KEY", PUBLISHED_KEY)
    else:
        config["SECRET_KEY"] = PUBLISHED_KEY
    with pytest.raises(PublicSecretKey, match="rotate-key"):
        create_app(config)


def test_the_command_line_refuses_a_published_key_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("ROUNDTABLE_SECRET_KEY", PUBLISHED_KEY)
    with pytest.raises(SystemExit) as exit_:
        main(["init"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "published" in err and PUBLISHED_KEY not in err


def _roster_database(url: str, key: str) -> None:
    database = Database(url, secret_key=key)
    database.upgrade()
    with database.session() as db:
        series = Series(slug="s", title="S")
        db.add(series)
        db.flush()
        db.add(Participant(series_id=series.id, name="Zeynep Kaya", aliases=["Zey"], affiliation="Harbor Clinic"))
    database.dispose()


def _roster(url: str, key: str) -> list:
    database = Database(url, secret_key=key)
    try:
        with database.session() as db:
            return [(p.name, p.aliases, p.affiliation) for p in db.query(Participant)]
    finally:
        database.dispose()


def test_rotate_key_re_encrypts_the_roster_under_a_new_instance_key(tmp_path, monkeypatch, capsys):
    from roundtable.encryption import RosterKeyError

    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", url)
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text("old-installation-key")
    _roster_database(url, "old-installation-key")
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 0, capsys.readouterr().err
    new_key = (tmp_path / "secret_key").read_text().strip()
    assert new_key != "old-installation-key" and len(new_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rt.sqlite", "secret_key"]
    assert _roster(url, new_key) == [("Zeynep Kaya", ["Zey"], "Harbor Clinic")]
    with pytest.raises(RosterKeyError):
        _roster(url, "old-installation-key")


def test_rotate_key_moves_a_roster_off_the_published_key(tmp_path, monkeypatch, capsys):
    """The one command that runs with the published key: the way out of it."""
    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", url)
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text(PUBLISHED_KEY)
    _roster_database(url, PUBLISHED_KEY)
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 0, capsys.readouterr().err
    new_key = (tmp_path / "secret_key").read_text().strip()
    assert _roster(url, new_key) == [("Zeynep Kaya", ["Zey"], "Harbor Clinic")]
    create_app({"INSTANCE_PATH": str(tmp_path)})  # starts again


def test_rotate_key_with_the_key_in_the_environment_takes_the_new_key_from_a_file(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", url)
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("ROUNDTABLE_SECRET_KEY", "env-key")
    _roster_database(url, "env-key")
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 2 and "--new-key-file" in capsys.readouterr().err
    assert _roster(url, "env-key")[0][0] == "Zeynep Kaya"
    (tmp_path / "new").write_text("a-new-key-from-the-vault\n")
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key", "--new-key-file", str(tmp_path / "new")])
    assert exit_.value.code == 0
    assert _roster(url, "a-new-key-from-the-vault")[0][0] == "Zeynep Kaya"


def test_rotate_key_with_the_wrong_current_key_changes_nothing(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    monkeypatch.setenv("ROUNDTABLE_DATABASE_URL", url)
    monkeypatch.setenv("ROUNDTABLE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("ROUNDTABLE_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("not-the-roster-key")
    _roster_database(url, "the-roster-key")
    before = Database(url, secret_key="any key: the raw column is read").engine.connect().execute(text("SELECT name FROM participants")).scalar()
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 2 and "cannot be decrypted" in capsys.readouterr().err
    assert (tmp_path / "secret_key").read_text() == "not-the-roster-key"
    assert Database(url, secret_key="any key: the raw column is read").engine.connect().execute(text("SELECT name FROM participants")).scalar() == before
    # --old-key-file names the key the roster was written with (e.g. one restored from a backup).
    (tmp_path / "old").write_text("the-roster-key")
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key", "--old-key-file", str(tmp_path / "old")])
    assert exit_.value.code == 0
    assert _roster(url, (tmp_path / "secret_key").read_text().strip())[0][0] == "Zeynep Kaya"


# --- pseudonyms are keyed by the installation's secret -----------------------------------------

SHARED_NAME_ROSTER = "name,aliases,affiliation,role,consent\nAna Silva,,,legal advocate,anonymous\nAna Costa,,,organizer,anonymous\n"


def _import_shared_name_series(tmp_path: Path, secret: str) -> tuple[str, str]:
    """A session title and a note naming 'Ana' (two people on the roster), imported into an installation."""
    folder = write_bundle(
        tmp_path / f"bundle-{secret}",
        **{"series.yaml": "slug: shared\ntitle: Shared names\npolicy: pseudonym\n",
           "roster.csv": SHARED_NAME_ROSTER,
           "sessions.yaml": "- number: 1\n  title: Ana's questions\n",
           "notes.jsonl": '{"session": 1, "text": "Ana agreed with the plan"}\n'},
    )
    roundtable = make_roundtable(SECRET_KEY=secret, DATABASE_URL=f"sqlite:///{tmp_path / (secret + '.sqlite')}")
    roundtable.database.upgrade()
    try:
        with roundtable.database.session() as db:
            import_bundle(db, read_bundle(folder), roundtable=roundtable)
        with roundtable.database.session() as db:
            return db.scalar(select(Session.title)), db.scalar(select(Note.text))
    finally:
        roundtable.database.dispose()


def test_two_installations_with_different_secrets_give_different_pseudonyms(tmp_path):
    """A pseudonym keyed by a constant would be a hash of the name anyone can recompute from a list of names."""
    one = _import_shared_name_series(tmp_path, "first-installation")
    two = _import_shared_name_series(tmp_path, "second-installation")
    for title_or_note in (*one, *two):
        assert "Ana" not in title_or_note and "Person " in title_or_note
    assert one[0] != two[0], "authored text (a session title) used a pseudonym key that is not the installation's"
    assert one[1] != two[1], "a note used a pseudonym key that is not the installation's"


def test_the_anonymize_command_keys_pseudonyms_with_the_installations_secret(tmp_path):
    (tmp_path / "roster.csv").write_text(SHARED_NAME_ROSTER)
    outputs = []
    for secret in ("first-installation", "second-installation"):
        app = create_app({"TESTING": True, "SECRET_KEY": secret, "INSTANCE_PATH": str(tmp_path / secret),
                          "DATABASE_URL": f"sqlite:///{tmp_path / (secret + '.sqlite')}"})
        result = app.test_cli_runner().invoke(
            cli, ["anonymize", "--roster", str(tmp_path / "roster.csv"), "--policy", "pseudonym", "--no-ner"],
            input="Ana agreed\n", obj=ScriptInfo(create_app=lambda app=app: app))
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
        app.extensions["roundtable"].database.dispose()
    assert all(out.startswith("Person ") for out in outputs)
    assert outputs[0] != outputs[1]


def test_nothing_anonymizes_with_a_salt_it_was_not_given():
    """No default: the salt is the installation's (``Roundtable.pseudonym_salt``) or passed by the caller."""
    for function in (Anonymizer, anonymize_draft):
        assert inspect.signature(function).parameters["salt"].default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        Anonymizer(None, "role")
    with pytest.raises(ValueError, match="salt"):
        Anonymizer(None, "role", salt=b"")


def test_a_database_without_the_installations_key_is_refused(tmp_path):
    """No constant fallback key: a roster encrypted with a public value is protected from nobody."""
    url = f"sqlite:///{tmp_path / 'rt.sqlite'}"
    with pytest.raises(TypeError):
        Database(url)  # the key is a required argument
    for empty in ("", None):
        with pytest.raises(ValueError, match="secret key"):
            Database(url, secret_key=empty)
