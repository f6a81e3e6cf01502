"""Replacement policies: what a found identity becomes (a role, a pseudonym or a bracketed kind)."""

from __future__ import annotations

import re

from roundtable.services.anonymize.spans import AFFILIATION, EMAIL, HANDLE, NAME, PERSON, PHONE, URL, fold


POLICIES = ("role", "pseudonym", "redact")

REDACT_LABELS = {
    NAME: "[name]",
    PERSON: "[name]",
    AFFILIATION: "[organization]",
    EMAIL: "[email]",
    PHONE: "[phone]",
    HANDLE: "[handle]",
    URL: "[link]",
}

# --- replacement policies ------------------------------------------------------------------

ARTICLES = ("a ", "an ", "the ")
# Speaker values that are roles already, not people.
GENERIC_ROLES = frozenset((
    "participant", "participants", "several participants", "facilitator", "co-facilitator", "moderator",
    "note-taker", "notetaker", "chair", "co-chair", "host", "speaker", "panelist", "presenter", "audience",
    "audience member", "guest", "observer", "organizer", "staff", "unknown", "someone", "everyone",
))
PSEUDONYM_LABEL = re.compile(r"^(?:Participant|Person) [A-Z]{1,3}$")


def with_article(label: str) -> str:
    """"legal advocate" -> "a legal advocate"; labels with an article stay as they are."""
    label = " ".join(label.split()) or "participant"
    if label.lower().startswith(ARTICLES):
        return label
    return ("an " if label[0].lower() in "aeiou" else "a ") + label


# Generic labels for affiliations under the role policy, first match wins.
_AFFILIATION_LABELS = (
    (("city of", "department", "dept", "agency", "council", "mayor", "municipal", "county", "ministry", "office of", "authority", "bureau", "commission", "state of"), "a public agency"),
    (("university", "college", "institute of technology", "school of", "academy"), "a university"),
    (("school", "district"), "a school"),
    (("hospital", "clinic", "health", "medical"), "a health provider"),
    (("legal aid", "law center", "law centre", "legal services", "law firm", "attorneys", "llp"), "a legal services organization"),
    (("foundation", "fund", "trust"), "a foundation"),
    (("bank", "credit union"), "a financial institution"),
    (("inc", "llc", "ltd", "corp", "company", "gmbh", "group", "s.a."), "a company"),
    (("church", "mosque", "synagogue", "temple", "parish"), "a faith organization"),
    (("union", "workers"), "a labor union"),
    (("coalition", "alliance", "network", "association", "center", "centre", "project", "collective", "society", "initiative", "committee", "housing", "tenants"), "a community organization"),
)


def affiliation_label(affiliation: str) -> str:
    """A generic label for an organization name ("Brookline Housing Authority" -> "a public agency")."""
    words = f" {fold(affiliation)} ".replace(",", " ").replace("(", " ").replace(")", " ")
    for keys, label in _AFFILIATION_LABELS:
        if any(f" {key} " in words or (" " in key and key in words) for key in keys):
            return label
    return "an organization"


def letters_for(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'“‘([*-•>")
    return not before or before[-1] in ".!?:\n"
