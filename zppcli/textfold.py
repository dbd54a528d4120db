"""Accent- and case-folding for search and sorting.

SQLite's unicode61 tokenizer folds most accents (with remove_diacritics 2) but
not letters that are not "base + accent": ł, ø, ß, æ ... Those we fold here, on
the indexed text and on the query alike.
"""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans(
    {
        "ł": "l",
        "Ł": "l",
        "ø": "o",
        "Ø": "o",
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "ħ": "h",
        "Ħ": "h",
        "ŀ": "l",
        "Ŀ": "l",
        "ŧ": "t",
        "Ŧ": "t",
        "ĸ": "k",
        "’": "'",
        "‘": "'",
    }
)


def fold(text: str) -> str:
    """'Łukasz Ørjan Bürg Strauß' -> 'lukasz orjan burg strauss'."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(_SPECIAL).casefold()


def slug(text: str) -> str:
    """'Sound design' -> 'sound-design'; 'Jöran' -> 'joran'."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def sort_key(text: str) -> str:
    return fold(text)
