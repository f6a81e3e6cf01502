"""The warm-candidates study (bench/tagging_warm_candidates.py) measures what it says: its ``current`` row is
the semantic suggester itself, and it never runs the held-out set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from roundtable import Example
from roundtable_plugins import embedding_suggester

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("tagging_warm_candidates", ROOT / "bench" / "tagging_warm_candidates.py")
candidates = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclass looks itself up there
path = list(sys.path)
try:
    spec.loader.exec_module(candidates)
finally:
    sys.path[:] = path  # the script puts bench/ and the repository first, for itself only


def test_the_study_refuses_the_held_out_set(capsys):
    with pytest.raises(SystemExit) as stopped:
        candidates.main(["--sets", "dev,heldout"])
    assert stopped.value.code == 2
    assert "only the tune sets" in capsys.readouterr().err


def test_the_current_candidate_ranks_as_the_semantic_suggester_does():
    reason = embedding_suggester.model_status()
    if reason:
        pytest.skip(reason)
    rows = candidates.bench.load_set("dev")["product"]
    codebook = candidates.bench.load_codebook_file(candidates.bench.DATA / "codebooks" / "product.yaml")
    examples = [Example(r["text"], r["theme"], r["session"]) for r in rows if r["session"] in (1, 2)]
    texts = [r["text"] for r in rows if r["session"] not in (1, 2)]
    suggester = embedding_suggester.SemanticSuggester()
    candidate = candidates.Candidate(candidates.CANDIDATES["current"], suggester.encoder)
    theirs = suggester.suggest(texts, codebook, examples)
    ours = candidate.suggest(texts, codebook, examples)
    assert candidate.last_method == suggester.last_method
    assert [[s.theme for s in r] for r in ours] == [[s.theme for s in r] for r in theirs]
    assert [[round(s.score, 5) for s in r] for r in ours] == [[round(s.score, 5) for s in r] for r in theirs]
