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
    assert entries["Family preparedness packet"] == "A multilingual packet, shared in session 3."


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


def themed_context(notes: list[tuple[str, str | None, int, str | None]], hidden: frozenset = frozenset()):
    """A context of resource notes, each ``(text, role, session, sub-theme)``: the sub-themes sit under one
    theme, "Housing Stability", and one strategic direction, "Fund Tenant Counsel", holds the notes tagged so."""
    from roundtable.services.briefs.context import NoteItem, SessionItem, ThemeItem
    from roundtable.services.briefs.glossary import clean_note
    from roundtable.services.briefs.markdown import extract_urls

    context = context_of([])
    context.hidden_words = hidden
    context.sessions = [SessionItem(n, title, None, "") for n, title in
                        ((1, "Session 1"), (2, "Courts and Counsel"), (3, "Transit and Jobs"))]
    theme = ThemeItem(1, "Housing Stability", "", "Key Themes", 1)
    direction = ThemeItem(2, "Fund Tenant Counsel", "", "Strategic Directions", 2)
    context.themes = [theme, direction]
    children: dict[str, ThemeItem] = {}
    for i, (text, role, session, sub_theme) in enumerate(notes, 1):
        note = NoteItem(id=i, text=text, kind="resource", speaker_role=role, session_number=session,
                        links=extract_urls(text), prose=clean_note(text)[0])
        context.notes.append(note)
        if sub_theme == direction.name:
            direction.notes.append(note)
        elif sub_theme:
            if sub_theme not in children:
                children[sub_theme] = ThemeItem(10 + len(children), sub_theme, "", "Key Themes", len(children))
                theme.children.append(children[sub_theme])
            children[sub_theme].notes.append(note)
    return context


def described(notes, hidden: frozenset = frozenset()) -> dict[str, tuple[str, str]]:
    from roundtable.services.briefs.resources import collect_resources

    return {r.title: (category, r.description)
            for category, items in collect_resources(themed_context(notes, hidden)).items() for r in items}


def test_a_link_with_only_a_name_is_described_by_its_kind_who_shared_it_and_the_sub_theme_it_sits_under():
    entries = described([
        ("eviction court tracker: https://evictions.example.org/tracker", "legal advocate", 2, "Eviction Defense"),
        ("Tenant Counsel Fund report on outcomes https://tcf.example.org/r", None, 2, "Fund Tenant Counsel"),
        ("lease clause templates: https://leases.example.org/t", None, 3, None),
        ("rent relief research https://relief.example.org/", None, 1, None),
    ])
    assert entries["Eviction court tracker"][1] == \
        "A tracker, shared by a legal advocate in session 2 in the discussion of Eviction Defense."
    assert entries["Tenant Counsel Fund report on outcomes"][1] == \
        "A report, shared in session 2 in the discussion of Fund Tenant Counsel."
    # Untagged: the session's own title says what was being discussed (a bare "Session 1" says nothing).
    assert entries["Lease clause templates"][1] == "Templates, shared in session 3 (Transit and Jobs)."
    assert entries["Rent relief research"][1] == "Research, shared in session 1."
    assert not any("Shared in session" in d for _, d in entries.values())


