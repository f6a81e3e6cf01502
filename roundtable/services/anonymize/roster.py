"""The people a series knows about: the only place real names live, and how a roster file is read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from roundtable.errors import ValidationError
from roundtable.services.anonymize.normalize import fold_for_matching


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


def load_roster_csv(path_or_text: str | Path) -> Roster:
    """Read a roster CSV (``name,aliases,affiliation,role,consent``) with the one roster parser,
    :func:`roundtable.services.roster.parse_roster_csv` (the web upload and bundles use it too).

    ``path_or_text`` is a path or the CSV text itself. Errors name the file
    and the line and never echo a name.
    """
    from roundtable.services.roster import parse_roster_csv

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
    """A series' roster and kept terms, read from the database."""
    from sqlalchemy import select

    from roundtable.models import KeptTerm, Participant

    people = db.scalars(select(Participant).where(Participant.series_id == series.id)).all()
    kept = db.scalars(select(KeptTerm.term).where(KeptTerm.series_id == series.id)).all()
    return Roster.from_rows(people, series.anonymize_affiliations), list(kept)
