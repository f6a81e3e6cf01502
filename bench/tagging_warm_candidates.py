"""Warm candidates for the semantic suggester, scored on the tune sets only.

    python bench/tagging_warm_candidates.py [--sets dev,dev-extra] [--candidates 'NAME;NAME...'] [--json]
    python bench/tagging_warm_candidates.py --best-fixed [--sets dev,dev-extra] [--json]

Each candidate is the semantic suggester with one change to how coded notes count
(issue 14, seventh round; docs/performance.md says which were adopted). Warm as in
``bench/tagging_eval.py``: sessions 1-2 coded, 3-5 predicted; top-1 within the
note's section and top-3 of all themes. Every candidate sees the very embeddings
the bench computes (each ``encode`` call is remembered by its list of texts, and
the int8 encoder's output depends on its batch), so the ``current`` row equals
``tagging_eval.py``'s warm figures. The held-out set is refused here: it is run
once, by ``tagging_eval.py``, for an adopted change only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import tagging_eval as bench  # noqa: E402
from roundtable_plugins import embedding_suggester as es  # noqa: E402
from roundtable_plugins.embedding_suggester import CodedNotes, ThemeViews, _unit  # noqa: E402

TUNE_SETS = ("dev", "dev-extra")


class RememberingEncoder:
    """The suggester's encoder, each call's result kept by its list of texts."""

    def __init__(self, encoder):
        self.encoder, self.memory = encoder, {}

    def encode(self, texts):
        key = tuple(texts)
        if key not in self.memory:
            self.memory[key] = self.encoder.encode(list(texts))
        return self.memory[key]


def soft_max_scores(notes: np.ndarray, vectors: np.ndarray, owner: np.ndarray, n_themes: int):
    """``ThemeViews.scores`` over arbitrary vectors: each theme's soft maximum of the notes' cosines to its own."""
    sims = notes @ vectors.T
    scores = np.zeros((len(notes), n_themes), dtype=np.float32)
    present = np.zeros((len(notes), n_themes), dtype=bool)
    t = es.VIEW_TEMPERATURE
    for i in range(n_themes):
        own = sims[:, owner == i]
        if own.shape[1] == 0:
            continue
        top = own.max(axis=1)
        scores[:, i] = top + t * np.log(np.exp((own - top[:, None]) / t).mean(axis=1))
        present[:, i] = True
    return scores, present


def kind_scores(kind: str, notes, coded: CodedNotes, themes: ThemeViews):
    """Coded-note scores of one kind, as ``example_scores`` returns them."""
    n = len(themes.prototypes)
    if kind in ("nearest", "centroid"):
        return es.example_scores(notes, coded, n, kind)
    if kind == "softmax":  # the coded notes as a theme's views, apart from the codebook's
        return soft_max_scores(notes, coded.vectors, coded.theme, n)
    if kind == "joint":  # the coded notes joining the codebook's views in one soft maximum
        scores, _ = soft_max_scores(notes, np.vstack([themes.vectors, coded.vectors]),
                                    np.concatenate([themes.owner, coded.theme]), n)
        return scores, np.ones_like(scores, dtype=bool)
    raise ValueError(kind)


def mix(prototype_scores, examples, weight, standardised=False):
    """``embedding_suggester.mix``, or (``standardised``) with each kind's scores standardised per note
    (over the themes) first, so that a weight means the same whatever the spread of each kind."""
    if not standardised:
        return es.mix(prototype_scores, examples, weight)
    scores, present = examples

    def z(x):
        return (x - x.mean(axis=1, keepdims=True)) / np.maximum(x.std(axis=1, keepdims=True), 1e-6)

    return es.mix(z(prototype_scores), (z(scores), present), weight)


def in_section(scores, truth, same_section):
    return np.where(same_section[truth], scores, -np.inf)


def choose(themes, coded, sections, methods, criterion="hits", top=1, standardised=False):
    """``choose_method`` over any ``methods`` ((kind, weight) pairs) and with a choice of criterion:
    ``hits`` (the suggester's: right in-section top-1 count) or ``rank`` (mean reciprocal rank in section);
    ``top`` > 1: the ``top`` best, best first."""
    folds = np.unique(coded.fold)
    if folds.size < 2 or len(coded.theme) < es.MIN_CHOICE_EXAMPLES:
        return (True, *es.DEFAULT_METHOD)
    same = sections[:, None] == sections[None, :]
    candidates, right = [], []
    for centre in (True, False):
        space, views = _space(themes, coded, centre)
        base = views.scores(space.vectors)
        counts = np.zeros(len(methods))
        for fold in folds:
            test = space.fold == fold
            train = CodedNotes(space.vectors[~test], space.theme[~test], space.fold[~test])
            cache = {}
            truth = space.theme[test]
            for m, (kind, weight) in enumerate(methods):
                if weight == 0:
                    scores = base[test]
                else:
                    if kind not in cache:
                        cache[kind] = kind_scores(kind, space.vectors[test], train, views)
                    scores = mix(base[test], cache[kind], weight, standardised)
                scores = in_section(scores, truth, same)
                if criterion == "hits":
                    counts[m] += int((scores.argmax(axis=1) == truth).sum())
                else:
                    rank = (scores > scores[np.arange(len(truth)), truth][:, None]).sum(axis=1) + 1
                    counts[m] += float((1 / rank).sum())
        candidates.extend((centre, *method) for method in methods)
        right.extend(counts)
    order = sorted(range(len(candidates)), key=lambda i: (right[i], candidates[i][1:] == es.DEFAULT_METHOD, -i),
                   reverse=True)
    return candidates[order[0]] if top == 1 else [candidates[i] for i in order[:top]]


def _space(themes, coded, centre):
    if not centre:
        return coded, themes
    mean = coded.vectors.mean(axis=0)
    return CodedNotes(_unit(coded.vectors - mean), coded.theme, coded.fold), themes.centred()


def scored(method, notes, themes, coded, standardised=False):
    """The warm scores of ``notes`` under a chosen ``(centre, kind, weight)``, as the suggester computes them."""
    centre, kind, weight = method
    if centre:
        notes, themes, coded = es._centred(notes, themes, coded)
    scores = themes.scores(notes)
    if weight:
        scores = mix(scores, kind_scores(kind, notes, coded, themes), weight, standardised)
    return scores, notes, themes, coded


# --- per-theme offsets ------------------------------------------------------------------------

OFFSET_SCALE = 1 / es.VIEW_TEMPERATURE


def fit_offsets(scores, truth, same, penalty=1.0):
    """Per-theme score offsets that make the coded notes' themes most likely within their section
    (softmax at the views' temperature), with an L2 penalty on the offsets in units of that temperature."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    mask = same[truth]
    rows = np.arange(len(truth))

    def loss(b):
        z = np.where(mask, OFFSET_SCALE * (scores + b), -np.inf)
        return float((logsumexp(z, axis=1) - z[rows, truth]).mean() + penalty * ((OFFSET_SCALE * b) ** 2).sum() / len(truth))

    return minimize(loss, np.zeros(scores.shape[1]), method="L-BFGS-B").x


def out_of_fold(method, themes, coded):
    """Each coded note's scores predicted from the other sessions' coded notes."""
    scores = np.zeros((len(coded.theme), len(themes.prototypes)), dtype=np.float32)
    for fold in np.unique(coded.fold):
        test = coded.fold == fold
        train = CodedNotes(coded.vectors[~test], coded.theme[~test], coded.fold[~test])
        scores[test] = scored(method, coded.vectors[test], themes, train)[0]
    return scores


def offsets_help(method, themes, coded, sections, penalty):
    """Leave-one-session-out: offsets fitted on the other sessions' out-of-fold scores, right counts with and without."""
    same = sections[:, None] == sections[None, :]
    oof = out_of_fold(method, themes, coded)
    with_, without = 0, 0
    for fold in np.unique(coded.fold):
        test = coded.fold == fold
        b = fit_offsets(oof[~test], coded.theme[~test], same, penalty)
        truth = coded.theme[test]
        without += int((in_section(oof[test], truth, same).argmax(axis=1) == truth).sum())
        with_ += int((in_section(oof[test] + b, truth, same).argmax(axis=1) == truth).sum())
    return with_ > without, oof


def whitened(shrinkage, notes, themes: ThemeViews, coded: CodedNotes):
    """Everything seen through the coded notes' within-theme spread, whitened with shrinkage
    (``(S + shrinkage * mean eigenvalue * I) ** -1/2``): directions along which notes of one theme
    vary count less than those that tell themes apart."""
    spread = coded.vectors - np.stack([coded.vectors[coded.theme == t].mean(axis=0) for t in coded.theme])
    values, vectors = np.linalg.eigh(spread.T @ spread / len(spread))
    transform = vectors @ np.diag(1 / np.sqrt(values.clip(0) + shrinkage * values.mean())) @ vectors.T
    return (_unit(notes @ transform), ThemeViews.of(_unit(themes.vectors @ transform), themes.owner),
            CodedNotes(_unit(coded.vectors @ transform), coded.theme, coded.fold))


def choose_whitening(themes, coded, sections, shrinkages):
    """Leave-one-session-out over whitening (fitted on the other sessions only) x centring x ``METHODS``:
    the most right in-section top-1 wins (ties: no whitening, then ``choose``'s order)."""
    same = sections[:, None] == sections[None, :]
    folds = np.unique(coded.fold)
    if folds.size < 2 or len(coded.theme) < es.MIN_CHOICE_EXAMPLES:
        return None, (True, *es.DEFAULT_METHOD)
    options = [(w, (centre, *m)) for w in shrinkages for centre in (True, False) for m in es.METHODS]
    right = np.zeros(len(options))
    for fold in folds:
        test = coded.fold == fold
        train = CodedNotes(coded.vectors[~test], coded.theme[~test], coded.fold[~test])
        truth = coded.theme[test]
        spaces = {w: (coded.vectors[test], themes, train) if w is None else whitened(w, coded.vectors[test], themes, train)
                  for w in shrinkages}
        for i, (w, method) in enumerate(options):
            scores = in_section(scored(method, *spaces[w])[0], truth, same)
            right[i] += int((scores.argmax(axis=1) == truth).sum())
    best = max(range(len(options)), key=lambda i: (right[i], options[i][0] is None,
                                                   options[i][1][1:] == es.DEFAULT_METHOD, options[i][1][0], -i))
    return options[best]


# --- the candidate suggesters -----------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One candidate: which methods leave-one-session-out chooses among and how, and what follows the choice.

    ``forced``: a fixed ``(centre, kind, weight)`` instead of the choice; ``average``: the mean scores of
    the choice's best few; ``offsets`` (a penalty) and ``transduce`` (the share of predictions kept): a step
    after the choice, used when it predicted the coded sessions better (``always``: used regardless);
    ``whiten``: shrinkages the choice may whiten with (``always``: the first, regardless); ``word_views``:
    each theme gains views ``name: word`` (or one ``name: w1, w2, ...``, ``words_joined``) from the words
    that most set its coded notes apart (TF-IDF over the themes' coded notes).
    """

    methods: tuple = es.METHODS
    criterion: str = "hits"
    forced: tuple | None = None
    average: int = 1
    standardised: bool = False
    offsets: float | None = None
    transduce: float | None = None
    whiten: tuple = ()
    always: bool = False
    word_views: int = 0
    words_joined: bool = False


SOFTMAX = tuple(("softmax", w) for w in (0.25, 0.5, 0.75, 1.0))
CANDIDATES = {
    "current": Variant(),
    "coded notes as views, offered": Variant(methods=es.METHODS + SOFTMAX),
    "coded notes as views, forced 0.5": Variant(forced=(True, "softmax", 0.5)),
    "coded notes as views, forced 0.75": Variant(forced=(True, "softmax", 0.75)),
    "coded notes join the views, offered": Variant(methods=es.METHODS + (("joint", 1.0),)),
    "coded notes join the views, forced": Variant(forced=(True, "joint", 1.0)),
    "nearest 0.5 centred, forced": Variant(forced=(True, "nearest", 0.5)),
    "choice by reciprocal rank": Variant(criterion="rank"),
    "mean of the best 3": Variant(average=3),
    "mean of the best 5": Variant(average=5),
    "mean of the best 10": Variant(average=10),
    "mean of all 34": Variant(average=34),
    "scores standardised before mixing": Variant(standardised=True),
    "standardised, nearest 0.5 forced": Variant(standardised=True, forced=(True, "nearest", 0.5)),
    "offsets, penalty 0.1": Variant(offsets=0.1),
    "offsets, penalty 1": Variant(offsets=1.0),
    "offsets, penalty 10": Variant(offsets=10.0),
    "offsets, penalty 0.1, always": Variant(offsets=0.1, always=True),
    "offsets, penalty 1, always": Variant(offsets=1.0, always=True),
    "offsets, penalty 10, always": Variant(offsets=10.0, always=True),
    "transductive, a quarter": Variant(transduce=0.25),
    "transductive, half": Variant(transduce=0.5),
    "transductive, all": Variant(transduce=1.0),
    "transductive, a quarter, always": Variant(transduce=0.25, always=True),
    "transductive, half, always": Variant(transduce=0.5, always=True),
    "transductive, all, always": Variant(transduce=1.0, always=True),
    "whitened 0.3, always": Variant(whiten=(0.3,), always=True),
    "whitened 1, always": Variant(whiten=(1.0,), always=True),
    "whitened 3, always": Variant(whiten=(3.0,), always=True),
    "whitened 10, always": Variant(whiten=(10.0,), always=True),
    "whitening 1 offered": Variant(whiten=(1.0,)),
    "whitening 1, 3, 10 offered": Variant(whiten=(1.0, 3.0, 10.0)),
    "coded notes' 3 words as views": Variant(word_views=3),
    "coded notes' 3 words as one view": Variant(word_views=3, words_joined=True),
    "coded notes' 5 words as one view": Variant(word_views=5, words_joined=True),
}


class Candidate(es.SemanticSuggester):
    """The semantic suggester with one warm ``Variant``; cold scoring is the suggester's own."""

    def __init__(self, variant: Variant, encoder):
        super().__init__(None)
        self.variant, self._encoder = variant, encoder

    @property
    def encoder(self):
        return self._encoder

    def suggest(self, texts, codebook, examples=()):
        names = [t.name for t in codebook.themes]
        index = {n: i for i, n in enumerate(names)}
        examples = [e for e in examples if e.theme in index]
        if not examples:
            return super().suggest(texts, codebook, examples)
        notes = self.encoder.encode(list(texts))
        themes = self._theme_views(codebook)
        if self.variant.word_views:
            themes = self._with_word_views(themes, codebook, examples)
        sections = np.asarray([t.section for t in codebook.themes], dtype=object)
        same = sections[:, None] == sections[None, :]
        coded = CodedNotes(self._example_vectors([e.text for e in examples]),
                           np.asarray([index[e.theme] for e in examples]), es._folds(examples))
        v = self.variant
        self.step_taken = False
        if v.whiten and v.always:
            notes, themes, coded = whitened(v.whiten[0], notes, themes, coded)
        elif v.whiten:
            shrinkage, method = choose_whitening(themes, coded, sections, (None, *v.whiten))
            self.last_method = (shrinkage, *method)
            if shrinkage is not None:
                notes, themes, coded = whitened(shrinkage, notes, themes, coded)
            return _ranked(scored(method, notes, themes, coded)[0], names)
        if v.average > 1:
            chosen = choose(themes, coded, sections, v.methods, top=v.average)
            self.last_method = chosen[0]
            return _ranked(np.mean([scored(m, notes, themes, coded)[0] for m in chosen], axis=0), names)
        method = self.last_method = v.forced or choose(themes, coded, sections, v.methods, v.criterion,
                                                       standardised=v.standardised)
        scores, c_notes, c_themes, c_coded = scored(method, notes, themes, coded, v.standardised)
        if v.offsets is not None:
            helps, oof = offsets_help(method, themes, coded, sections, v.offsets)
            if helps or v.always:
                scores = scores + fit_offsets(oof, coded.theme, same, v.offsets)
                self.step_taken = True
        if v.transduce is not None and (v.always or transduction_helps(method, themes, coded, same, v.transduce)):
            scores = transduced(method, scores, c_notes, c_themes, c_coded, same, v.transduce)
            self.step_taken = True
        return _ranked(scores, names)


    def _with_word_views(self, themes: ThemeViews, codebook, examples) -> ThemeViews:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from roundtable.services.tagging import words

        names = [t.name for t in codebook.themes]
        documents = [" ".join(" ".join(words(e.text)) for e in examples if e.theme == n) for n in names]
        tfidf = TfidfVectorizer(sublinear_tf=True)
        weights = tfidf.fit_transform(documents).toarray()
        vocabulary = np.asarray(tfidf.get_feature_names_out())
        views, owner = [], []
        for i, name in enumerate(names):
            if documents[i]:
                best = vocabulary[np.argsort(-weights[i])[:self.variant.word_views]]
                own = [f"{name}: {', '.join(best)}"] if self.variant.words_joined else [f"{name}: {w}" for w in best]
                views += own
                owner += [i] * len(own)
        return ThemeViews.of(np.vstack([themes.vectors, self.encoder.encode(views)]),
                             np.concatenate([themes.owner, owner]))


def _ranked(scores, names):
    results = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        results.append([es.Suggestion(names[i], min(1.0, max(0.0, float(row[i])))) for i in order])
    return results


def transduction_helps(method, themes, coded, same, share):
    """Whether the transductive step, done on each coded session as if it were uncoded, predicts it better."""
    with_, without = 0, 0
    for fold in np.unique(coded.fold):
        test = coded.fold == fold
        train = CodedNotes(coded.vectors[~test], coded.theme[~test], coded.fold[~test])
        scores, notes, views, known = scored(method, coded.vectors[test], themes, train)
        truth = coded.theme[test]
        without += int((in_section(scores, truth, same).argmax(axis=1) == truth).sum())
        again = transduced(method, scores, notes, views, known, same, share)
        with_ += int((in_section(again, truth, same).argmax(axis=1) == truth).sum())
    return with_ > without


def transduced(method, scores, notes, themes, coded, same, share):
    """One round of self-training: each note's best theme, the ``share`` of notes with the widest margin
    over the next theme of that section joins the coded notes, and the notes are scored again."""
    _, kind, weight = method
    if not weight:
        kind, weight = "nearest", 0.5  # the codebook alone has no kind to learn pseudo-codes with
    picks = scores.argmax(axis=1)
    ranked = np.sort(np.where(same[picks], scores, -np.inf), axis=1)
    margins = ranked[:, -1] - np.where(np.isfinite(ranked[:, -2]), ranked[:, -2], 0)
    confident = margins >= np.quantile(margins, 1 - share)
    pseudo = CodedNotes(np.vstack([coded.vectors, notes[confident]]),
                        np.concatenate([coded.theme, picks[confident]]),
                        np.concatenate([coded.fold, np.full(int(confident.sum()), -1)]))
    return es.mix(themes.scores(notes), kind_scores(kind, notes, pseudo, themes), weight)


def evaluate(variant: Variant, set_name: str, encoder) -> dict:
    suggester = Candidate(variant, encoder)
    roundtable = bench.application_with(suggester)
    tally, methods, steps = bench.Tally(), {}, {}
    for report, rows in bench.load_set(set_name).items():
        codebook = bench.load_codebook_file(bench.DATA / "codebooks" / f"{report}.yaml")
        bench.score_warm(rows, codebook, suggester.name, roundtable, tally)
        methods[report] = list(suggester.last_method)
        steps[report] = suggester.step_taken
    return {**tally.result(), "methods": methods, "step_taken": steps}


def best_fixed(set_name: str, encoder) -> dict:
    """Per report, the in-section top-1 of the current choice and of the best of the 34 ways it chooses among
    (centred or not x ``METHODS``), fixed after seeing the predicted sessions: what a perfect choice could reach."""
    ways = [(centre, *m) for centre in (True, False) for m in es.METHODS]
    result = {}
    for report, rows in bench.load_set(set_name).items():
        codebook = bench.load_codebook_file(bench.DATA / "codebooks" / f"{report}.yaml")
        hits = {}
        for way in [None, *ways]:
            suggester = Candidate(Variant(forced=way) if way else Variant(), encoder)
            tally = bench.Tally()
            bench.score_warm(rows, codebook, suggester.name, bench.application_with(suggester), tally)
            hits[way] = (tally.hits["top1_in_section"], tally.n, suggester.last_method)
        best = max(ways, key=lambda w: hits[w][0])
        result[report] = {"n": hits[None][1], "current": hits[None][0], "current_method": list(hits[None][2]),
                          "best_fixed": hits[best][0], "best_fixed_method": list(best)}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(TUNE_SETS))
    parser.add_argument("--candidates", default=None, help="names from CANDIDATES, separated by ';' (default: all)")
    parser.add_argument("--best-fixed", action="store_true",
                        help="per report, the best of the ways the choice chooses among, fixed in hindsight")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sets = args.sets.split(",")
    if not set(sets) <= set(TUNE_SETS):
        parser.error("only the tune sets (dev, dev-extra): the held-out set is run by tagging_eval.py, once")
    names = args.candidates.split(";") if args.candidates else list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate {unknown[0]!r}; known: {'; '.join(CANDIDATES)}")
    es.set_threads(1)
    encoder = RememberingEncoder(es.load_encoder())
    if args.best_fixed:
        found = {s: best_fixed(s, encoder) for s in sets}
        if args.json:
            print(json.dumps(found, indent=2))
        for set_name, reports in ([] if args.json else found.items()):
            for report, r in reports.items():
                print(f"{set_name:<10} {report:<18} current {r['current']}/{r['n']} {r['current_method']}   "
                      f"best fixed {r['best_fixed']}/{r['n']} {r['best_fixed_method']}")
        return 0
    results = {n: {s: evaluate(CANDIDATES[n], s, encoder) for s in sets} for n in names}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for candidate, per_set in results.items():
        figures = "   ".join(f"{s} {r['top1_in_section']:.3f} / {r['top3_all']:.3f}" for s, r in per_set.items())
        n = sum(r["n"] for r in per_set.values())
        pooled = sum(r["top1_in_section"] * r["n"] for r in per_set.values()) / n
        pooled3 = sum(r["top3_all"] * r["n"] for r in per_set.values()) / n
        taken = [report for r in per_set.values() for report, yes in r["step_taken"].items() if yes]
        after = f"   step taken in: {', '.join(taken) or 'none'}" if CANDIDATES[candidate].offsets or CANDIDATES[
            candidate].transduce else ""
        print(f"{candidate:<40} {figures}   pooled {pooled:.3f} / {pooled3:.3f}{after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
