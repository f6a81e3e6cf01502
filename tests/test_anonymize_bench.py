"""The evaluation's scoring and data are what docs/anonymization.md says they are."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("anonymize_eval", ROOT / "bench" / "anonymize_eval.py")
anonymize_eval = importlib.util.module_from_spec(spec)
spec.loader.exec_module(anonymize_eval)


def test_a_mention_counts_as_found_only_when_all_of_it_is_covered():
    record = {"text": "Maria Núñez said", "spans": [{"start": 0, "end": 11, "kind": "roster"}]}
    assert anonymize_eval.score([record], [[(0, 5, "roster")]])["per_kind"]["roster"]["recall"] == 0.0
    assert anonymize_eval.score([record], [[(0, 5, "roster"), (6, 11, "person")]])["per_kind"]["roster"]["recall"] == 1.0


def test_a_title_may_stay_but_the_name_after_it_must_go():
    record = {"text": "Dr. Okafor said", "spans": [{"start": 0, "end": 10, "kind": "person"}]}
    assert anonymize_eval.score([record], [[(4, 10, "person")]])["per_kind"]["person"]["recall"] == 1.0
    assert anonymize_eval.score([record], [[(0, 3, "person")]])["per_kind"]["person"]["recall"] == 0.0


def test_a_prediction_is_correct_when_it_overlaps_a_mention():
    record = {"text": "Maria said hope", "spans": [{"start": 0, "end": 5, "kind": "roster"}]}
    result = anonymize_eval.score([record], [[(0, 5, "roster"), (11, 15, "roster")]])
    assert result["per_kind"]["roster"]["precision"] == 0.5


def test_a_word_to_keep_counts_as_kept_only_when_no_letter_of_it_is_replaced():
    record = {"text": "Ana visited Utrecht", "spans": [{"start": 0, "end": 3, "kind": "person"},
                                                     {"start": 12, "end": 19, "kind": "keep"}]}
    assert anonymize_eval.score([record], [[(0, 3, "person")]])["kept"] == 1.0
    result = anonymize_eval.score([record], [[(0, 3, "person"), (12, 15, "person")]])
    assert result["kept"] == 0.0 and result["per_kind"]["person"]["recall"] == 1.0


def test_the_labelled_sets_are_large_and_varied_enough():
    records = anonymize_eval.load(anonymize_eval.NOTES)
    kinds = Counter(s["kind"] for r in records for s in r["spans"])
    assert sum(kinds.values()) >= 300
    assert {"roster", "person", "email", "phone"} <= set(kinds)
    assert sum(1 for r in records if not r["spans"]) >= 50
    for record in records:
        for span in record["spans"]:
            surface = record["text"][span["start"] : span["end"]]
            assert surface == surface.strip() and surface, json.dumps(record)


def test_the_main_set_meets_the_targets_without_ner():
    result = anonymize_eval.evaluate_roundtable(
        anonymize_eval.load(anonymize_eval.NOTES), anonymize_eval.NOTES_ROSTER, ner=False, seconds=0.2
    )
    for kind in ("roster", "email", "phone"):
        assert result["per_kind"][kind]["recall"] == 1.0, kind
    assert result["precision"] >= 0.95
    assert result["notes_per_s"] >= 1000
    assert result["live_latency"]["p95_ms"] <= 10


def test_a_documents_records_are_scored_as_one_session_with_its_memory_of_names():
    # GUM records are slices of a document: the scorer reads them in order through one name memory, as the
    # notes of one session; a record without a document is read alone
    from test_anonymize_ner import require_ner

    require_ner()
    full = "Ines Varga opened the meeting with the rent figures."
    lone = "The council thanked Varga for the figures."
    varga = {"start": lone.index("Varga"), "end": lone.index("Varga") + 5, "kind": "person"}
    records = [{"text": full, "spans": [], "document": "d"}, {"text": lone, "spans": [varga], "document": "d"}]
    together = anonymize_eval.evaluate_roundtable(records, None, ner=True, seconds=0)
    alone = anonymize_eval.evaluate_roundtable([{k: v for k, v in r.items() if k != "document"} for r in records],
                                               None, ner=True, seconds=0)
    assert together["per_kind"]["person"]["recall"] == 1.0
    assert alone["per_kind"]["person"]["recall"] == 0.0
