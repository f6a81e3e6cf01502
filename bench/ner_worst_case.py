"""What the worst notes cost the unknown-name model, and how long they make another series wait.

    python bench/ner_worst_case.py [--json]

Prints, for 4,000-character notes of quotes, emoji, capitals and apostrophes, the time one
``NerDetector.detect`` call takes; then the time a short note from another
series waits while five of those notes are being anonymized in other threads
(the model is shared by the whole process), five copies of the slowest of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

from roundtable_plugins.ner import NerDetector, load_model

WORST = {"quotes": '"' * 4000, "emoji": "😀" * 4000, "capital_apostrophes": "A'" * 2000, "capital_words": "Ab " * 1333}
SHORT = "Thabo Mokoena said the union would join the next session"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_model()
    detector = NerDetector()
    detector.detect([SHORT], None)
    figures = {}
    for name, text in WORST.items():
        start = time.perf_counter()
        detector.detect([text], None)
        figures[f"{name}_note_s"] = round(time.perf_counter() - start, 3)
    alone = []
    for _ in range(5):
        start = time.perf_counter()
        detector.detect([SHORT], None)
        alone.append(time.perf_counter() - start)
    figures["short_note_alone_s"] = round(statistics.median(alone), 3)
    slowest = WORST[max(WORST, key=lambda name: figures[f"{name}_note_s"])]
    threads = [threading.Thread(target=detector.detect, args=([slowest], None)) for _ in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    start = time.perf_counter()
    detector.detect([SHORT], None)
    figures["short_note_behind_five_worst_s"] = round(time.perf_counter() - start, 3)
    for thread in threads:
        thread.join()
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
