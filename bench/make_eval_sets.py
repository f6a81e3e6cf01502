"""Build the external evaluation sets for ``bench/anonymize_eval.py`` from public corpora.

    python bench/make_eval_sets.py --gum PATH --wnut PATH [--out bench/data/external]

Text nobody on this project wrote, freely licensed, read from local git
snapshots of two public repositories (no network at run time):

- GUM, the Georgetown University Multilayer corpus (``amir-zeldes/gum``,
  commit 72ce5ac1), genres with free licences only: academic (CC-BY 4.0,
  with author–year citations), court (CC-BY 4.0), interview and news
  (Wikinews, CC-BY 2.5), bio and voyage (Wikipedia / Wikivoyage, CC-BY-SA
  3.0). Annotations CC-BY 4.0. Fiction, how-to, essays, letters, podcasts
  (non-commercial licences) and reddit are left out.
- WNUT-17 emerging entities (``leondz/emerging_entities_17``, commit
  e52a2d2a), the test file: YouTube, Stack Overflow, Twitter and Reddit
  text, CC-BY 4.0. Tokens are joined with spaces, as distributed.

Labels come from the corpora's own annotations, not from us:

- ``person``: a person's name (GUM: proper-noun tokens whose entity is a
  person, titles such as "Dr." left out; WNUT: ``person`` tokens);
- ``keep``: a word that must survive: a capitalised proper-noun token of a
  place, organisation, work, event or other non-person entity (GUM), or a
  token of a location, corporation, group, creative work or product (WNUT).

The WNUT-17 development file (same source, licence and labels, 1,008 messages not used before the third
session) is written whole as ``wnut17_dev.fresh.jsonl``: a second held-out set, scored once.

Each set is split by document (GUM) or by message (WNUT) with a fixed seed
into ``*.tune.jsonl`` and ``*.heldout.jsonl``. Look only at tuning errors.
A GUM record names its ``document``: the scorer reads a document's records in
order as the notes of one session (its memory of names).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 13
GUM_SETS = {"gum_academic": ("academic",), "gum_prose": ("bio", "court", "interview", "news", "voyage")}
TITLES = frozenset(
    "mr mrs ms miss dr prof professor sir dame lord lady president senator governor mayor judge justice "
    "king queen prince princess emperor empress pope saint st general captain colonel chancellor minister "
    "rev reverend father brother sister councillor councilor major lieutenant sergeant duke duchess count "
    "countess baron baroness earl marquis secretary premier sheikh imam shah chairman chief prime deputy "
    "home shadow foreign attorney".split()
)
# "(6-person-new-...-coref" opens entity 6, "6)" closes it, "(5-object-...)" is one token long.
ENTITY = re.compile(r"\((\d+)-([a-z]+)[^()]*(\))?|(\d+)\)")
SENTENCES_PER_RECORD = 3


def git_files(repo: Path, folder: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-tree", "--name-only", f"HEAD:{folder}"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def git_show(repo: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"],
                          check=True, capture_output=True, text=True).stdout


def misc_field(misc: str, key: str) -> str:
    for part in misc.split("|"):
        if part.startswith(key + "="):
            return part[len(key) + 1:]
    return ""


def gum_sentences(conllu: str):
    """Yield (new_paragraph, tokens), a token being [form, space_after, upos, mention, entity_type].

    ``mention`` numbers the innermost entity mention around the token (GUM's own
    ids name coreference chains, not mentions).
    """
    open_mentions: list[tuple[str, int, str]] = []  # (chain id, mention number, type), outermost first
    mentions = 0
    tokens, new_par, skip_until = [], False, 0
    for line in conllu.splitlines():
        if line.startswith("# newpar"):
            new_par = True
        if not line.strip():
            if tokens:
                yield new_par, tokens
                tokens, new_par, skip_until = [], False, 0
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        ident, form, upos, misc = cols[0], cols[1], cols[3], cols[9]
        if cols[4] == "NNPS":
            upos = "PROPN-PLURAL"  # "Huguenots", "Japanese": groups, not one person's name
        if "." in ident:
            continue
        if "-" in ident:  # a multi-word token: its surface form and spacing, its first part's annotations
            skip_until = int(ident.split("-")[1])
            tokens.append([form, "SpaceAfter=No" not in misc, None, None, None])
            continue
        innermost, closing = None, []
        for match in ENTITY.finditer(misc_field(misc, "Entity")):
            if match.group(1):
                mentions += 1
                open_mentions.append((match.group(1), mentions, match.group(2)))
                if match.group(3):
                    closing.append(match.group(1))
            else:
                closing.append(match.group(4))
        if open_mentions:
            innermost = open_mentions[-1]
        for chain in closing:
            for k in range(len(open_mentions) - 1, -1, -1):
                if open_mentions[k][0] == chain:
                    del open_mentions[k]
                    break
        mention, kind = (innermost[1], innermost[2]) if innermost else (None, None)
        if int(ident) <= skip_until:
            if tokens[-1][2] is None:
                tokens[-1][2:] = [upos, mention, kind]
            continue
        tokens.append([form, "SpaceAfter=No" not in misc, upos, mention, kind])
    if tokens:
        yield new_par, tokens


NAME_PARTICLES = frozenset("de da di del della des du van von der den la le bin al ibn y the".split())


def label_tokens(tokens) -> list[str | None]:
    """'person', 'keep' or None for each token (see the module docstring).

    A person mention is a name when every word of it is a proper noun, a title
    or a particle ("Marquis de Lafayette"); "Eegimaa speakers" is not.
    """
    by_mention: dict[int, list[int]] = {}
    for i, token in enumerate(tokens):
        by_mention.setdefault(token[3], []).append(i)

    def is_title(form):
        return form.lower().rstrip(".") in TITLES

    def is_name(mention):
        return all(tokens[i][2] in ("PROPN", "PUNCT", "PART") or is_title(tokens[i][0])
                   or tokens[i][0].lower() in NAME_PARTICLES for i in by_mention[mention])

    labels = []
    for form, _, upos, mention, kind in tokens:
        core = re.sub(r"['’]s$", "", form)
        if upos == "PROPN-PLURAL" and kind == "person":
            labels.append(None)
        elif upos not in ("PROPN", "PROPN-PLURAL") or not core[:1].isupper() or not any(c.isalpha() for c in core):
            labels.append(None)
        elif kind == "person":
            labels.append("person" if is_name(mention) and not is_title(core) else None)
        else:
            labels.append("keep")
    return labels


def build_record(tokens, labels) -> dict:
    text, spans, offsets = "", [], []
    for form, space_after, *_ in tokens:
        offsets.append((len(text), len(text) + len(form)))
        text += form + (" " if space_after else "")
    text = text.rstrip()
    i = 0
    while i < len(tokens):
        if labels[i] == "person":
            j = i
            while True:  # one name runs on across a hyphen inside it ("Bailey-Ross")
                if j + 1 < len(tokens) and labels[j + 1] == "person":
                    j += 1
                elif j + 2 < len(tokens) and tokens[j + 1][0] in ("-", "‐") and labels[j + 2] == "person":
                    j += 2
                else:
                    break
            start, end = offsets[i][0], offsets[j][1]
            end -= len(re.search(r"(['’]s)?$", text[start:end]).group())
            spans.append({"start": start, "end": end, "kind": "person"})
            i = j + 1
        elif labels[i] == "keep":
            start, end = offsets[i]
            end -= len(re.search(r"(['’]s)?$", text[start:end]).group())
            spans.append({"start": start, "end": end, "kind": "keep"})
            i += 1
        else:
            i += 1
    return {"text": text, "spans": spans}


def drop_ambiguous_keeps(records: list[dict]) -> list[dict]:
    """A word that is part of someone's name elsewhere in the document ("Pierre", "Washington") is left unscored."""
    name_words = {w for r in records for s in r["spans"] if s["kind"] == "person"
                  for w in r["text"][s["start"]:s["end"]].split()}
    for r in records:
        r["spans"] = [s for s in r["spans"] if s["kind"] != "keep" or r["text"][s["start"]:s["end"]] not in name_words]
    return records


