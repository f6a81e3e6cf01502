"""The report's target checker (bench/brief_targets.py) finds what it checks for: each check fails on a report
made to fail it, so a pass table means something."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("brief_targets", ROOT / "bench" / "brief_targets.py")
targets = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
path = list(sys.path)
try:
    spec.loader.exec_module(targets)
finally:
    sys.path[:] = path  # the script puts bench/ first, for itself only

REPORT = """{#key-themes}
## Key Themes

- [**Rapid Removal and Detention:**]{#p-1-1} Legal advocates in three sessions observed that ppl were removed w/in 72 hrs.
- [**Ice:**]{#p-1-2} A funder emphasized: A funder: the money is gone.
- A bullet without a lead-in, see [https://a.example.org/w/in-depth](https://a.example.org/w/in-depth).

{#strategic-directions}
## Strategic Directions

- [**Fund Legal Defense Now:**]{#p-2-1} Participants recommended pooled funds.

{#resources}
## Resources and Partners
"""


def test_body_bullets_count_every_bullet_and_read_their_lead_ins():
    bullets = targets.body_bullets(REPORT)
    assert len(bullets) == 4
    assert [targets.lead_in(b) for b in bullets] == ["Rapid Removal and Detention", "Ice", "", "Fund Legal Defense Now"]


def test_shorthand_is_what_the_glossary_would_still_write_out_outside_links():
    bullets = targets.body_bullets(REPORT)
    assert targets.shorthand_left(bullets[0], {}) == ["ppl", "w/in", "hrs."]
    assert targets.shorthand_left(bullets[2], {}) == []  # 'w/in' inside an address is the address
    assert targets.shorthand_left("Rapid response networks grew in the RRN.", {"RRN": "rapid response network"})


def test_doubled_attribution_is_found():
    assert [b for b in targets.body_bullets(REPORT) if targets.DOUBLED_RE.search(b)] == [targets.body_bullets(REPORT)[1]]


def test_names_are_compared_case_insensitively_and_name_words_of_everyday_english_when_capitalized():
    people = [SimpleNamespace(name="Thandiwe Nkosi-Adeyemi", aliases=["Thandi"], consent_named=False),
              SimpleNamespace(name="Will Abernathy-Chen", aliases=["Will"], consent_named=False),
              SimpleNamespace(name="Grace Oyelaran", aliases=["Grace"], consent_named=True)]
    strict, common = targets.name_words(people, ["the city will sue", "grace period ends"])
    assert {"thandiwe", "thandi", "nkosi", "adeyemi", "abernathy", "chen"} <= strict
    assert common == {"will"} and "grace" not in strict | common
    text = "Cities will sue. As thandi said, the plan failed. Will it pass? Ask Will about it. Grace led."
    assert targets.names_in_text(text, strict, common) == {"thandi": 1, "Will": 1}
