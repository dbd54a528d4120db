"""Full-text search over members (placeholder query builder; filters follow)."""

from __future__ import annotations

import re
import sqlite3

from zppcli.textfold import fold


def match_expression(text: str) -> str | None:
    """User text -> a safe FTS5 MATCH: every word quoted, as a prefix, ANDed."""
    words = [w for w in re.split(r"[\W_]+", fold(text)) if w]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


def member_ids_matching(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[str]:
    expr = match_expression(text)
    if expr is None:
        return []
    rows = conn.execute(
        "SELECT member_id FROM members_fts WHERE members_fts MATCH ? ORDER BY rank LIMIT ?",
        (expr, limit),
    )
    return [r[0] for r in rows]
