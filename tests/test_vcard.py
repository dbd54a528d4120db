"""vCard serializer: vobject (an independent parser) reads back exactly what we wrote."""

from __future__ import annotations

import uuid

import pytest
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zppcli import vcard

HOSTILE = [
    "\r\n",
    "\n",
    "\r",
    ";",
    ":",
    ",",
    "\\",
    "=",
    '"',
    "^",
    "BEGIN:VCARD",
    "END:VCARD",
    "\r\nEMAIL:evil@x.nl",
    "\nTEL:+31600000000",
    "é",
    "ł",
    "😀",
    "👩🏽‍💻",
    "中文",
    " ",
    "\t",
]
# Any text at all (minus surrogates), with the hostile pieces mixed in often.
any_text = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20), st.sampled_from(HOSTILE)
    ),
    max_size=8,
).map("".join)
long_text = st.lists(
    st.sampled_from(["é", "ß", "😀", "中", "a", " ", ";", "\n", "ł"]), min_size=60, max_size=300
).map("".join)


def member(**overrides):
    rec = {
        "id": str(uuid.uuid4()),
        "handle": "joran-vdburg",
        "name": "Jöran van den Bürg",
        "given_name": "Jöran",
        "particle": "van den",
        "family_name": "Bürg",
        "emails": [
            {"type": "work", "value": "joran@beeldhaven.example", "private": False},
            {"type": "home", "value": "secret@home.example", "private": True},
        ],
        "phones": [{"type": "mobile", "value": "+31612345678", "private": False}],
        "city": "Hilversum",
        "region": "Gooi en Vechtstreek",
        "website": "https://joran.example",
        "links": ["https://vimeo.com/joranvdb"],
        "bio": "Cameraman; docu's, NPO.\nTwintig jaar.",
        "languages": ["nl", "en"],
        "tags": ["npo"],
        "skills": [
            {"skill": "Camera", "level": "expert", "wants_to_learn": False, "can_mentor": True},
            {
                "skill": "Color grading",
                "level": "learning",
                "wants_to_learn": True,
                "can_mentor": False,
            },
        ],
        "collectives": [{"handle": "beeldhaven", "name": "De Beeldhaven", "role": "founder"}],
        "updated_at": "2026-11-26T08:18:17.674693Z",
    }
    rec.update(overrides)
    return rec


def parse(text: str):
    cards = list(vobject.readComponents(text))
    assert len(cards) == 1
    return cards[0]


def props(card) -> dict[str, list]:
    return {k: v for k, v in card.contents.items()}


@pytest.mark.parametrize("version", vcard.VERSIONS)
def test_card_fields_parse_in_vobject(version):
    rec = member()
    out = vcard.card(rec, version)
    c = parse(out)
    assert c.version.value == version
    assert c.uid.value == f"urn:uuid:{rec['id']}"
    assert c.fn.value == "Jöran van den Bürg"
    assert c.n.value.family == "van den Bürg" and c.n.value.given == "Jöran"
    if version == "3.0":
        assert c.contents["sort-string"][0].value == "Bürg"
    else:
        assert c.n.params["SORT-AS"] == ["Bürg,Jöran"]
    assert [e.value for e in c.contents["email"]] == [
        "joran@beeldhaven.example"
    ]  # private one left out
    assert "secret@home.example" not in out
    assert c.tel.value in ("+31612345678", "tel:+31612345678")
    assert c.adr.value.city == "Hilversum" and c.adr.value.region == "Gooi en Vechtstreek"
    assert [u.value for u in c.contents["url"]] == [
        "https://joran.example",
        "https://vimeo.com/joranvdb",
    ]
    assert c.org.value == ["De Beeldhaven"]
    assert c.categories.value == ["Camera", "npo"]  # a wish to learn is not a skill
    assert c.note.value == "Cameraman; docu's, NPO.\nTwintig jaar."
    assert c.rev.value in ("2026-11-26T08:18:17Z", "20261126T081817Z")
    assert c.contents["x-zpp-handle"][0].value == "joran-vdburg"


def test_crlf_and_folding_at_75_octets_never_split_utf8():
    rec = member(bio="ł" * 100 + "😀" * 50 + "a" * 77)
    out = vcard.card(rec)
    assert out.endswith("\r\n")
    assert "\n" not in out.replace("\r\n", "")
    for line in out.split("\r\n"):
        raw = line.encode("utf-8")  # raises if a character was split
        assert len(raw) <= 75, line
    assert parse(out).note.value == rec["bio"]


