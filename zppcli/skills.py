"""The skill catalogue (with Dutch and English aliases) and members' skills."""

from __future__ import annotations

import sqlite3
from collections import namedtuple

from zppcli.errors import InvalidInput, NotFound
from zppcli.textfold import fold, slug

TYPE_CHECKING = False  # no typing import on the start-up path
if TYPE_CHECKING:
    from zppcli.store import Tx

LEVELS = ("learning", "competent", "expert")
LEVEL_RANK = {level: i for i, level in enumerate(LEVELS)}


# namedtuples, not dataclasses: these sit on the start-up path of a piped search.
class Skill(namedtuple("Skill", "id name category description aliases", defaults=("", "", None))):
    """A catalogue entry; aliases are its other words, Dutch and English."""

    __slots__ = ()

    @property
    def slug(self) -> str:
        return slug(self.name)


SkillSpec = namedtuple(
    "SkillSpec", "ref level mentor wants_to_learn", defaults=("competent", False, False)
)
SkillSpec.__doc__ = "What `--skill camera:expert:mentor` asks for."


_derive = None  # store.derived_id, once imported: a search imports skills, not store


def derived_id(*parts: str) -> str:
    """store.derived_id (an import per call cost an import of 100,000 members 0.4 s)."""
    global _derive
    if _derive is None:
        from zppcli.store import derived_id as _derive
    return _derive(*parts)


def skill_id(name: str) -> str:
    return derived_id("skill", slug(name))


def alias_id(skill: str, alias: str) -> str:
    return derived_id("alias", skill, fold(alias))


def catalogue(conn: sqlite3.Connection) -> list[Skill]:
    skills = {
        r["id"]: Skill(r["id"], r["name"], r["category"], r["description"], [])
        for r in conn.execute(
            "SELECT id, name, category, description FROM skills WHERE deleted = 0"
        )
    }
    for r in conn.execute(
        "SELECT skill_id, alias FROM skill_aliases WHERE deleted = 0 ORDER BY alias"
    ):
        if r["skill_id"] in skills:
            skills[r["skill_id"]].aliases.append(r["alias"])
    return sorted(skills.values(), key=lambda s: fold(s.name))


def _words(skill: Skill) -> list[str]:
    return [skill.name, skill.slug, *skill.aliases]


def find(conn: sqlite3.Connection, ref: str) -> Skill | None:
    """A skill by name, slug or alias; case- and accent-insensitive."""
    wanted = fold(ref.strip())
    wanted_slug = slug(ref)
    for skill in catalogue(conn):
        if any(fold(w) == wanted or slug(w) == wanted_slug for w in _words(skill)):
            return skill
    return None


def suggest(conn: sqlite3.Connection, ref: str, n: int = 3) -> list[str]:
    import difflib

    names = {fold(w): s.name for s in catalogue(conn) for w in _words(s)}
    close = difflib.get_close_matches(fold(ref), list(names), n=n * 2, cutoff=0.6)
    return list(dict.fromkeys(names[c] for c in close))[:n]


def resolve(conn: sqlite3.Connection, ref: str, field: str = "skill") -> Skill:
    skill = find(conn, ref)
    if skill is None:
        hints = suggest(conn, ref)
        hint = f"did you mean {' or '.join(repr(h) for h in hints)}? " if hints else ""
        raise NotFound(f"{field} {ref!r}: unknown skill; {hint}add it with `zpp skill add {ref!r}`")
    return skill


def parse_spec(text: str, field: str = "skill") -> SkillSpec:
    """'sound design:expert:mentor' -> SkillSpec('sound design', 'expert', True)."""
    parts = [p.strip() for p in text.split(":")]
    level, mentor = "competent", False
    while len(parts) > 1 and parts[-1].lower() in (*LEVELS, "mentor"):
        token = parts.pop().lower()
        if token == "mentor":
            mentor = True
        else:
            level = token
    ref = ":".join(parts).strip()
    if not ref:
        raise InvalidInput(field, text, "name a skill, like camera:expert or montage:learning")
    if len(parts) > 1:
        raise InvalidInput(
            field, text, f"unknown level {parts[-1]!r}; use {', '.join(LEVELS)} (and :mentor)"
        )
    return SkillSpec(ref, level, mentor)


def specs(skill_texts: list[str] = (), learn: list[str] = ()) -> list[SkillSpec]:
    """`--skill` texts plus `--learn` skills as SkillSpecs: a learned skill the
    member already has keeps its level and is flagged; a new one is 'learning'."""
    parsed = [parse_spec(str(t)) for t in skill_texts]
    wanted = {fold(str(s)) for s in learn}
    have = {fold(s.ref) for s in parsed}
    return [s._replace(wants_to_learn=fold(s.ref) in wanted) for s in parsed] + [
        SkillSpec(str(s), "learning", False, True) for s in learn if fold(str(s)) not in have
    ]


