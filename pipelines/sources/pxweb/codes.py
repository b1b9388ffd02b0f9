"""Region codes: strip SCB's boundary-version suffixes and infer the boundary version of plain codes.

SCB's DeSO 2025 / RegSO 2025 codelists (`vs_DeSO2025`, `vs_RegSO2025`) deliver codes with a suffix,
`0581C1110_DeSO2025` and `0581R037_RegSO2025`. The raw layer keeps the plain code (`0581C1110`) in the
dimension column and the version (`DeSO2025`) in a separate `boundary_version` column, so DeSO 2018 and
DeSO 2025 cells can sit side by side without their codes being confused.

Precedence for the boundary version of one code:
1. its own suffix (`_DeSO2025`, `_RegSO2025`, any `_DeSOyyyy` / `_RegSOyyyy`);
2. else the codelist named in the query for that variable (`vs_DeSO2018` -> DeSO2018, `vs_RegSO2020` ->
   RegSO2020; any codelist id containing `DeSOyyyy` / `RegSOyyyy`), applied only to codes of that kind's shape;
3. else the code's shape: a 9-character DeSO code (`^\\d{4}[ABC]\\d{4}$`) is DeSO2018 and `^\\d{4}R\\d{3}$` is
   RegSO2020, because SCB only ever delivers plain codes for the first vintages (the 2025 vintages always
   carry the suffix);
4. anything else (country "00", county "20", municipality "0581", ages, years) is not areal: "".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SUFFIX_RE = re.compile(r"^(?P<code>.+)_(?P<version>(?:DeSO|RegSO)\d{4})$", re.IGNORECASE)
DESO_RE = re.compile(r"^\d{4}[ABC]\d{4}$")
REGSO_RE = re.compile(r"^\d{4}R\d{3}$")
_CODELIST_RE = re.compile(r"(DeSO|RegSO)[_-]?(\d{4})", re.IGNORECASE)

DESO_SHAPE_DEFAULT = "DeSO2018"
REGSO_SHAPE_DEFAULT = "RegSO2020"


def _canonical_version(kind: str, year: str) -> str:
    return ("DeSO" if kind.lower() == "deso" else "RegSO") + year


def codelist_version(codelist: str | None) -> str | None:
    """`vs_DeSO2025` -> "DeSO2025"; `vs_RegSO2020` -> "RegSO2020"; other or None -> None."""
    if not codelist:
        return None
    m = _CODELIST_RE.search(codelist)
    return _canonical_version(m.group(1), m.group(2)) if m else None


def shape_kind(code: str) -> str:
    """"DeSO", "RegSO" or "" from the code's shape."""
    if DESO_RE.match(code):
        return "DeSO"
    if REGSO_RE.match(code):
        return "RegSO"
    return ""


def split_code(code: str, codelist: str | None = None) -> tuple[str, str]:
    """One code -> (plain code, boundary version). See the module docstring for the rules."""
    m = SUFFIX_RE.match(code)
    if m:
        v = m.group("version")
        return m.group("code"), _canonical_version(v[:-4], v[-4:])
    kind = shape_kind(code)
    if not kind:
        return code, ""
    listed = codelist_version(codelist)
    if listed and listed.lower().startswith(kind.lower()):
        return code, listed
    return code, DESO_SHAPE_DEFAULT if kind == "DeSO" else REGSO_SHAPE_DEFAULT


def has_suffix(codes: Iterable[str]) -> bool:
    return any(SUFFIX_RE.match(c) for c in codes)


def is_region_dimension(dim: str, codes: Iterable[str], codelist: str | None = None) -> bool:
    """Region-like: named Region, or carrying version suffixes, or queried with a DeSO/RegSO codelist."""
    if dim.lower() in ("region", "regsokod", "desokod", "deso", "regso"):
        return True
    if codelist_version(codelist):
        return True
    return has_suffix(codes)


def normalise_codes(codes: list[str], codelist: str | None = None) -> tuple[list[str], list[str]]:
    """Normalise a dimension's (unique) codes: plain codes and their boundary versions, same order."""
    plain: list[str] = []
    versions: list[str] = []
    for c in codes:
        p, v = split_code(c, codelist)
        plain.append(p)
        versions.append(v)
    return plain, versions
