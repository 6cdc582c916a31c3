"""The organization's word-list filter: does a text contain a blocked word or phrase?

Matching is case-insensitive and accent-insensitive — text and words are both folded the
same way: Unicode NFKD decomposition (which also turns compatibility forms such as
full-width letters into plain ones), combining marks dropped ("Perché" → "Perche"), then
`casefold()` — and works on whole words and phrases: a
blocked word matches only where it is not preceded or followed by a letter or digit, so
"ass" does not match "assessore", while "idiota" matches "dell'idiota" and "IDIOTA!". The
words of a blocked phrase may be separated by any run of whitespace.

Content that matches goes to pre-moderation instead of being published (see
`app/services/guards/premoderation.py`); the list itself is an organization setting
(`app/services/moderation/settings.py`).
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache


def fold(text: str) -> str:
    """`text` without case and accents: NFKD, combining marks dropped, casefolded."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def _phrase_pattern(word: str) -> str | None:
    parts = fold(word).split()
    if not parts:
        return None
    return r"\s+".join(re.escape(part) for part in parts)


@lru_cache(maxsize=128)
def _compiled(words: tuple[str, ...]) -> re.Pattern[str] | None:
    # Longest first, so that of two overlapping phrases the longer one is reported.
    patterns = sorted(
        {p for p in (_phrase_pattern(w) for w in words) if p is not None}, key=len, reverse=True
    )
    if not patterns:
        return None
    # A match is not glued to a letter or digit on either side (`\w` minus `_`).
    return re.compile(r"(?<![^\W_])(?:" + "|".join(patterns) + r")(?![^\W_])")


def find_blocked(texts: Iterable[str | None], words: Sequence[str]) -> str | None:
    """The first blocked word or phrase found in any of `texts` (folded, single-spaced),
    or None."""
    if not words:
        return None
    pattern = _compiled(tuple(words))
    if pattern is None:
        return None
    for text in texts:
        if text:
            found = pattern.search(fold(text))
            if found is not None:
                return " ".join(found.group(0).split())
    return None


def contains_blocked(texts: Iterable[str | None], words: Sequence[str]) -> bool:
    return find_blocked(texts, words) is not None
