"""The ``keyword_suggester`` plugin: the ``lexical`` theme suggester (stemmed words and
word pieces, TF-IDF weights, no model).

Each theme becomes a TF-IDF vector of its name (counted twice), description and
keywords (twice), over English Snowball stems with note-taking shorthand written
out first, and a second one over the character 3- to 5-grams of the words:
stems miss relatives such as "regulatory" and "regulations", which share "regul".
Coded examples pull a theme's vectors toward the words people actually used for
it (Rocchio: the theme's own vector plus the mean of its examples), so the
suggester improves as a series is coded. A note's score for a theme is the mean
of the two cosine similarities.
"""

from __future__ import annotations

from roundtable import Suggestion, hookimpl
from roundtable.lazy import lazy_module
from roundtable.services.tagging import expand_abbreviations, stem_words

np = lazy_module("numpy")  # suggestions run in the worker process; the web server never pays for NumPy
SUGGESTER_NAME = "lexical"
# How much a theme's coded examples count against its own words once it has many.
EXAMPLE_WEIGHT_MAX = 0.75
analyze = stem_words
# Character n-grams inside words, stop words kept (chosen on the dev set: names-only cold top-1
# 0.28 with stems alone, 0.42 with these, 0.40 without stop words; docs/performance.md).
CHAR_NGRAMS = (3, 5)


def _theme_document(theme) -> str:
    keywords = " ".join(theme.keywords)
    return " ".join([theme.name, theme.name, theme.description, keywords, keywords])


def _plain_text(text: str) -> str:
    return expand_abbreviations(text).lower()


class _Model:
    def __init__(self, codebook, examples):
        # lazy: scikit-learn stays out of the web server, which loads this plugin but never suggests
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        self.names = [t.name for t in codebook.themes]
        docs = [_theme_document(t) for t in codebook.themes]
        example_texts = [e.text for e in examples]
        index = {n: i for i, n in enumerate(self.names)}
        coded = [[j for j, e in enumerate(examples) if index.get(e.theme) == i] for i in range(len(self.names))]
        self.vectorizers, self.matrices = [], []
        for vectorizer in (TfidfVectorizer(analyzer=analyze, sublinear_tf=True, norm="l2"),
                           TfidfVectorizer(analyzer="char_wb", preprocessor=_plain_text, ngram_range=CHAR_NGRAMS,
                                           sublinear_tf=True, norm="l2")):
            vectorizer.fit(docs + example_texts)
            own = vectorizer.transform(docs).toarray()
            vectors = own.copy()
            if examples:
                ex = vectorizer.transform(example_texts).toarray()
                for i, rows in enumerate(coded):
                    if rows:
                        weight = min(EXAMPLE_WEIGHT_MAX, len(rows) / (len(rows) + 4))
                        vectors[i] = (1 - weight) * own[i] + weight * ex[rows].mean(axis=0)
            self.vectorizers.append(vectorizer)
            self.matrices.append(normalize(vectors).T)

    def scores(self, texts) -> np.ndarray:
        return sum(np.asarray(v.transform(texts) @ m) for v, m in zip(self.vectorizers, self.matrices)) / 2


class LexicalSuggester:
    """Stemmed keyword and description matching with TF-IDF weights."""

    name = SUGGESTER_NAME

    def __init__(self):
        self._cache: dict = {}

    def _model(self, codebook, examples) -> _Model:
        key = (
            tuple((t.name, t.description, tuple(t.keywords)) for t in codebook.themes),
            tuple((e.text, e.theme) for e in examples),
        )
        model = self._cache.get(key)
        if model is None:
            if len(self._cache) > 16:
                self._cache.clear()
            model = self._cache[key] = _Model(codebook, examples)
        return model

    def suggest(self, texts, codebook, examples=()):
        model = self._model(codebook, list(examples))
        scores = model.scores(list(texts))
        results = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            results.append([Suggestion(model.names[i], float(row[i])) for i in order if row[i] > 0])
        return results


_SUGGESTER = LexicalSuggester()


@hookimpl
def register_suggesters(register):
    register(_SUGGESTER)
