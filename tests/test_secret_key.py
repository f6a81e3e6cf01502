"""The secret key: never the repository's, one per installation, and rotatable with the roster re-encrypted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from roundtable import create_app
from roundtable.cli import main
from roundtable.db import Database
from roundtable.models import Participant, Series

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
    before = Database(url).engine.connect().execute(text("SELECT name FROM participants")).scalar()
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key"])
    assert exit_.value.code == 2 and "cannot be decrypted" in capsys.readouterr().err
    assert (tmp_path / "secret_key").read_text() == "not-the-roster-key"
    assert Database(url).engine.connect().execute(text("SELECT name FROM participants")).scalar() == before
    # --old-key-file names the key the roster was written with (e.g. one restored from a backup).
    (tmp_path / "old").write_text("the-roster-key")
    with pytest.raises(SystemExit) as exit_:
        main(["rotate-key", "--old-key-file", str(tmp_path / "old")])
    assert exit_.value.code == 0
    assert _roster(url, (tmp_path / "secret_key").read_text().strip())[0][0] == "Zeynep Kaya"
