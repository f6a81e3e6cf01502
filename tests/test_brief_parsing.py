"""A report's build does its costly work once: spaCy parses the notes' claims in batches, each text once, and
the same report comes out; the resources find each note's sub-theme without comparing notes.

Parsing texts one by one costs about four times what one ``nlp.pipe`` batch costs for the same texts on
this machine (issue 16's build time, ``docs/performance.md``); the parses, and so the report, are the same.
"""

from __future__ import annotations

import pytest


class CountingPipeline:
    """spaCy's pipeline, counting the texts it parses alone and in batches."""

    def __init__(self, nlp):
        self.nlp, self.alone, self.batched = nlp, [], []

    def __call__(self, text):
        self.alone.append(text)
        return self.nlp(text)

    def pipe(self, texts, **kwargs):
        texts = list(texts)
        self.batched.extend(texts)
        return self.nlp.pipe(texts, **kwargs)


@pytest.fixture
def counting(monkeypatch):
    from roundtable.services.briefs import context
    from roundtable.services.briefs.synthesis import spacy_pipeline

    nlp = spacy_pipeline()
    assert nlp is not None, "the English spaCy model is a test dependency (README's test command installs it)"
    pipeline = CountingPipeline(nlp)
    monkeypatch.setattr(context, "spacy_pipeline", lambda: pipeline)
    return pipeline


@pytest.mark.slow
def test_the_demo_report_parses_each_text_once_mostly_in_a_batch_and_reads_the_same(db, roundtable, counting,
                                                                                     monkeypatch):
    from roundtable.cli.demo import load_demo
    from roundtable.services import briefs
    from roundtable.services.briefs.realize import Realizer

    series = load_demo(roundtable)
    batched = briefs.export_brief(db, series.id, template="report", fmt="md", roundtable=roundtable)[0]
    parsed = counting.alone + counting.batched
    assert len(parsed) == len(set(parsed)), "a text was parsed twice"
    assert len(counting.alone) < len(counting.batched), (len(counting.alone), len(counting.batched))

    monkeypatch.setattr(Realizer, "prefetch", lambda self, claims: None)
    counting.alone, counting.batched = [], []
    alone = briefs.export_brief(db, series.id, template="report", fmt="md", roundtable=roundtable)[0]
    assert counting.batched == [] and counting.alone
    assert batched == alone


def test_resources_find_each_notes_sub_theme_without_comparing_notes(monkeypatch):
    """A link is described by the sub-theme its note is coded with; finding it never compares two notes field
    by field (at 2,000 notes that was 1 s of the build: every note against every note of its theme)."""
    from collections import Counter

    from roundtable.services.briefs.context import BriefContext, NoteItem, ThemeItem
    from roundtable.services.briefs.resources import collect_resources

    notes = [NoteItem(i, f"point {i} about rent relief", "observation", "organizer", 1) for i in range(1, 301)]
    notes[250].text = "The rent relief toolkit https://example.org/rent-toolkit covers the paperwork"
    notes[250].links = ["https://example.org/rent-toolkit"]
    children = [ThemeItem(2, "Eviction defense", "", "Key Themes", 1, notes=notes[:200]),
                ThemeItem(3, "Rent relief paperwork", "", "Key Themes", 2, notes=notes[200:])]
    theme = ThemeItem(1, "Housing", "", "Key Themes", 1, children=children)
    context = BriefContext(1, "s", "T", "", "", [], [], "", "", "", "", [], [theme], notes, [], [], False, Counter(),
                           0, {})
    compared = []
    equal = NoteItem.__eq__
    monkeypatch.setattr(NoteItem, "__eq__", lambda a, b: compared.append(1) or equal(a, b))

    groups = collect_resources(context)

    [item] = [r for items in groups.values() for r in items]
    assert "in the discussion of Rent relief paperwork" in item.description, item.description
    assert compared == []
