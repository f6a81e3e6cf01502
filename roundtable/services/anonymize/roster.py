"""The people a series knows about: the only place real names live, how a roster file is read, and saving it.

Columns of a roster file: ``name,aliases,affiliation,role,consent`` (aliases separated by ``|``; consent
``named`` or ``anonymous``). Error messages name the file and the line but never echo a name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import JSON, func, select
from sqlalchemy.orm import Session as DbSession

from roundtable.errors import NotFound, ValidationError
from roundtable.models import KeptTerm, Participant, Series
from roundtable.services.anonymize.floor import floor_detectors
from roundtable.services.anonymize.name_memory import remembered_in, remembered_subquery
from roundtable.services.anonymize.normalize import fold_for_matching, matching_text
from roundtable.services.anonymize.spans import NAME
from roundtable.services.csv_cells import spreadsheet_cell, typed_cell
from roundtable.services.typed_text import clean_line, stored_form


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One person on a series' roster (the only place real names live)."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()
    affiliation: str = ""
    role_label: str = "participant"
    consent_named: bool = False


@dataclass(frozen=True)
class Roster:
    """The people a series knows about, and whether their affiliations are hidden.

    Frozen and hashable, so detectors can cache compiled matchers per roster.
    """

    entries: tuple[RosterEntry, ...] = ()
    anonymize_affiliations: bool = True

    @classmethod
    def from_rows(cls, rows: Iterable, anonymize_affiliations: bool = True) -> Roster:
        """Build from ``Participant`` rows, mappings or :class:`RosterEntry` objects."""
        entries = []
        for index, row in enumerate(rows, start=1):
            if isinstance(row, RosterEntry):
                entries.append(row)
                continue
            get = row.get if isinstance(row, dict) else lambda key, default=None, r=row: getattr(r, key, default)
            entries.append(
                RosterEntry(
                    id=get("id") or index,
                    name=(get("name") or "").strip(),
                    aliases=tuple(a.strip() for a in (get("aliases") or ()) if a and a.strip()),
                    affiliation=(get("affiliation") or "").strip(),
                    role_label=(get("role_label") or get("role") or "participant").strip() or "participant",
                    consent_named=bool(get("consent_named", False)),
                )
            )
        return cls(tuple(entries), anonymize_affiliations)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, participant_id: int | None) -> RosterEntry | None:
        for entry in self.entries:
            if entry.id == participant_id:
                return entry
        return None

    def find(self, name_or_alias: str) -> RosterEntry | None:
        """The entry whose display name or alias is ``name_or_alias`` (any case, any accents)."""
        wanted = fold_for_matching(name_or_alias)
        if not wanted:
            return None
        for entry in self.entries:
            if wanted in (fold_for_matching(n) for n in (entry.name, *entry.aliases)):
                return entry
        return None

    def without_consenting(self) -> Roster:
        """Only the people who did not agree to be named (what the export gate looks for)."""
        return Roster(tuple(e for e in self.entries if not e.consent_named), False)


ROSTER_COLUMNS = ("name", "aliases", "affiliation", "role", "consent")
CONSENT_VALUES = ("named", "anonymous")


@dataclass
class RosterRow:
    """One person as read from a roster file (``line`` is where it was)."""

    name: str
    aliases: list[str] = field(default_factory=list)
    affiliation: str = ""
    role: str = "participant"
    consent_named: bool = False
    line: int = 0


def _clean_person(name, aliases, affiliation, role) -> tuple[str, list[str], str, str]:
    """A roster entry's fields as stored, each checked by :func:`clean_line` (lengths as their columns);
    ``aliases`` a list or ``|``-separated as in the CSV. The one check of a person, whichever way they come."""
    if isinstance(aliases, str):
        aliases = aliases.split("|")
    return (clean_line(name or "", "a name", 200),
            [alias for alias in (clean_line(a, "an alias", 200) for a in aliases or ()) if alias],
            clean_line(affiliation or "", "an affiliation", 300),
            clean_line(role or "", "a role", 120))


def new_participant(series_id: int, name, aliases=(), affiliation="", role="", consent_named=False) -> Participant:
    """A person for a series' roster (not yet added to a session), every field checked by :func:`_clean_person`:
    the roster file and form, a bundle and the names a facilitator marks in a note all make people here."""
    name, aliases, affiliation, role = _clean_person(name, aliases, affiliation, role)
    if not name:
        raise ValidationError("the name is empty")
    return Participant(series_id=series_id, name=name, aliases=aliases, affiliation=affiliation,
                       role_label=role or "participant", consent_named=bool(consent_named))


def parse_roster_csv(text: str, filename: str = "roster.csv") -> list[RosterRow]:
    """Validate roster CSV text; the first problem is a ValidationError naming ``filename`` and the line."""
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ValidationError(f"{filename}, line 1: not valid CSV ({exc})") from None
    if header is None:
        raise ValidationError(f"{filename}, line 1: the file is empty; expected the header {','.join(ROSTER_COLUMNS)}")
    if tuple(cell.strip().lower() for cell in header) != ROSTER_COLUMNS:
        raise ValidationError(f"{filename}, line 1: the header must be exactly {','.join(ROSTER_COLUMNS)}")
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValidationError(f"{filename}, line {reader.line_num}: not valid CSV ({exc})") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(ROSTER_COLUMNS):
            raise ValidationError(f"{filename}, line {line}: expected {len(ROSTER_COLUMNS)} columns, found {len(row)}")
        # Checked and stored as typed would be (clean_line): NFC, without invisible characters.
        name, aliases, affiliation, role, consent = (typed_cell(cell) for cell in row)
        consent = stored_form(consent).strip()
        try:
            name, alias_list, affiliation, role = _clean_person(name, aliases, affiliation, role)
        except ValidationError as exc:
            raise ValidationError(f"{filename}, line {line}: {exc}") from None
        if not name:
            raise ValidationError(f"{filename}, line {line}: the name is empty")
        consent = consent.lower() or "anonymous"
        if consent not in CONSENT_VALUES:
            raise ValidationError(f"{filename}, line {line}: consent must be 'named' or 'anonymous'")
        key = fold_for_matching(name)  # "Núñez" and "NUNEZ" are one person
        if key in seen:
            raise ValidationError(f"{filename}, line {line}: the same name is already on line {seen[key]}")
        seen[key] = line
        rows.append(
            RosterRow(
                name=name,
                aliases=alias_list,
                affiliation=affiliation,
                role=role or "participant",
                consent_named=consent == "named",
                line=line,
            )
        )
    return rows


def roster_csv(participants) -> str:
    """Participants as roster CSV text, each cell safe to open in a spreadsheet (:mod:`.csv_cells`; the
    roster parser reads it back as it was)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_COLUMNS)
    for p in participants:
        writer.writerow([spreadsheet_cell(cell) for cell in (p.name, "|".join(p.aliases or []), p.affiliation,
                                                            p.role_label, "named" if p.consent_named else "anonymous")])
    return out.getvalue()


