"""Resources and Partners: each entry named and described in words a reader can use."""

from __future__ import annotations

from roundtable.services.briefs.resources import name_and_description


def test_a_link_whose_name_the_anonymizer_replaced_is_named_from_its_address_and_described_without_the_bracket():
    # "Color Contrast Analyzer (https://...)" stored as "[name] (https://...)": no "Name]" in the report.
    url = "https://www.tpgi.com/color-contrast-checker/"
    name, description = name_and_description(
        f"[name] ({url}) is a desktop application for contrast checking.", url)
    assert name == ""  # the caller falls back to the address
    assert description == "A desktop application for contrast checking."


def test_a_link_in_brackets_after_its_name_keeps_the_name_and_describes_it_from_what_follows():
    url = "https://wave.webaim.org/"
    name, description = name_and_description(f"WAVE ({url}) is an accessibility auditor and browser extension.", url)
    assert (name, description) == ("WAVE", "An accessibility auditor and browser extension.")
