"""What a reader reads, as one string every detector sees, with a map back to what was typed.

A name can be typed so that it looks the same to a reader but not to a
regular expression: decomposed accents (``a`` + U+0301, what macOS keyboards
send), zero-width spaces and joiners, soft hyphens, fullwidth or mathematical
letters, Cyrillic or Greek letters that look Latin, a dotless ``ı``, Markdown
or HTML inside the word (``**Tha**ndiwe``, ``Tha<b>n</b>diwe``,
``[Tha](x)ndiwe``), HTML entities (``Th&#97;ndiwe``, ``&amp;#97;``) or a
backslash (``Th\\andiwe``). :func:`matching_text` undoes all of them at once:

1. HTML entities are decoded, repeatedly (double escaping);
2. each character goes through NFKD (compatibility forms become plain
   letters and digits), combining marks and invisible format characters
   (Unicode's default-ignorable code points, categories Cf and Cc) are
   dropped, letters that look Latin are mapped to the Latin letter with the
   Unicode confusables table (package ``confusable-homoglyphs``), and a few
   letters that do not decompose (``ı``, ``ø``, ``ł``, ``ß``) are spelled out;
3. markup between two letters or digits (emphasis marks, backslashes,
   brackets and link targets, attribute blocks, inline HTML tags) is removed,
   so the halves of a split word join again; a block tag becomes a space;
4. a word cut by a hyphen at a line end (``Thandi-`` / ``we``) is joined
   again, and a run of single letters spaced out by one space, dot or hyphen
   (``T h a n d i w e``, ``T.h.a.n.d.i.w.e``) is read as the word it spells
   (``U S A`` becomes ``USA`` and ``A B testing`` ``AB testing``, harmless for
   matching; ``J. K.``, two characters apart, stays as it is);
5. text under a right-to-left override (U+202E, raw or as an entity, up to
   its U+202C or the end of the line) is shown reversed, ``ayaK penyeZ`` as
   "Zeynep Kaya": it is followed by that reversed reading, so a name is found
   in either order.

Case is kept: capitals are what tells "Will said" from "will say", so the
detectors fold case themselves (:func:`roundtable.services.anonymize.fold`).
The result is for matching only; it is never stored or shown. Every character
of it remembers the stretch of the original it came from, so a span found in
the matching text is replaced in the original, whole (the invisible
characters and markup inside it included).

What is stored is :func:`roundtable.services.typed_text.stored_form`: NFC, without invisible format
characters (which carry nothing a reader needs), so that what a later reader
or export sees is what was anonymized.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

from roundtable.services.typed_text import is_invisible, stored_form

# Letters without a decomposition, and ligatures NFKD leaves alone.
_SPELLED_OUT = {"ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
                "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE",
                "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th", "ĸ": "k"}
_CONFUSABLE_TARGETS = re.compile(r"[A-Za-z0-9'\-.:/]")
# Markup that splits a word for the eye of a parser but not of a reader.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 header hr "
    "img li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_MARKUP = re.compile(
    r"(?:<!--.*?-->"
    r"|</?([A-Za-z][A-Za-z0-9]*)\b[^<>]{0,300}>"
    r"|\]\([^()\s]{0,500}\)"
    r"|\]\[[^\[\]\n]{0,100}\]"
    r"|\{[^{}\n]{0,100}\}"
    r"|[*~`\\\[\]^=|])+",
    re.S,
)
# Plain ASCII text without any of these is its own matching text (the common case, kept fast).
_NEEDS_WORK = re.compile(r"[&<*~`\\\[\]^=|{_\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HYPHENS = "\\-\u2010\u2011"
# A hyphen, a line break and any indentation between two letters: a word cut at the end of a line.
_CUT_AT_LINE_END = re.compile(rf"(?<=[^\W\d_])[{_HYPHENS}][ \t]*\r?\n[ \t]*(?=[^\W\d_])")
# Two or more letters standing alone, each one space, dot or hyphen from the next: a word spelled out.
_LETTER_BY_LETTER = re.compile(rf"\b[^\W\d_](?:[ .{_HYPHENS}][^\W\d_]\b)+")
_HYPHEN_AT_LINE_END = re.compile(rf"[{_HYPHENS}][ \t]*\r?\n")  # a cheap first look for _CUT_AT_LINE_END
_RIGHT_TO_LEFT_OVERRIDE = "\u202e"
_POP_DIRECTION = "\u202c"
_DIRECTION_PUSHES = frozenset("\u202a\u202b\u202d\u202e")
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});?")


@functools.lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Each non-ASCII character that looks like an ASCII letter, digit or mark, and that character.

    From the Unicode confusables table shipped by ``confusable-homoglyphs``
    (its ``confusables.json``, read directly: the package's functions look up
    one string at a time).
    """
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    table = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and _CONFUSABLE_TARGETS.fullmatch(h["c"])]
        if not targets:
            continue
        target = next((t for t in targets if t.isalpha()), targets[0])
        if target == "l" and char.isupper():
            target = "I"  # the table's skeleton of I is l; a capital that looks like I is an I
        table[char] = target
    return table


