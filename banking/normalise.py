"""The one normal form of payer names, aliases and account numbers (DESIGN.md rule 1)."""

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def text_normalise(value: str) -> str:
    """Unicode NFKC, whitespace removed, case-folded: the form rule 1 compares."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", value or "")).casefold()


def account_normalise(value: str) -> str:
    """An account number in the same normal form, without the dashes banks print in it."""
    return text_normalise(value).replace("-", "")