def load_roster_csv(path_or_text: str | Path) -> Roster:
    """Read a roster CSV (``name,aliases,affiliation,role,consent``) with the one roster parser,
    :func:`parse_roster_csv` (the web upload and bundles use it too).

    ``path_or_text`` is a path or the CSV text itself. Errors name the file
    and the line and never echo a name.
    """
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and "," not in path_or_text):
        path = Path(path_or_text)
        try:
            text, filename = path.read_text(encoding="utf-8-sig"), path.name
        except FileNotFoundError:
            raise ValidationError(f"roster file {path} does not exist") from None
        except UnicodeDecodeError:
            raise ValidationError(f"roster file {path} is not UTF-8 text") from None
        except OSError as exc:
            raise ValidationError(f"roster file {path} cannot be read: {exc.strerror}") from None
    else:
        text, filename = path_or_text, "roster.csv"
    rows = parse_roster_csv(text, filename)
    return Roster(tuple(
        RosterEntry(id=i, name=row.name, aliases=tuple(row.aliases), affiliation=row.affiliation,
                    role_label=row.role, consent_named=row.consent_named)
        for i, row in enumerate(rows, start=1)
    ))


def roster_and_kept_terms(db, series) -> tuple[Roster, list[str]]:
    """A series' roster (in the order people were added) and kept terms (sorted), read from the database in
    one query: the live path reads them for every note, and each round trip counts (docs/performance.md)."""
    roster, kept, _remembered = roster_kept_terms_and_remembered(db, series)
    return roster, kept