def test_fold_boundaries():
    assert vcard.fold("a" * 75) == "a" * 75
    folded = vcard.fold("a" * 76)
    assert folded == "a" * 75 + "\r\n a"
    folded = vcard.fold("a" * 74 + "é")  # é is 2 octets: 76 in all, must move whole
    assert folded == "a" * 74 + "\r\n é"


def _expected_props(rec, version):
    names = {"VERSION", "PRODID", "UID", "FN", "N", "X-ZPP-HANDLE", "REV"}
    if version == "3.0":
        names.add("SORT-STRING")
    else:
        names.add("KIND")
        if any(vcard.clean(x) for x in rec["languages"]):
            names.add("LANG")
    if any(not e["private"] for e in rec["emails"]):
        names.add("EMAIL")
    if vcard.clean(rec["city"]) or vcard.clean(rec["region"]):
        names.add("ADR")
    if vcard.clean(rec["bio"]):
        names.add("NOTE")
    if any(vcard.clean(c["name"]) for c in rec["collectives"]):
        names.add("ORG")
    if vcard.categories(rec):
        names.add("CATEGORIES")
    if vcard.clean(rec["website"]) or any(vcard.clean(u) for u in rec["links"]):
        names.add("URL")
    if (
        version == "3.0"
        and not vcard.clean(rec["family_name"])
        and not vcard.clean(rec["given_name"])
    ):
        names.discard("SORT-STRING")
    return names


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from(vcard.VERSIONS),
    given_name=any_text,
    particle=any_text,
    family=any_text | long_text,
    city=any_text,
    region=any_text,
    bio=any_text | long_text,
    website=any_text,
    links=st.lists(any_text, max_size=3),
    email=any_text,
    skills=st.lists(any_text, max_size=3),
    tags=st.lists(any_text, max_size=3),
    org=any_text,
    handle=any_text,
    langs=st.lists(any_text, max_size=2),
)
def test_no_value_can_create_or_alter_a_property(
    version,
    given_name,
    particle,
    family,
    city,
    region,
    bio,
    website,
    links,
    email,
    skills,
    tags,
    org,
    handle,
    langs,
):
    c = vcard.clean
    rec = member(
        given_name=given_name,
        particle=particle,
        family_name=family,
        name=None,
        city=city,
        region=region,
        bio=bio,
        website=website,
        links=links,
        handle=handle or "h",
        languages=langs,
        emails=[{"type": "home", "value": email, "private": False}],
        phones=[],
        skills=[
            {"skill": s, "level": "competent", "wants_to_learn": False, "can_mentor": False}
            for s in skills
        ],
        tags=tags,
        collectives=[{"handle": "x", "name": org, "role": "member"}],
    )
    out = vcard.card(rec, version)
    for line in out.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    card = parse(out)
    assert {k.upper() for k in card.contents} == _expected_props(rec, version)
    assert len(card.contents["uid"]) == 1 and card.uid.value == f"urn:uuid:{rec['id']}"
    assert len(card.contents["email"]) == 1 and card.email.value == c(email)
    full_family = " ".join(p for p in (c(particle), c(family)) if p)
    assert card.n.value.family == full_family
    assert card.n.value.given == c(given_name)
    assert card.fn.value == (
        " ".join(p for p in (c(given_name), full_family) if p) or c(handle or "h")
    )
    assert card.contents["x-zpp-handle"][0].value == c(handle or "h")
    if "ADR" in _expected_props(rec, version):
        assert (card.adr.value.city, card.adr.value.region) == (c(city), c(region))
    if c(bio):
        assert card.note.value == c(bio)
    urls = [c(u) for u in [website, *links] if c(u)]
    assert [u.value for u in card.contents.get("url", [])] == urls
    if c(org):
        assert card.org.value == [c(org)]
    cats = vcard.categories(rec)
    if cats:
        assert card.categories.value == [c(x) for x in cats]
    if version == "4.0":
        assert [x.value for x in card.contents.get("lang", [])] == [c(x) for x in langs if c(x)]
        sort_as = c(family) or c(given_name)
        if sort_as:
            assert card.n.params["SORT-AS"][0].startswith(
                sort_as.replace("^", "^^").replace('"', "^'").replace("\n", "^n")
            )
    elif c(family) or c(given_name):
        assert card.contents["sort-string"][0].value == (c(family) or c(given_name))
