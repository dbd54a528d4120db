"""Dutch names: given name, particle (tussenvoegsel), family name; handles."""

from __future__ import annotations

import re
from collections import namedtuple

from zppcli.errors import InvalidInput
from zppcli.textfold import fold

# Words that make up a tussenvoegsel ("van den", "in 't", "op ten" ...), and a
# few from neighbouring languages that Dutch directories treat the same way.
PARTICLE_WORDS = {
    "van",
    "de",
    "den",
    "der",
    "het",
    "'t",
    "t",
    "te",
    "ten",
    "ter",
    "in",
    "op",
    "aan",
    "bij",
    "uit",
    "onder",
    "over",
    "voor",
    "d'",
    "'s",
    "la",
    "le",
    "du",
    "des",
    "da",
    "di",
    "del",
    "della",
    "dos",
    "von",
    "zu",
    "vom",
    "zum",
    "zur",
    "am",
    "im",
    "l'",
}
# Prefixes that belong to the family name and are sorted with it: El Amrani.
FAMILY_PREFIXES = {"el", "al", "ben", "bin", "ibn", "abu", "ait", "bou", "mac", "mc", "o'"}
HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


class Name(namedtuple("Name", "given particle family")):
    """A Dutch name: given name, particle (tussenvoegsel), family name."""

    __slots__ = ()

    @property
    def display(self) -> str:
        return " ".join(p for p in (self.given, self.particle, self.family) if p)

    @property
    def sort_key(self) -> str:
        if not self.family:
            return self.given
        return f"{self.family}, " + " ".join(p for p in (self.given, self.particle) if p)


def split_name(full: str) -> Name:
    """'Jöran van den Bürg' -> Name('Jöran', 'van den', 'Bürg').

    The particle is the first run of particle words after the given name; with
    none, the last word is the family name. Capitalised particles ("Van Dijk"
    at the start of a name written as a family name) are particles too.
    """
    words = full.split()
    if not words or not full.strip():
        raise InvalidInput("name", full, "a member needs a name")
    if len(words) == 1:
        return Name(words[0], "", "")
    start = next((i for i in range(1, len(words) - 1) if words[i].lower() in PARTICLE_WORDS), None)
    if start is None:
        cut = len(words) - 1
        while cut > 1 and words[cut - 1].lower() in FAMILY_PREFIXES:
            cut -= 1
        return Name(" ".join(words[:cut]), "", " ".join(words[cut:]))
    end = start
    while end < len(words) - 1 and words[end].lower() in PARTICLE_WORDS:
        end += 1
    return Name(" ".join(words[:start]), " ".join(words[start:end]), " ".join(words[end:]))


def dutch_sort_key(given: str, particle: str, family: str) -> tuple[str, str, str]:
    """Sort on the family name without the particle, accent- and case-insensitively."""
    return (fold(family or given), fold(given), fold(particle))


def handle_base(name: Name) -> str:
    """'Jöran van den Bürg' -> 'joran-vdburg'; 'Anaïs Dubois' -> 'anais-dubois'."""
    given = re.sub(r"[^a-z0-9]", "", fold(name.given.split()[0])) if name.given else ""
    initials = "".join(w[0] for w in fold(name.particle).replace("'", "").split() if w)
    family = re.sub(r"[^a-z0-9]", "", fold(name.family))
    base = "-".join(p for p in (given, initials + family) if p) or "member"
    return base[:36].strip("-") or "member"


def check_handle(handle: str) -> str:
    value = handle.strip().lower()
    if not HANDLE_RE.match(value) or value.endswith("-"):
        raise InvalidInput(
            "handle",
            handle,
            "use 2-40 lower-case letters, digits and dashes, starting with a letter or digit",
        )
    return value
