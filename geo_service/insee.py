"""INSEE commune codes: normalisation, and the municipal arrondissements of Paris, Lyon, Marseille.

Commune codes are 5-character text: ``01001`` keeps its leading zero (spreadsheets and CSV
exports often drop it: ``1001``), Corsica's ``2A004``/``2B033`` keep their letter. Paris, Lyon
and Marseille are one commune each (75056, 69123, 13055) but many files describe their
municipal arrondissements instead (75101–75120, 69381–69389, 13201–13216).
:func:`fold_arrondissements` maps those to their commune: every join of commune-level data
(ARCEP commune statistics, commune results) goes through it, so that a zone located in
13203 finds the figures of 13055.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

MARSEILLE: Final = "13055"
LYON: Final = "69123"
PARIS: Final = "75056"

#: Arrondissement code -> commune code, for Marseille, Lyon and Paris.
ARRONDISSEMENTS: Final[dict[str, str]] = {
    **{f"132{n:02d}": MARSEILLE for n in range(1, 17)},
    **{f"6938{n}": LYON for n in range(1, 10)},
    **{f"751{n:02d}": PARIS for n in range(1, 21)},
}

#: A commune code once normalised: five digits, or Corsica's 2A/2B and three digits.
INSEE_CODE: Final = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_MISSING: Final = frozenset({"", "na", "n/a", "nan", "none", "null", "-"})


def normalise_insee(values: pd.Series) -> pd.Series:
    """Commune codes as 5-character text (object dtype), None where missing.

    Spaces, quotes and a float's ``.0`` are removed, four-digit codes regain their leading
    zero (``1001`` → ``01001``), ``2a004`` becomes ``2A004``. Values that are still not INSEE
    codes are returned as they are: check them with :func:`is_insee`.
    """
    text = values.astype("string").str.strip().str.strip('"').str.strip()
    text = text.str.replace(r"^(\d+)\.0$", r"\1", regex=True).str.upper()
    four_digits = text.str.fullmatch(r"\d{4}").fillna(False).to_numpy(dtype=bool)
    text = text.where(~four_digits, text.str.zfill(5))
    missing = (text.isna() | text.str.lower().isin(list(_MISSING))).to_numpy(dtype=bool)
    out = np.where(missing, None, text.astype(object).to_numpy())
    return pd.Series(out, index=values.index, dtype=object)


def is_insee(values: pd.Series) -> pd.Series:
    """Whether each value is a 5-character commune code (``13055``, ``01004``, ``2A004``)."""
    return pd.Series(
        [isinstance(v, str) and bool(INSEE_CODE.match(v)) for v in values],
        index=values.index,
        dtype=bool,
    )


def fold_arrondissements(codes: pd.Series) -> pd.Series:
    """``codes`` with municipal arrondissements replaced by their commune (13203 → 13055).

    Missing codes become None.
    """
    return pd.Series(
        [ARRONDISSEMENTS.get(c, c) if isinstance(c, str) else None for c in codes],
        index=codes.index,
        dtype=object,
    )


def is_arrondissement(codes: pd.Series) -> pd.Series:
    """Whether each code is a municipal arrondissement of Paris, Lyon or Marseille."""
    return pd.Series([c in ARRONDISSEMENTS for c in codes], index=codes.index, dtype=bool)