def gum_records(repo: Path, genres: tuple[str, ...]) -> dict[str, list[dict]]:
    """Records of up to three sentences within a paragraph, by document."""
    documents = {}
    for name in git_files(repo, "dep"):
        genre = name.split("_")[1] if name.startswith("GUM_") else ""
        if genre not in genres:
            continue
        records, group = [], []

        def flush():
            if group:
                tokens = [t for sentence in group for t in sentence]
                # sentences are joined with one space
                for sentence in group[:-1]:
                    sentence[-1][1] = True
                records.append(build_record(tokens, label_tokens(tokens)))
                group.clear()

        for new_par, tokens in gum_sentences(git_show(repo, f"dep/{name}")):
            if new_par or len(group) == SENTENCES_PER_RECORD:
                flush()
            group.append(tokens)
        flush()
        documents[name] = [{**r, "document": name} for r in drop_ambiguous_keeps([r for r in records if r["text"]])]
    return documents


def wnut_records(repo: Path, path: str = "emerging.test.annotated") -> list[dict]:
    records = []
    for block in git_show(repo, path).split("\n\n"):
        rows = [line.split("\t") for line in block.splitlines() if "\t" in line]
        if not rows:
            continue
        tokens = [[word, True, None, None, None] for word, _ in rows]
        # Undo the tokenizer's spaces where it split one written word: "@ name", "# tag", "Ed ' s", "do n ' t".
        for k, token in enumerate(tokens[:-1]):
            after = tokens[k + 1][0]
            if token[0] in ("@", "#") or (after in ("'", "’") and k + 2 < len(tokens)
                                          and tokens[k + 2][0].lower() in ("s", "t", "ve", "ll", "re", "m", "d")):
                token[1] = False
            if token[0] in ("'", "’") and k > 0 and not tokens[k - 1][1] and after.lower() in ("s", "t", "ve", "ll", "re", "m", "d"):
                token[1] = False
            if token[0] == "n" and after in ("'", "’"):
                token[1] = False
        labels = []
        for word, tag in rows:
            kind = tag[2:] if tag != "O" else ""
            # a handle is an identifier whoever holds it: not scored as a word to keep
            after_at = bool(labels) and rows[len(labels) - 1][0] == "@"
            keep = kind and any(c.isalnum() for c in word) and not word.startswith("@") and word != "@" and not after_at
            labels.append("person" if kind == "person" else "keep" if keep else None)
        record = build_record(tokens, labels)
        # WNUT marks multi-token non-person entities token by token; a person's name is one mention
        records.append(record)
    return records


