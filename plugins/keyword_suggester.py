"""The ``keyword_suggester`` plugin: the ``lexical`` theme suggester (stemmed words, TF-IDF
weights, no model).

Each theme becomes a TF-IDF vector of its name (counted twice), description and
keywords (twice), over English Snowball stems with note-taking shorthand written
out first. Coded examples pull a theme's vector toward the words people actually
used for it (Rocchio: the theme's own vector plus the mean of its examples), so
the suggester improves as a series is coded. A note's score for a theme is the
cosine similarity of their vectors.
"""

from __future__ import annotations

from roundtable import Suggestion, hookimpl
from roundtable.lazy import lazy_module
from roundtable.services.tagging import stem_words

np = lazy_module("numpy")  # suggestions run in the worker process; the web server never pays for NumPy
SUGGESTER_NAME = "lexical"
# How much a theme's coded examples count against its own words once it has many.
EXAMPLE_WEIGHT_MAX = 0.75
analyze = stem_words


def _theme_document(theme) -> str:
    keywords = " ".join(theme.keywords)
    return " ".join([theme.name, theme.name, theme.description, keywords, keywords])


class _Model:
    def __init__(self, codebook, examples):
        # lazy: scikit-learn stays out of the web server, which loads this plugin but never suggests
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        self.names = [t.name for t in codebook.themes]
        docs = [_theme_document(t) for t in codebook.themes]
        example_texts = [e.text for e in examples]
        self.vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, norm="l2")
        self.vectorizer.fit(docs + example_texts)
        own = self.vectorizer.transform(docs).toarray()
        vectors = own.copy()
        if examples:
            index = {n: i for i, n in enumerate(self.names)}
            ex = self.vectorizer.transform(example_texts).toarray()
            for i, name in enumerate(self.names):
                rows = [j for j, e in enumerate(examples) if index.get(e.theme) == i]
                if rows:
                    weight = min(EXAMPLE_WEIGHT_MAX, len(rows) / (len(rows) + 4))
                    vectors[i] = (1 - weight) * own[i] + weight * ex[rows].mean(axis=0)
        self.matrix = normalize(vectors).T

    def scores(self, texts) -> np.ndarray:
        return np.asarray(self.vectorizer.transform(texts) @ self.matrix)


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