@functools.lru_cache(maxsize=65536)
def _letters(char: str) -> str:
    """What one character of the original contributes to the matching text ("" when invisible)."""
    if is_invisible(char):
        return ""
    if char.isascii():
        return char
    out = []
    confusables = _confusables()
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.combining(part) or unicodedata.category(part) in ("Mn", "Me") or is_invisible(part):
            continue
        if not part.isascii():
            part = _SPELLED_OUT.get(part) or confusables.get(part, part)
        out.append(part)
    return "".join(out)


@dataclass(frozen=True)
class MatchingText:
    """The text detectors see (``text``) and, per character, the stretch of ``original`` it came from."""

    original: str
    text: str
    starts: tuple[int, ...] | None = None  # None: the text is the original, character for character
    ends: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Where ``text[start:end]`` came from in the original."""
        if self.starts is None:
            return start, end
        if end <= start:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        # min and max: a reversed reading (under an override) runs backwards through the original
        return min(self.starts[start:end]), max(self.ends[start:end])


class _Builder:
    """The matching text being built: characters and the original stretch of each."""

    def __init__(self, text: str):
        self.chars = list(text)
        self.starts = list(range(len(text)))
        self.ends = list(range(1, len(text) + 1))

    def string(self) -> str:
        return "".join(self.chars)

    def rewrite(self, pattern: re.Pattern, replace) -> bool:
        """Replace each match of ``pattern`` by ``replace(match)`` (None: leave it); True if anything changed."""
        text = self.string()
        chars, starts, ends = [], [], []
        position = 0
        changed = False
        for match in pattern.finditer(text):
            replacement = replace(match, text)
            if replacement is None:
                continue
            chars += self.chars[position : match.start()]
            starts += self.starts[position : match.start()]
            ends += self.ends[position : match.start()]
            origin = (min(self.starts[match.start() : match.end()]), max(self.ends[match.start() : match.end()]))
            chars += replacement
            starts += [origin[0]] * len(replacement)
            ends += [origin[1]] * len(replacement)
            position = match.end()
            changed = True
        if changed:
            self.chars = chars + self.chars[position:]
            self.starts = starts + self.starts[position:]
            self.ends = ends + self.ends[position:]
        return changed

    def drop_separators(self, pattern: re.Pattern) -> None:
        """In each match of ``pattern`` (letters one separator apart), drop the separators; the letters
        keep their own places in the original."""
        dropped = {m.start() + i for m in pattern.finditer(self.string()) for i in range(1, len(m.group()), 2)}
        if dropped:
            kept = [i for i in range(len(self.chars)) if i not in dropped]
            self.chars = [self.chars[i] for i in kept]
            self.starts = [self.starts[i] for i in kept]
            self.ends = [self.ends[i] for i in kept]

    def add_reversed_readings(self) -> None:
        """After each stretch under a right-to-left override, a line break and the stretch reversed."""
        for start, end in reversed(_overridden_stretches(self.chars)):
            if end - start < 2:
                continue
            stretch = slice(start, end)
            self.chars[end:end] = ["\n", *self.chars[stretch][::-1]]
            self.starts[end:end] = [self.starts[end - 1], *self.starts[stretch][::-1]]
            self.ends[end:end] = [self.ends[end - 1], *self.ends[stretch][::-1]]

    def map_chars(self) -> None:
        chars, starts, ends = [], [], []
        for char, start, end in zip(self.chars, self.starts, self.ends):
            for part in _letters(char):
                chars.append(part)
                starts.append(start)
                ends.append(end)
        self.chars, self.starts, self.ends = chars, starts, ends


def _overridden_stretches(chars: list[str]) -> list[tuple[int, int]]:
    """Where a right-to-left override shows letters in reverse: from U+202E to its U+202C (embeddings
    nest) or the end of the line."""
    stretches = []
    i = 0
    while i < len(chars):
        if chars[i] != _RIGHT_TO_LEFT_OVERRIDE:
            i += 1
            continue
        depth, j = 1, i + 1
        while j < len(chars) and chars[j] != "\n":
            if chars[j] in _DIRECTION_PUSHES:
                depth += 1
            elif chars[j] == _POP_DIRECTION:
                depth -= 1
                if not depth:
                    break
            j += 1
        stretches.append((i + 1, j))
        i = j
    return stretches


def _decode_entity(match: re.Match, _text: str) -> str | None:
    decoded = html.unescape(match.group())
    return decoded if decoded != match.group() else None


def _between_word_characters(text: str, start: int, end: int) -> bool:
    return 0 < start and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()


def _join_split_word(match: re.Match, text: str) -> str | None:
    """Markup between two letters: gone (inline) or a space (a block tag); elsewhere left alone."""
    if not _between_word_characters(text, match.start(), match.end()):
        return None
    tags = re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", match.group())
    return " " if any(tag.lower() in _BLOCK_TAGS for tag in tags) else ""


def _underscore(match: re.Match, text: str) -> str | None:
    """``_emphasis_`` hides a word's edge from ``\\w`` patterns; ``maria_n`` (inside a word) stays."""
    if _between_word_characters(text, match.start(), match.end()):
        return None
    return " " * len(match.group())


