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


def context_of(notes: list[str]):
    """A brief context holding only these notes (session 1 to 5 in turn), enough to collect resources."""
    from collections import Counter

    from roundtable.services.briefs.context import BriefContext, NoteItem
    from roundtable.services.briefs.glossary import clean_note
    from roundtable.services.briefs.markdown import extract_urls

    items = [NoteItem(id=i, text=t, kind="resource", speaker_role=None, session_number=1 + i % 5,
                      links=extract_urls(t), prose=clean_note(t)[0])
             for i, t in enumerate(notes, 1)]
    return BriefContext(series_id=1, slug="s", title="S", subtitle="", description="", organizations=[], authors=[],
                        funder="", brief_number="", policy="role", acknowledgments="", sessions=[], themes=[],
                        notes=items, resources=[], contributors=[], anonymous_contributors=False,
                        participant_roles=Counter(), participant_count=0, tag_sources={})


def listed(notes: list[str]) -> dict[str, list]:
    from roundtable.services.briefs.resources import collect_resources

    return {category: [(r.title, r.description, r.url) for r in items]
            for category, items in collect_resources(context_of(notes)).items()}


def test_an_address_ends_where_its_punctuation_starts():
    from roundtable.services.briefs.markdown import extract_urls

    lines = {
        "If you use npm, install `https://www.npmjs.com/package/npm-force-resolutions` to pin them.":
            "https://www.npmjs.com/package/npm-force-resolutions",
        "The checker “https://contrast.example.org/check” is free.": "https://contrast.example.org/check",
        "See *https://example.org/guide/* for the steps.": "https://example.org/guide/",
        "The entry (https://en.wikipedia.org/wiki/Sanctuary_city_(United_States)).":
            "https://en.wikipedia.org/wiki/Sanctuary_city_(United_States)",
        "Contrast checker https://www.tpgi.com/color-contrast-checker// is a desktop app.":
            "https://www.tpgi.com/color-contrast-checker//",
        "Data at https://data.example.gov/set?id=4&x=1.": "https://data.example.gov/set?id=4&x=1",
        "Report: https://example.org/report…": "https://example.org/report",
    }
    for line, url in lines.items():
        assert extract_urls(line) == [url], line


def test_one_address_typed_with_one_slash_and_with_two_is_listed_once_in_its_clean_form():
    groups = listed(["Color contrast checker (https://www.tpgi.com/color-contrast-checker//) for designers.",
                     "The color contrast checker https://www.tpgi.com/color-contrast-checker/ again."])
    urls = [url for items in groups.values() for _, _, url in items]
    assert urls == ["https://www.tpgi.com/color-contrast-checker/"]


def test_a_link_without_a_name_of_its_own_is_named_by_its_host_and_sorted_by_its_own_words_only():
    # A CSP policy string: the words before each address are directive names, not names of the links; the
    # fallback description names the theme ("... Content Security Policy") and must not sort them as policy work.
    groups = listed(["\"default-src 'self'; script-src https://facebook.com; child-src https://youtu.be;\"",
                     "If you are using `npm` you can install `https://www.npmjs.com/package/npm-force-resolutions`"
                     " to draw the same behavior."])
    entries = {title: description for items in groups.values() for title, description, _ in items}
    assert set(entries) == {"facebook.com", "youtu.be", "npmjs.com"}
    assert entries["npmjs.com"] == "To draw the same behavior."  # the backtick that closed the address is gone
    assert "Research and Policy Organizations" not in groups


def test_an_anonymizer_label_in_brackets_is_not_a_description():
    # "federal funding exposure map (Urban Policy Institute)" stored with the role policy's label.
    groups = listed(["federal funding exposure map (an organization): https://upi.example.org/funding-exposure",
                     "family preparedness packet (multilingual): https://family-prep.example.org/packet"])
    entries = {title: description for items in groups.values() for title, description, _ in items}
    assert entries["Federal funding exposure map"] != "An organization."
    assert entries["Family preparedness packet"] == "Multilingual."


def test_a_name_holding_a_pronoun_inside_a_hyphenated_word_is_still_a_name():
    from roundtable.services.briefs.resources import reads_as_name

    assert reads_as_name("ACLU know-your-rights guide for clinics")
    assert not reads_as_name("If you are using `npm` you can install")
    assert not reads_as_name("script-src") and reads_as_name("WAVE")


def test_the_research_brief_lists_each_resource_on_its_own_line_under_its_heading():
    """The short brief's Resources once ran each heading's links together ('Name, https://...; Name, ...'),
    hard to scan in two small columns: each entry is now its own line, the address shown without its scheme."""
    from roundtable_plugins.report_sections import resources_brief

    text = resources_brief(context_of([
        "Eviction defense playbook from the Tenant Law Center: https://tenantlaw.example.org/playbook",
        "Tenant organizing toolkit https://www.tenants.example.org/toolkit/",
        "Urban Housing Institute report on rent burden https://www.urbanhousing-institute.example.org/rent-2025"]))
    lines = text.splitlines()
    assert "- **Toolkits**" in lines
    assert ("  - Eviction defense playbook from the Tenant Law Center: "
            "[tenantlaw.example.org/playbook](https://tenantlaw.example.org/playbook)") in lines
    assert "  - Tenant organizing toolkit: [tenants.example.org/toolkit/](https://www.tenants.example.org/toolkit/)" in lines
    assert sum(line.startswith("  - ") for line in lines) == 3
