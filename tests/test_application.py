"""The application object: each app owns its plugins, secret, database and caches."""

from __future__ import annotations

from roundtable import create_app, hookimpl
from roundtable.models import Session
from roundtable.services.anonymize import anonymizer_for_series, registered_detectors
from roundtable.services.notes import NoteStream
from roundtable.services.tagging import available_suggesters
from roundtable_plugins import contact_details, keyword_suggester, roster

from conftest import make_series


class Shout:
    """A third-party suggester only one of the two apps loads."""

    name = "shout"

    def suggest(self, texts, codebook, examples):
        return [[] for _ in texts]


class ShoutPlugin:
    @hookimpl
    def register_suggesters(self, register):
        register(Shout())


def _app(tmp_path, name, secret, plugins):
    app = create_app({"TESTING": True, "SECRET_KEY": secret, "INSTANCE_PATH": str(tmp_path / name),
                      "DATABASE_URL": f"sqlite:///{tmp_path / name}.sqlite"}, plugins=plugins)
    app.extensions["roundtable"].database.upgrade()
    return app


def test_two_apps_in_one_process_share_no_plugins_secrets_databases_or_caches(tmp_path):
    one = _app(tmp_path, "one", "first-secret", [roster, contact_details, keyword_suggester])
    two = _app(tmp_path, "two", "second-secret", [roster, contact_details, keyword_suggester, ShoutPlugin()])
    first, second = one.extensions["roundtable"], two.extensions["roundtable"]
    try:
        assert first.pm is not second.pm and first.database is not second.database
        assert set(available_suggesters(first)) == {"lexical"}
        assert set(available_suggesters(second)) == {"lexical", "shout"}
        assert registered_detectors(first) is not registered_detectors(second)

        stored = []
        for roundtable in (first, second):
            with roundtable.database.session() as db:
                series = make_series(db, policy="pseudonym")
                meeting = db.get(Session, series.sessions[0].id)
                assert anonymizer_for_series(db, series, roundtable) is anonymizer_for_series(db, series, roundtable)
                note, _ = NoteStream(db, roundtable).add_note(meeting.id, "0f8e7c2a-5b1d-4c3e-9a7f-6e5d4c3b2a10",
                                                               "Mari met Kwame and someone called Zora")
                stored.append(note.text)
        # The same note in the same series: each app's secret keys its own pseudonyms.
        assert stored[0] != stored[1]
        assert "Mari" not in stored[0] and "Mari" not in stored[1]
    finally:
        first.database.dispose()
        second.database.dispose()
