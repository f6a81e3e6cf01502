"""A report's build parses its notes' claims with spaCy in batches, each text once, and writes the same report.

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