def check_level(level: str, field: str = "level") -> str:
    value = level.strip().lower()
    if value not in LEVELS:
        raise InvalidInput(field, level, f"use one of {', '.join(LEVELS)}")
    return value


# -- catalogue writes ---------------------------------------------------------
def add_skill(
    tx: Tx, name: str, aliases: list[str] = (), category: str = "", description: str = ""
) -> str:
    name = name.strip()
    if not slug(name):
        raise InvalidInput("skill", name, "a skill needs a name with letters or digits")
    existing = find(tx.conn, name)
    if existing is not None:
        from zppcli.errors import Conflict

        raise Conflict(f"skill {name!r} already exists as {existing.name!r}")
    sid = skill_id(name)
    tx.upsert("skills", sid, {"name": name, "category": category, "description": description})
    for alias in aliases:
        add_alias(tx, name, alias)
    return sid


def add_alias(tx: Tx, skill_ref: str, alias: str) -> Skill:
    skill = resolve(tx.conn, skill_ref)
    alias = alias.strip()
    if not slug(alias):
        raise InvalidInput("alias", alias, "an alias needs letters or digits")
    other = find(tx.conn, alias)
    if other is not None and other.id != skill.id:
        from zppcli.errors import Conflict

        raise Conflict(f"alias {alias!r} already names skill {other.name!r}")
    if other is None:
        tx.upsert(
            "skill_aliases", alias_id(skill.id, alias), {"skill_id": skill.id, "alias": alias}
        )
    return skill


def remove_alias(tx: Tx, alias: str) -> Skill:
    skill = resolve(tx.conn, alias, "alias")
    if fold(alias) == fold(skill.name):
        raise InvalidInput("alias", alias, "is the skill's name, not an alias")
    tx.delete_where(
        "skill_aliases", "skill_id = ? AND id = ?", (skill.id, alias_id(skill.id, alias))
    )
    return skill


def remove_skill(tx: Tx, ref: str) -> tuple[Skill, int]:
    """Tombstone a skill, its aliases and every member's entry of it."""
    skill = resolve(tx.conn, ref)
    members = tx.delete_where("member_skills", "skill_id = ?", (skill.id,))
    tx.delete_where("skill_aliases", "skill_id = ?", (skill.id,))
    tx.delete("skills", skill.id)
    return skill, members


# -- a member's skills --------------------------------------------------------
def member_skill_id(member_id: str, sid: str) -> str:
    return derived_id("member_skill", member_id, sid)


def set_member_skill(tx: Tx, member_id: str, spec: SkillSpec, field: str = "skill") -> Skill:
    skill = resolve(tx.conn, spec.ref, field)
    tx.upsert(
        "member_skills",
        member_skill_id(member_id, skill.id),
        {
            "member_id": member_id,
            "skill_id": skill.id,
            "level": spec.level,
            "wants_to_learn": spec.wants_to_learn,
            "can_mentor": spec.mentor,
        },
    )
    return skill


def remove_member_skill(tx: Tx, member_id: str, ref: str) -> Skill:
    skill = resolve(tx.conn, ref)
    if not tx.delete("member_skills", member_skill_id(member_id, skill.id)):
        raise NotFound(f"skill {skill.name!r}: this member does not have it")
    return skill


def member_skills(conn: sqlite3.Connection, member_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {m: [] for m in member_ids}
    if not member_ids:
        return out
    marks = ",".join("?" * len(member_ids))
    for r in conn.execute(
        f"""SELECT ms.member_id, s.name, ms.level, ms.wants_to_learn, ms.can_mentor
              FROM member_skills ms JOIN skills s ON s.id = ms.skill_id AND s.deleted = 0
             WHERE ms.deleted = 0 AND ms.member_id IN ({marks})""",
        member_ids,
    ):
        out[r["member_id"]].append(
            {
                "skill": r["name"],
                "level": r["level"],
                "wants_to_learn": bool(r["wants_to_learn"]),
                "can_mentor": bool(r["can_mentor"]),
            }
        )
    for skills in out.values():
        skills.sort(key=lambda s: (-LEVEL_RANK[s["level"]], fold(s["skill"])))
    return out


def usage_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """{skill id: {members, experts, learners, mentors}} over live members."""
    rows = conn.execute(
        """SELECT ms.skill_id,
                  sum(NOT (ms.wants_to_learn AND ms.level = 'learning')) AS members,
                  sum(ms.level = 'expert') AS experts,
                  sum(ms.wants_to_learn) AS learners,
                  sum(ms.can_mentor) AS mentors
             FROM member_skills ms JOIN members m ON m.id = ms.member_id AND m.deleted = 0
            WHERE ms.deleted = 0 GROUP BY ms.skill_id"""
    )
    return {
        r[0]: {k: r[k] or 0 for k in ("members", "experts", "learners", "mentors")} for r in rows
    }