def split(items: list, seed: int = SEED) -> tuple[list, list]:
    items = list(items)
    random.Random(seed).shuffle(items)
    half = len(items) // 2
    return items[:half], items[half:]


def write(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gum", type=Path, required=True, help="git directory of amir-zeldes/gum")
    parser.add_argument("--wnut", type=Path, required=True, help="git directory of leondz/emerging_entities_17")
    parser.add_argument("--out", type=Path, default=HERE / "data" / "external")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for set_name, genres in GUM_SETS.items():
        documents = gum_records(args.gum, genres)
        tune, heldout = split(sorted(documents))
        write(args.out / f"{set_name}.tune.jsonl", [r for d in tune for r in documents[d]])
        write(args.out / f"{set_name}.heldout.jsonl", [r for d in heldout for r in documents[d]])
        print(f"{set_name}: {len(tune)} + {len(heldout)} documents")
    tune, heldout = split(wnut_records(args.wnut))
    write(args.out / "wnut17.tune.jsonl", tune)
    write(args.out / "wnut17.heldout.jsonl", heldout)
    print(f"wnut17: {len(tune)} + {len(heldout)} messages")
    # A second held-out set, scored once after the third session froze its code: the development file, not
    # used before (the first two sessions built and tuned on the test file only).
    fresh = wnut_records(args.wnut, "emerging.dev.conll")
    write(args.out / "wnut17_dev.fresh.jsonl", fresh)
    print(f"wnut17_dev (fresh held-out): {len(fresh)} messages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