def test_the_notes_own_words_about_a_link_join_its_kind_in_one_sentence_in_their_own_case():
    entries = described([
        ("tenant rights leaflet (multilingual): https://leaflets.example.org/", None, 2, "Eviction Defense"),
        ("model rent ordinance (draft, open for comment) https://ordinance.example.org/", None, 2, None),
        ("Harbor Cities Alliance (international city alliance): https://harbor.example.net/", None, 3, None),
        ("Tenant Union Toolkit - overview of organizing steps for new unions: https://tu.example.org/", None, 1, None),
    ])
    assert entries["Tenant rights leaflet"][1] == \
        "A multilingual leaflet, shared in session 2 in the discussion of Eviction Defense."
    assert entries["Model rent ordinance"][1] == \
        "An ordinance (draft, open for comment), shared in session 2 (Courts and Counsel)."
    assert entries["Harbor Cities Alliance"][1] == "An international city alliance, shared in session 3 (Transit and Jobs)."
    entries = {**entries, **described([
        ("lease clause templates, print-ready, 12 langs: https://leases.example.org/t", None, 3, None),
        ("tenant counsel training curriculum, free: https://tc.example.org/", None, 2, "Eviction Defense"),
        ("Alliance for Housing, Health and Transit https://aht.example.org/", None, 1, None)])}
    assert entries["Lease clause templates"][1] == \
        "Templates (print-ready, 12 languages), shared in session 3 (Transit and Jobs)."
    assert entries["Tenant counsel training curriculum"][1] == \
        "A free curriculum, shared in session 2 in the discussion of Eviction Defense."
    assert "Alliance for Housing, Health and Transit" in entries
    # A phrase of five words or more is a description already.
    assert entries["Tenant Union Toolkit"][1] == "Overview of organizing steps for new unions."


def test_a_description_never_carries_a_hidden_name_nor_the_anonymizers_stand_in():
    entries = described([
        ("rent burden map (an organization): https://map.example.org/", None, 2, "Eviction Defense"),
        ("bus pass guide (hope street version) https://bus.example.org/", "organizer", 3, None),
    ], hidden=frozenset({"hope"}))
    assert entries["Rent burden map"][1] == "A map, shared in session 2 in the discussion of Eviction Defense."
    assert entries["Bus pass guide"][1] == "A guide, shared by an organizer in session 3 (Transit and Jobs)."


def test_a_network_described_as_international_or_european_is_filed_with_the_international_networks():
    entries = described([
        ("Cities for Welcome Network (international municipal network): https://cfw.example.net/", None, 1, None),
        ("Lakeshore Mayors Coalition: https://lakeshore.example.org/", None, 1, None),
        ("European tenant unions network https://eutu.example.eu/", None, 1, None),
    ])
    assert entries["Cities for Welcome Network"][0] == "Municipal and Advocacy Networks (International)"
    assert entries["European tenant unions network"][0] == "Municipal and Advocacy Networks (International)"
    assert entries["Lakeshore Mayors Coalition"][0] == "Municipal and Advocacy Networks (US-based)"


def test_a_study_or_report_is_research_even_when_it_is_about_international_networks_or_mayors():
    entries = described([
        ("Nordic sanctuary-cities comparative study https://nordic.example.org/study", None, 1, None),
        ("European mayors report on migrant housing https://mayors.example.eu/report", None, 1, None),
        ("Global cities alliance survey of shelter policy https://gca.example.org/survey", None, 1, None),
    ])
    assert {category for category, _ in entries.values()} == {"Research and Policy Organizations"}


def test_a_series_rule_within_a_heading_takes_from_it_only_what_matches_its_words():
    from roundtable.services.briefs.resources import RESOURCE_RULES, categorize

    rules = [{"category": "Regional Networks", "within": ["Municipal and Advocacy Networks (US-based)"],
              "match": ["county", "regional"]}] + RESOURCE_RULES
    assert categorize("Tri-County Mayors Coalition", "", "https://t.example.org/", rules, "coalition") == \
        "Municipal and Advocacy Networks (US-based)"  # "Tri-County" is one word, not "county"
    assert categorize("Regional welcoming network", "", "https://r.example.org/", rules, "network") == \
        "Regional Networks"
    assert categorize("Regional rent study", "", "https://s.example.org/", rules, "study") == \
        "Research and Policy Organizations"


def test_a_link_whose_name_says_no_kind_is_a_resource():
    entries = described([("Harborview (volunteer-run): https://hv.example.org/", None, 2, "Eviction Defense"),
                         ("Lakeside Commons https://lc.example.org/", None, 3, None)])
    assert entries["Harborview"][1] == "A volunteer-run resource, shared in session 2 in the discussion of Eviction Defense."
    assert entries["Lakeside Commons"][1] == "A resource, shared in session 3 (Transit and Jobs)."
