"""The anonymizer a series uses: built from its roster and kept terms in the database, cached."""

from __future__ import annotations

import json

from roundtable.models import KeptTerm, Participant, Policy
from roundtable.services.anonymize import anonymizer_for_series, detector_statuses, forget_kept_term, keep_term


def test_series_anonymizer_uses_the_roster_and_policy_in_the_database(db, series, roundtable):
    result = anonymizer_for_series(db, series, roundtable).anonymize("Mari said Kwame agreed", session_key="1")
    assert result.text == "A legal advocate said a scholar agreed"
    series.policy = Policy.PSEUDONYM
    db.commit()
    pseudonymized = anonymizer_for_series(db, series.id, roundtable).anonymize("Mari said Kwame agreed", session_key="1").text
    assert pseudonymized.startswith("Participant ") and "Kwame" not in pseudonymized


def test_series_anonymizer_is_built_once_and_rebuilt_when_the_roster_changes(db, series, roundtable):
    first = anonymizer_for_series(db, series, roundtable)
    assert anonymizer_for_series(db, series, roundtable) is first
    db.add(Participant(series_id=series.id, name="Lindiwe Dube", role_label="nurse"))
    db.commit()
    second = anonymizer_for_series(db, series, roundtable)
    assert second is not first
    assert second.anonymize("Lindiwe said so").text == "A nurse said so"


def test_a_kept_term_recorded_for_the_series_is_no_longer_replaced(db, series, roundtable):
    text = "the Dr. Pepper report"
    assert "Pepper" not in anonymizer_for_series(db, series, roundtable).anonymize(text).text
    db.add(KeptTerm(series_id=series.id, term="Dr. Pepper"))
    db.commit()
    assert anonymizer_for_series(db, series, roundtable).anonymize(text).text == text


def test_the_alias_hope_is_a_name_only_where_it_reads_as_one(db, series, roundtable):
    anonymizer = anonymizer_for_series(db, series, roundtable)
    assert anonymizer.anonymize("we hope the mayor listens").text == "we hope the mayor listens"
    assert anonymizer.anonymize("Hope said the mayor listens").text == "A municipal leader said the mayor listens"


def test_every_built_in_detector_reports_its_status(roundtable):
    statuses = detector_statuses(roundtable)
    assert {"roster", "contact_details", "ner"} <= set(statuses)
    assert statuses["roster"] is None and statuses["contact_details"] is None


def test_plugins_command_says_whether_unknown_name_detection_is_off(runner, monkeypatch, roundtable):
    import roundtable_plugins.ner as ner

    monkeypatch.setattr(ner, "available", lambda: False)
    rows = {row["name"]: row for row in json.loads(runner.invoke(["plugins", "--json"]).output)}
    assert rows["ner"]["status"] == "unknown-name detection is off: install roundtable[ner]"
    assert rows["roster"]["status"] is None


def test_keeping_a_term_through_the_service_takes_effect_and_can_be_undone(db, series, roundtable):
    text = "Hope said the Dr. Pepper report is out"
    assert "Pepper" not in anonymizer_for_series(db, series, roundtable).anonymize(text).text
    keep_term(db, series, "  Dr.   Pepper ")
    keep_term(db, series, "Dr. Pepper")
    db.commit()
    assert anonymizer_for_series(db, series, roundtable).anonymize(text).text == "A municipal leader said the Dr. Pepper report is out"
    assert forget_kept_term(db, series, "Dr. Pepper") is True
    db.commit()
    assert "Pepper" not in anonymizer_for_series(db, series, roundtable).anonymize(text).text
    assert forget_kept_term(db, series, "Dr. Pepper") is False
