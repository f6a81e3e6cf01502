"""A series' codebook: themes and sub-themes, their file formats and their edits.

The codebook has two levels. A top-level theme belongs to a section of the brief
(``Key Themes`` by default); a sub-theme becomes a bolded lead-in bullet under
its theme. Codebooks travel as YAML (``themes:`` list, see ``docs/tagging.md``)
and as a REFI-QDA codebook (``.qdc``, the exchange format of NVivo, ATLAS.ti and
MAXQDA). In the database a codebook is the series' ``Theme`` rows; the edit
functions here keep every tag when themes are renamed, merged, split,
reordered or retired.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from sqlalchemy import func, select

from roundtable.errors import NotFound, ValidationError
from roundtable.models import MAX_DATABASE_ID, Note, NoteTag, Series, TagStatus, Theme
from roundtable.services.anonymize import authored_line, authored_text_anonymizer
from roundtable.services.note_changes import record_change
from roundtable.services.typed_text import clean_line

DEFAULT_SECTION = "Key Themes"
QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"
QDC_SCHEMA_LOCATION = "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd"
# Stable GUIDs for themes that never had one: the same codebook exports the same file.
_GUID_NAMESPACE = uuid.UUID("5d3c1f0e-7b8a-4c1e-9f55-2a6f0e9c4b71")
_COLOR = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
_THEME_KEYS = {"name", "description", "keywords", "color", "section", "children"}
# Used when a theme has no colour of its own (colour-blind safe, Okabe-Ito plus greys).
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
    "#D55E00", "#CC79A7", "#999999", "#332288", "#88CCEE",
)


@dataclass
class ThemeSpec:
    """One theme as written in a codebook file (``id`` is set when read from the database)."""

    name: str
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    color: str = ""
    section: str = DEFAULT_SECTION
    children: list[ThemeSpec] = field(default_factory=list)
    id: int | None = None
    guid: str | None = None

    def to_dict(self, top_level: bool = True) -> dict:
        data: dict = {"name": self.name}
        if self.description:
            data["description"] = self.description
        if self.keywords:
            data["keywords"] = list(self.keywords)
        if self.color:
            data["color"] = self.color
        if top_level and self.section != DEFAULT_SECTION:
            data["section"] = self.section
        if self.children:
            data["children"] = [c.to_dict(top_level=False) for c in self.children]
        return data


@dataclass
class Codebook:
    """A two-level list of themes."""

    themes: list[ThemeSpec] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[ThemeSpec, ThemeSpec | None]]:
        """Every theme with its parent (``None`` for top-level themes), in order."""
        for theme in self.themes:
            yield theme, None
            for child in theme.children:
                yield child, theme

    def _located(self, name: str) -> tuple[ThemeSpec | None, ThemeSpec | None]:
        """The theme or sub-theme called ``name`` (case-insensitive) and its parent; ``(None, None)`` if none."""
        key = name.strip().casefold()
        return next(((theme, parent) for theme, parent in self.walk() if theme.name.casefold() == key), (None, None))

    def find(self, name: str) -> ThemeSpec | None:
        """The theme or sub-theme called ``name`` (case-insensitive)."""
        return self._located(name)[0]

    def top_level_of(self, name: str) -> str | None:
        """The top-level theme a theme or sub-theme belongs to."""
        theme, parent = self._located(name)
        return None if theme is None else (parent or theme).name

    def names(self, level: str = "top") -> list[str]:
        """Theme names at a level: ``top`` themes, or ``sub`` (sub-themes, and themes without any)."""
        if level == "top":
            return [t.name for t in self.themes]
        if level == "sub":
            names = []
            for theme in self.themes:
                names.extend(c.name for c in theme.children) if theme.children else names.append(theme.name)
            return names
        raise ValidationError(f"unknown level {level!r}: use 'top' or 'sub'")

    def sections(self) -> list[str]:
        """The brief sections the top-level themes belong to, in codebook order."""
        return list(dict.fromkeys(t.section for t in self.themes))

    def section_of(self, name: str) -> str | None:
        """The section of a theme or sub-theme (a sub-theme is in its parent's section)."""
        theme, parent = self._located(name)
        return None if theme is None else (parent or theme).section

    def flatten(self, level: str = "top") -> Codebook:
        """A one-level codebook for suggesters.

        At ``top`` each theme absorbs its sub-themes' names, descriptions and
        keywords; at ``sub`` the sub-themes become the themes, each keeping its
        parent's name as a keyword for context.
        """
        if level == "top":
            flat = []
            for theme in self.themes:
                words = list(theme.keywords)
                extra = []
                for child in theme.children:
                    words.append(child.name)
                    words.extend(child.keywords)
                    if child.description:
                        extra.append(child.description)
                description = " ".join([theme.description, *extra]).strip()
                flat.append(replace(theme, description=description, keywords=words, children=[]))
            return Codebook(flat)
        if level == "sub":
            flat = []
            for theme in self.themes:
                if not theme.children:
                    flat.append(replace(theme, children=[]))
                for child in theme.children:
                    flat.append(
                        replace(child, keywords=[*child.keywords, theme.name], section=theme.section, children=[])
                    )
            return Codebook(flat)
        raise ValidationError(f"unknown level {level!r}: use 'top' or 'sub'")

    def to_dict(self) -> dict:
        return {"themes": [t.to_dict() for t in self.themes]}

    @classmethod
    def from_dict(cls, data) -> Codebook:
        """Validate a parsed YAML/JSON mapping; raises ``ValidationError`` naming the bad item."""
        if not isinstance(data, dict):
            raise ValidationError("codebook: expected a mapping with a 'themes:' list")
        unknown = set(data) - {"themes"}
        if unknown:
            raise ValidationError(f"codebook: unknown key(s) {', '.join(sorted(map(str, unknown)))}; expected 'themes'")
        items = data.get("themes")
        if not isinstance(items, list) or not items:
            raise ValidationError("codebook: 'themes' must be a non-empty list of themes")
        themes = [_theme_from_dict(item, f"themes[{i}]", top_level=True) for i, item in enumerate(items)]
        codebook = cls(themes)
        _check_unique_names(codebook)
        return codebook


def _theme_from_dict(item, where: str, top_level: bool) -> ThemeSpec:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise ValidationError(f"codebook: {where} must be a mapping with at least a 'name'")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"codebook: {where} has no 'name' (a non-empty string)")
    name = _in_file(where, _clean_name, name)
    label = f"{where} ({name!r})"
    unknown = set(item) - _THEME_KEYS
    if unknown:
        raise ValidationError(
            f"codebook: {label} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(_THEME_KEYS))}"
        )
    description = item.get("description") or ""
    if not isinstance(description, str):
        raise ValidationError(f"codebook: {label} 'description' must be text")
    keywords = item.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",") if k.strip()]
    if not isinstance(keywords, list) or not all(isinstance(k, (str, int, float)) for k in keywords):
        raise ValidationError(f"codebook: {label} 'keywords' must be a list of words")
    color = item.get("color") or ""
    if not isinstance(color, str) or (color and not _COLOR.match(color.strip())):
        raise ValidationError(f"codebook: {label} 'color' must look like #1f77b4 or #abc")
    section = item.get("section", DEFAULT_SECTION)
    if not top_level and "section" in item:
        raise ValidationError(f"codebook: {label} is a sub-theme; only top-level themes have a 'section'")
    if not isinstance(section, str) or not section.strip():
        raise ValidationError(f"codebook: {label} 'section' must be a non-empty string")
    children_raw = item.get("children") or []
    if children_raw and not top_level:
        raise ValidationError(f"codebook: {label} is a sub-theme and cannot have children (two levels at most)")
    if not isinstance(children_raw, list):
        raise ValidationError(f"codebook: {label} 'children' must be a list of sub-themes")
    children = [
        _theme_from_dict(child, f"{where}.children[{j}]", top_level=False) for j, child in enumerate(children_raw)
    ]
    return ThemeSpec(
        name=name,
        description=_in_file(label, _clean_description, description),
        keywords=_in_file(label, _clean_keywords, [str(k) for k in keywords]),
        color=color.strip(),
        section=_in_file(label, _clean_section, section),
        children=children,
    )