def roster_kept_terms_and_remembered(db, series, session_id: int | None = None,
                                     digests: Collection[bytes] = ()) -> tuple[Roster, list[str], set[bytes]]:
    """:func:`roster_and_kept_terms`, and which of ``digests`` the session ``session_id``'s memory of names
    holds (:mod:`.name_memory`), in the same query: a live note's memory look-up costs no round trip."""
    aggregate = func.json_agg if db.get_bind().dialect.name == "postgresql" else func.json_group_array
    kept_terms = select(aggregate(KeptTerm.term, type_=JSON)).where(KeptTerm.series_id == series.id)
    columns = [Participant, kept_terms.scalar_subquery()]
    if digests:
        columns.append(remembered_subquery(db, session_id, digests))
    rows = db.execute(
        select(*columns).select_from(Series)
        .outerjoin(Participant, Participant.series_id == Series.id).where(Series.id == series.id)
        .order_by(Participant.id)
    ).all()
    people = [row[0] for row in rows if row[0] is not None]
    kept = sorted(rows[0][1] or []) if rows else []  # PostgreSQL's json_agg of no rows is NULL
    remembered = remembered_in(rows[0][2]) if digests and rows else set()
    return Roster.from_rows(people, bool(series.anonymize_affiliations)), kept, remembered


def refuse_roles_naming_someone(people: list[Participant], where=lambda person: "") -> None:
    """Refuse a role holding a name or alias of ``people`` (the whole roster as it will be saved): every
    member sees roles (the composer's speaker list, a note's speaker, the brief's attributions), so a role
    "assistant to <name>" would show the name to all of them. ``where(person)`` starts the message."""
    roster_detector, _contact_details = floor_detectors()
    # Read as the anonymizer reads a note (entities decoded, letters spaced out joined): what a member would read.
    found = roster_detector.detect([matching_text(person.role_label or "").text for person in people],
                                   Roster.from_rows(people))
    for person, spans in zip(people, found):
        if any(span.kind == NAME for span in spans):
            message = "a role cannot hold a name or alias on the roster: every member sees roles"
            prefix = where(person)
            raise ValidationError(f"{prefix}{message}" if prefix else message[0].upper() + message[1:])


def save_roster(db: DbSession, series: Series, rows: list[RosterRow]) -> tuple[int, int]:
    """Add or update people by name (case-insensitive); nobody is removed. Returns ``(added, updated)``."""
    existing = {p.name.casefold(): p for p in db.scalars(select(Participant).where(Participant.series_id == series.id))}
    added = updated = 0
    for row in rows:
        person = existing.get(row.name.casefold())
        if person is None:
            person = new_participant(series.id, row.name, row.aliases, row.affiliation, row.role, row.consent_named)
            db.add(person)
            existing[row.name.casefold()] = person
            added += 1
            continue
        updated += 1
        person.aliases = list(row.aliases)
        person.affiliation = row.affiliation
        person.role_label = row.role
        person.consent_named = row.consent_named
    lines = {row.name.casefold(): row.line for row in rows}
    refuse_roles_naming_someone(list(existing.values()),
                                lambda person: f"line {lines[person.name.casefold()]}: "
                                if person.name.casefold() in lines else "")
    db.flush()
    return added, updated


# The role a name marked by a facilitator gets on the roster: what the "role" policy writes in its place.
MARKED_PERSON_ROLE = "person named in notes"


def add_marked_people(db: DbSession, series: Series, names: Iterable[str]) -> list[str]:
    """Put names a facilitator marked in a note on the series' roster (not consenting to be named), so that
    every later note, export and brief of the series replaces them too; a name already on it (as a name or an
    alias, in any case) is left alone. Returns the names added (as stored)."""
    known = {known.casefold() for person in db.scalars(select(Participant).where(Participant.series_id == series.id))
             for known in (person.name, *person.aliases)}
    added = []
    for name in names:
        person = new_participant(series.id, name, role=MARKED_PERSON_ROLE)
        if person.name.casefold() not in known:
            db.add(person)
            known.add(person.name.casefold())
            added.append(person.name)
    db.flush()
    return added


def update_participant(db: DbSession, series: Series, participant_id: int, *, name: str, aliases: str,
                       affiliation: str, role: str, consent_named: bool) -> Participant:
    """Edit one person; ``aliases`` is ``|``-separated as in the CSV."""
    person = db.get(Participant, participant_id)
    if person is None or person.series_id != series.id:
        raise NotFound("no such person on this roster")
    name, alias_list, affiliation, role = _clean_person(name, aliases, affiliation, role)
    if not name:
        raise ValidationError("the name cannot be empty")
    for other in db.scalars(select(Participant).where(Participant.series_id == series.id, Participant.id != person.id)):
        if other.name.casefold() == name.casefold():
            raise ValidationError("someone else on the roster already has this name")
    person.name = name
    person.aliases = alias_list
    person.affiliation = affiliation
    person.role_label = role or "participant"
    person.consent_named = bool(consent_named)
    refuse_roles_naming_someone(list(db.scalars(select(Participant).where(Participant.series_id == series.id))))
    db.flush()
    return person
