"""French labels for features that come without a name (zones of a property-less file...)."""

from __future__ import annotations

import re
from typing import Final

import pandas as pd

_LOWER_WORDS: Final = frozenset(
    {"le", "la", "les", "de", "du", "des", "d", "l", "sur", "sous", "en", "et", "lès", "lez", "aux"}
)
_WORD: Final = re.compile(r"([^\s\-']+)")


def commune_title(name: str) -> str:
    """A commune name in capitals written the usual way: ``PUTANGES-LE-LAC`` → ``Putanges-le-Lac``.

    Names already in mixed case are returned unchanged.
    """
    if name != name.upper():
        return name
    words = _WORD.split(name.lower())
    out = []
    for position, word in enumerate(words):
        if position == 1 or word not in _LOWER_WORDS:
            word = word[:1].upper() + word[1:]
        out.append(word)
    return "".join(out)


def zone_labels(
    names: pd.Series,
    ids: pd.Series,
    communes: pd.Series | None = None,
    kinds: pd.Series | None = None,
) -> tuple[pd.Series, int]:
    """Names of zones, with a label where the name is missing.

    The label is ``"<kind> (<commune>)"`` when the kind and the commune are known (``Zone
    industrielle (Putanges-le-Lac)``), ``"Zone d'activités <id> (<commune>)"`` when only the
    commune is, else ``"Zone d'activités <id>"``.

    Returns
    -------
    The names, and how many were made up.
    """
    labels = []
    made = 0
    for i, name in enumerate(names):
        if isinstance(name, str) and name.strip():
            labels.append(name.strip())
            continue
        made += 1
        commune = _text(communes.iloc[i]) if communes is not None else None
        kind = _text(kinds.iloc[i]) if kinds is not None else None
        where = f" ({commune_title(commune)})" if commune else ""
        if kind and commune:
            labels.append(f"{kind}{where}")
        else:
            labels.append(f"Zone d'activités {ids.iloc[i]}{where}")
    return pd.Series(labels, index=names.index, dtype=object), made


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