def _cut_word(_match: re.Match, _text: str) -> str:
    return ""


def matching_text(text: str) -> MatchingText:
    """The text as a reader reads it, for detectors; see the module docstring."""
    if (text.isascii() and not _NEEDS_WORK.search(text) and not _HYPHEN_AT_LINE_END.search(text)
            and not _LETTER_BY_LETTER.search(text)):
        return MatchingText(text, text)
    built = _Builder(text)
    for _ in range(3):  # "&amp;#97;" is "&#97;" is "a"
        if "&" not in built.string() or not built.rewrite(_ENTITY, _decode_entity):
            break
    if _RIGHT_TO_LEFT_OVERRIDE in built.chars:
        built.add_reversed_readings()
    built.map_chars()
    built.rewrite(_MARKUP, _join_split_word)
    built.rewrite(re.compile(r"_+"), _underscore)
    built.rewrite(_CUT_AT_LINE_END, _cut_word)
    built.drop_separators(_LETTER_BY_LETTER)
    result = built.string()
    if result == text:
        return MatchingText(text, text)
    return MatchingText(text, result, tuple(built.starts), tuple(built.ends))


def fold_for_matching(text: str) -> str:
    """The matching text, lower-cased: how two spellings of one name compare ("Ｎúñez" == "nunez")."""
    return " ".join(matching_text(text).text.lower().split())