def _in_file(where: str, clean, value):
    """``clean(value)``, its error naming the theme's place in the codebook file."""
    try:
        return clean(value)
    except ValidationError as exc:
        raise ValidationError(f"codebook: {where}: {exc}") from None


def _check_unique_names(codebook: Codebook) -> None:
    seen: dict[str, str] = {}
    for theme, _parent in codebook.walk():
        key = theme.name.casefold()
        if key in seen:
            raise ValidationError(f"codebook: theme name {theme.name!r} is used twice; names must be unique")
        seen[key] = theme.name


# --- YAML ---------------------------------------------------------------------------------


def load_codebook(text: str) -> Codebook:
    """Parse and validate codebook YAML."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValidationError(f"codebook: not valid YAML{where}") from exc
    return Codebook.from_dict(data)


def load_codebook_file(path) -> Codebook:
    """Read a codebook from a ``.yaml``/``.yml`` or REFI-QDA ``.qdc`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"codebook: cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ValidationError(f"codebook: {path} is not UTF-8 text") from None
    if path.suffix.lower() == ".qdc" or text.lstrip().startswith("<"):
        return codebook_from_qdc(text)
    return load_codebook(text)


def dump_codebook(codebook: Codebook) -> str:
    """The codebook as YAML, in the format ``load_codebook`` reads."""
    return yaml.safe_dump(codebook.to_dict(), sort_keys=False, allow_unicode=True, width=100)


# --- REFI-QDA codebook (.qdc) ----------------------------------------------------------------


def _guid(theme: ThemeSpec, parent: ThemeSpec | None) -> str:
    if theme.guid:
        return theme.guid
    path = f"{parent.name}/{theme.name}" if parent else theme.name
    return str(uuid.uuid5(_GUID_NAMESPACE, path.casefold()))


def codebook_to_qdc(codebook: Codebook, origin: str = "Roundtable") -> str:
    """The codebook as a REFI-QDA ``.qdc`` document (valid against Codebook.xsd v1.0).

    REFI-QDA has no keywords or brief sections; they travel in the code's
    ``Description`` after the sentence, on lines ``Keywords: ...`` and
    ``Section: ...`` that ``codebook_from_qdc`` reads back.
    """
    ET.register_namespace("", QDC_NAMESPACE)
    ns = "{%s}" % QDC_NAMESPACE
    root = ET.Element(ns + "CodeBook", {"origin": origin})
    codes = ET.SubElement(root, ns + "Codes")

    def add(parent_el, theme: ThemeSpec, parent: ThemeSpec | None):
        attrs = {"guid": _guid(theme, parent), "name": theme.name, "isCodable": "true"}
        if theme.color:
            attrs["color"] = _long_color(theme.color)
        el = ET.SubElement(parent_el, ns + "Code", attrs)
        lines = [theme.description] if theme.description else []
        if theme.keywords:
            lines.append("Keywords: " + ", ".join(theme.keywords))
        if parent is None and theme.section != DEFAULT_SECTION:
            lines.append("Section: " + theme.section)
        if lines:
            ET.SubElement(el, ns + "Description").text = "\n".join(lines)
        for child in theme.children:
            add(el, child, theme)

    for theme in codebook.themes:
        add(codes, theme, None)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _long_color(color: str) -> str:
    color = color.strip()
    if len(color) == 4:
        color = "#" + "".join(c * 2 for c in color[1:])
    return color.upper()


def codebook_from_qdc(text: str) -> Codebook:
    """Read a REFI-QDA codebook; codes deeper than two levels fold into their sub-theme."""
    try:
        root = ET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except ET.ParseError as exc:
        raise ValidationError(f"codebook: not a valid .qdc XML file ({exc})") from exc
    ns = "{%s}" % QDC_NAMESPACE
    if root.tag != ns + "CodeBook":
        raise ValidationError("codebook: .qdc root element must be CodeBook in namespace urn:QDA-XML:codebook:1.0")
    codes = root.find(ns + "Codes")
    if codes is None:
        raise ValidationError("codebook: .qdc file has no Codes element")

    def read(el, where: str, top_level: bool) -> ThemeSpec:
        name = (el.get("name") or "").strip()
        if not name:
            raise ValidationError(f"codebook: .qdc {where} has no name")
        desc_el = el.find(ns + "Description")
        description, keywords, section = "", [], DEFAULT_SECTION
        for line in (desc_el.text or "").splitlines() if desc_el is not None else []:
            if line.startswith("Keywords:"):
                keywords = [k.strip() for k in line[len("Keywords:"):].split(",") if k.strip()]
            elif line.startswith("Section:") and top_level:
                section = line[len("Section:"):].strip() or DEFAULT_SECTION
            elif line.strip():
                description = f"{description} {line.strip()}".strip()
        name = _in_file(f".qdc {where}", _clean_name, name)
        label = f".qdc {where} ({name!r})"
        theme = ThemeSpec(
            name=name, description=_in_file(label, _clean_description, description),
            keywords=_in_file(label, _clean_keywords, keywords), color=el.get("color") or "",
            section=_in_file(label, _clean_section, section), guid=el.get("guid"),
        )
        for j, child in enumerate(el.findall(ns + "Code")):
            sub = read(child, f"{where}/Code[{j}] ({name!r})", top_level=False)
            if top_level:
                theme.children.append(sub)
            else:  # a third level: keep its words on the sub-theme rather than lose them
                theme.keywords.extend([sub.name, *sub.keywords, *(c.name for c in sub.children)])
        return theme

    themes = [read(el, f"Code[{i}]", True) for i, el in enumerate(codes.findall(ns + "Code"))]
    if not themes:
        raise ValidationError("codebook: .qdc file has no codes")
    codebook = Codebook(themes)
    _check_unique_names(codebook)
    return codebook


# --- database ---------------------------------------------------------------------------------


def _series_id(series) -> int:
    return series if isinstance(series, int) else series.id


def _spec(theme: Theme, children: list[ThemeSpec]) -> ThemeSpec:
    return ThemeSpec(
        name=theme.name, description=theme.description or "", keywords=list(theme.keywords or []),
        color=theme.color or "", section=theme.section or DEFAULT_SECTION, children=children, id=theme.id,
    )


def series_themes(db, series, include_retired: bool = False) -> list[Theme]:
    """A series' theme rows in codebook order (parents before their children)."""
    stmt = select(Theme).where(Theme.series_id == _series_id(series))
    if not include_retired:
        stmt = stmt.where(Theme.retired.is_(False))
    rows = db.scalars(stmt.order_by(Theme.position, Theme.id)).all()
    ordered = []
    for top in (t for t in rows if t.parent_id is None):
        ordered.append(top)
        ordered.extend(t for t in rows if t.parent_id == top.id)
    return ordered


def theme_colors(themes: list[Theme]) -> dict[int, str]:
    """Theme id -> colour: its own, else its parent's, else the palette's by the top-level theme's place.

    ``themes`` in codebook order (:func:`series_themes`).
    """
    tops = [t for t in themes if t.parent_id is None]
    top_colors = {t.id: t.color or PALETTE[place % len(PALETTE)] for place, t in enumerate(tops)}
    return {t.id: t.color or top_colors.get(t.parent_id or t.id, PALETTE[0]) for t in themes}


def codebook_for_series(db, series, include_retired: bool = False) -> Codebook:
    """The series' codebook as dataclasses (retired themes left out unless asked)."""
    rows = series_themes(db, series, include_retired=include_retired)
    themes = []
    for top in (t for t in rows if t.parent_id is None):
        children = [_spec(c, []) for c in rows if c.parent_id == top.id]
        themes.append(_spec(top, children))
    return Codebook(themes)


def get_theme(db, series, theme_id: int) -> Theme:
    # An id no row can have is not looked up: past 64 bits the database driver raises, a server error.
    theme = db.get(Theme, theme_id) if 0 < theme_id <= MAX_DATABASE_ID else None
    if theme is None or theme.series_id != _series_id(series):
        raise NotFound(f"theme {theme_id} not found in this series")
    return theme


def _name_taken(db, series, name: str, except_id: int | None = None) -> bool:
    stmt = select(Theme.id).where(
        Theme.series_id == _series_id(series), func.lower(Theme.name) == name.strip().lower()
    )
    if except_id is not None:
        stmt = stmt.where(Theme.id != except_id)
    return db.scalar(stmt.limit(1)) is not None


# Each theme field's check (typed_text.clean_line): its name in a message and its longest, as its column
# (a description's column is unbounded: 2,000 characters is ten times the longest seen in a real codebook).


def _clean_name(name) -> str:
    name = clean_line(name or "", "a theme name", 200)
    if not name:
        raise ValidationError("a theme needs a name")
    return name


def _clean_description(description) -> str:
    return clean_line(description or "", "a theme description", 2000)


def _clean_keywords(keywords) -> list[str]:
    return [k for k in (clean_line(k, "a keyword", 200) for k in keywords or []) if k]


def _clean_section(section) -> str:
    return clean_line(section or "", "a section", 120) or DEFAULT_SECTION


def _next_position(db, series, parent_id: int | None) -> int:
    stmt = select(func.max(Theme.position)).where(Theme.series_id == _series_id(series))
    stmt = stmt.where(Theme.parent_id.is_(None) if parent_id is None else Theme.parent_id == parent_id)
    current = db.scalar(stmt)
    return 0 if current is None else current + 1


def save_codebook(db, series, codebook: Codebook, *, roundtable) -> list[Theme]:
    """Make the series' themes match ``codebook`` without losing any tag.

    Themes are matched by name (case-insensitive): matching rows are updated
    (and un-retired), new names are created, and themes missing from the
    codebook are retired, so their tags stay in the history. Every field passes
    the anonymizer, with the pseudonym key of the application ``roundtable``.
    """
    codebook = _anonymized_codebook(db, series, codebook, roundtable)
    _check_unique_names(codebook)
    series_id = _series_id(series)
    existing = {t.name.casefold(): t for t in db.scalars(select(Theme).where(Theme.series_id == series_id))}
    kept: set[int] = set()
    saved: list[Theme] = []

    def upsert(spec: ThemeSpec, parent: Theme | None, position: int) -> Theme:
        row = existing.get(spec.name.casefold())
        if row is None:
            row = Theme(series_id=series_id, name=spec.name)
            db.add(row)
            existing[spec.name.casefold()] = row
        row.name = spec.name
        row.description = spec.description
        row.keywords = list(spec.keywords)
        row.color = spec.color
        row.section = parent.section if parent is not None else spec.section
        row.parent = parent
        row.position = position
        row.retired = False
        db.flush()
        kept.add(row.id)
        saved.append(row)
        return row

    for i, spec in enumerate(codebook.themes):
        top = upsert(spec, None, i)
        for j, child in enumerate(spec.children):
            upsert(child, top, j)
    for row in existing.values():
        if row.id not in kept:
            row.retired = True
    db.flush()
    return saved


def _anonymizer(db, series, roundtable):
    """Every theme field reaches the brief or a download: no non-consenting name, email or phone."""
    series = series if isinstance(series, Series) else db.get(Series, _series_id(series))
    return authored_text_anonymizer(db, series, roundtable=roundtable)


def _anonymized_codebook(db, series, codebook: Codebook, roundtable) -> Codebook:
    """``codebook`` with every name, description, keyword and section anonymized (the file's order kept)."""
    anonymize = _anonymizer(db, series, roundtable)

    def spec(theme: ThemeSpec) -> ThemeSpec:
        # Checked again after anonymizing: a role in place of a name can make a field longer than its column.
        return replace(
            theme, name=_clean_name(anonymize(theme.name)), description=_clean_description(anonymize(theme.description)),
            keywords=_clean_keywords(anonymize(k) for k in theme.keywords),
            section=_clean_section(anonymize(theme.section)), children=[spec(child) for child in theme.children],
        )

    return Codebook([spec(theme) for theme in codebook.themes])


def create_theme(
    db, series, name: str, description: str = "", keywords=(), color: str = "",
    section: str = DEFAULT_SECTION, parent_id: int | None = None, *, roundtable,
) -> Theme:
    """Add a theme (or a sub-theme under ``parent_id``) at the end of its level; its text passes the
    anonymizer with the pseudonym key of the application ``roundtable``."""
    anonymize = _anonymizer(db, series, roundtable)
    name = _clean_name(authored_line(anonymize, name or "", "a theme name", 200))
    description = authored_line(anonymize, description or "", "a theme description", 2000)
    keywords = _clean_keywords(authored_line(anonymize, k, "a keyword", 200) for k in keywords)
    section = authored_line(anonymize, section or "", "a section", 120) or DEFAULT_SECTION
    if _name_taken(db, series, name):
        raise ValidationError(f"a theme called {name!r} already exists in this series")
    if color and not _COLOR.match(color):
        raise ValidationError("a theme colour must look like #1f77b4")
    parent = None
    if parent_id is not None:
        parent = get_theme(db, series, parent_id)
        if parent.parent_id is not None:
            raise ValidationError("sub-themes cannot have sub-themes (two levels at most)")
    theme = Theme(
        series_id=_series_id(series), name=name, description=description, keywords=keywords, color=color,
        section=parent.section if parent else section,
        parent_id=parent_id, position=_next_position(db, series, parent_id),
    )
    db.add(theme)
    db.flush()
    return theme


def update_theme(db, series, theme_id: int, *, roundtable, **fields) -> Theme:
    """Change a theme's name, description, keywords, colour or section (anonymized as in :func:`create_theme`)."""
    theme = get_theme(db, series, theme_id)
    anonymize = _anonymizer(db, series, roundtable)
    if "name" in fields:
        name = _clean_name(authored_line(anonymize, fields.pop("name") or "", "a theme name", 200))
        if _name_taken(db, series, name, except_id=theme.id):
            raise ValidationError(f"a theme called {name!r} already exists in this series")
        theme.name = name
    if "description" in fields:
        theme.description = authored_line(anonymize, fields.pop("description") or "", "a theme description", 2000)
    if "keywords" in fields:
        theme.keywords = _clean_keywords(authored_line(anonymize, k, "a keyword", 200)
                                         for k in fields.pop("keywords") or [])
    if "color" in fields:
        color = (fields.pop("color") or "").strip()
        if color and not _COLOR.match(color):
            raise ValidationError("a theme colour must look like #1f77b4")
        theme.color = color
    if "section" in fields:
        section = authored_line(anonymize, fields.pop("section") or "", "a section", 120) or DEFAULT_SECTION
        theme.section = section
        for child in theme.children:
            child.section = section
    if fields:
        raise ValidationError(f"unknown theme field(s): {', '.join(sorted(fields))}")
    db.flush()
    return theme


def rename_theme(db, series, theme_id: int, new_name: str, *, roundtable) -> Theme:
    """Rename a theme; its tags follow it (they point at the theme, not the name)."""
    return update_theme(db, series, theme_id, name=new_name, roundtable=roundtable)


def _move_tags(db, source: Theme, target: Theme, note_ids=None) -> int:
    """Move tags from ``source`` to ``target``; where a note has both, keep the stronger tag."""
    rank = {"accepted": 2, "suggested": 1, "rejected": 0}
    stmt = select(NoteTag).where(NoteTag.theme_id == source.id)
    if note_ids is not None:
        stmt = stmt.where(NoteTag.note_id.in_(list(note_ids)))
    moved = 0
    tags = db.scalars(stmt).all()
    for tag in tags:
        other = db.scalar(select(NoteTag).where(NoteTag.note_id == tag.note_id, NoteTag.theme_id == target.id))
        if other is None:
            tag.theme_id = target.id
        else:
            if rank[_status(tag)] > rank[_status(other)]:
                other.status, other.source, other.confidence = tag.status, tag.source, tag.confidence
            db.delete(tag)
        moved += 1
    db.flush()
    record_change(db, [tag.note_id for tag in tags])  # a live page that was offline fetches these notes again
    return moved


def _status(tag: NoteTag) -> str:
    return getattr(tag.status, "value", tag.status)


def merge_themes(db, series, source_id: int, target_id: int) -> Theme:
    """Merge ``source`` into ``target``: its tags and sub-themes move over, then it is deleted."""
    if source_id == target_id:
        raise ValidationError("cannot merge a theme into itself")
    source = get_theme(db, series, source_id)
    target = get_theme(db, series, target_id)
    if target.parent_id == source.id:
        raise ValidationError("cannot merge a theme into one of its own sub-themes")
    _move_tags(db, source, target)
    for child in list(source.children):
        if target.parent_id is None:
            child.parent_id = target.id
            child.section = target.section
            child.position = _next_position(db, series, target.id)
        else:  # target is a sub-theme: grandchildren are not allowed, fold them in too
            _move_tags(db, child, target)
            db.delete(child)
    db.flush()
    db.expire(source, ["children"])
    db.delete(source)
    db.flush()
    return target


def split_theme(db, series, theme_id: int, new_names, assignments: dict | None = None, *, roundtable) -> list[Theme]:
    """Split a theme: add sibling themes ``new_names`` and move the tags of the notes in
    ``assignments`` (note id -> new theme name) to them; other tags stay where they were."""
    theme = get_theme(db, series, theme_id)
    names = [_clean_name(n) for n in new_names]
    if not names:
        raise ValidationError("a split needs at least one new theme name")
    assignments = dict(assignments or {})
    created = {}
    for name in names:
        created[name.casefold()] = create_theme(
            db, series, name, section=theme.section, color="", parent_id=theme.parent_id, roundtable=roundtable,
        )
    by_target: dict[int, list[int]] = {}
    for note_id, name in assignments.items():
        target = created.get(str(name).casefold())
        if target is None:
            raise ValidationError(f"split: {name!r} is not one of the new themes")
        by_target.setdefault(target.id, []).append(int(note_id))
    for target_id, note_ids in by_target.items():
        _move_tags(db, theme, db.get(Theme, target_id), note_ids=note_ids)
    return list(created.values())


def reorder_themes(db, series, ordered_ids, parent_id: int | None = None) -> None:
    """Set the order of the top-level themes (or of one theme's sub-themes)."""
    ordered_ids = [int(i) for i in ordered_ids]
    rows = {t.id: t for t in series_themes(db, series, include_retired=True) if t.parent_id == parent_id}
    if set(ordered_ids) - set(rows):
        raise ValidationError("reorder: some theme ids are not themes at this level of this series")
    rest = [i for i in sorted(rows, key=lambda i: rows[i].position) if i not in ordered_ids]
    for position, theme_id in enumerate([*ordered_ids, *rest]):
        rows[theme_id].position = position
    db.flush()


def retire_theme(db, series, theme_id: int, retired: bool = True) -> Theme:
    """Hide a theme (and its sub-themes) from the codebook; tags stay for history. ``retired=False`` restores it."""
    theme = get_theme(db, series, theme_id)
    theme.retired = retired
    for child in theme.children:
        child.retired = retired
    db.flush()
    return theme


def tag_counts(db, series) -> dict[int, int]:
    """Accepted tags per theme id, for the codebook page."""
    stmt = (
        select(NoteTag.theme_id, func.count(NoteTag.id))
        .join(Theme, Theme.id == NoteTag.theme_id)
        .join(Note, Note.id == NoteTag.note_id)
        .where(Theme.series_id == _series_id(series), NoteTag.status == TagStatus.ACCEPTED, Note.deleted_at.is_(None))
        .group_by(NoteTag.theme_id)
    )
    return {theme_id: count for theme_id, count in db.execute(stmt)}


__all__ = [
    "DEFAULT_SECTION", "Codebook", "ThemeSpec", "codebook_for_series", "codebook_from_qdc",
    "codebook_to_qdc", "create_theme", "dump_codebook", "get_theme", "load_codebook", "load_codebook_file",
    "merge_themes", "rename_theme", "reorder_themes", "retire_theme", "save_codebook", "series_themes",
    "split_theme", "tag_counts", "update_theme",
]
