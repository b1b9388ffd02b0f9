"""A PxWeb query, independent of API version: which codes of which variables, with which codelist.

    Query.of("TAB6574", {"Region": ["0581*"], "Alder": ["totalt"], "Kon": ["1+2"],
                         "ContentsCode": ["000007Y7"], "Tid": ["2024"]},
             codelists={"Region": "vs_RegSO2025"})

Values may be codes or v2 expressions (`*`, `05*`, `TOP(n)`, `BOTTOM(n)`, `RANGE(a,b)`, `FROM(a)`, `TO(a)`);
`plan()` expands them against the metadata before anything is sent. v1 bodies map codelists `vs_X` /
`agg_X` to v1 filters `vs:X` / `agg:X` (and back), `all` to `*` and `top` n to `TOP(n)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import QueryError


@dataclass(frozen=True)
class Selection:
    code: str
    values: tuple[str, ...]
    codelist: str | None = None

    def to_dict(self) -> dict:
        d: dict = {"variableCode": self.code, "valueCodes": list(self.values)}
        if self.codelist:
            d["codelist"] = self.codelist
        return d


@dataclass(frozen=True)
class Query:
    table: str
    selections: tuple[Selection, ...]

    # ---- construction
    @classmethod
    def of(
        cls,
        table: str,
        selections: Mapping[str, Sequence[str] | str],
        codelists: Mapping[str, str] | None = None,
    ) -> Query:
        codelists = dict(codelists or {})
        unknown = set(codelists) - set(selections)
        if unknown:
            raise QueryError(f"table {table}: codelist given for unselected variable(s) {sorted(unknown)}")
        sels = []
        for code, values in selections.items():
            vals = (values,) if isinstance(values, str) else tuple(str(v) for v in values)
            sels.append(Selection(code, vals, codelists.get(code)))
        return cls(table, tuple(sels))

    @classmethod
    def from_v2_body(cls, table: str, body: Mapping) -> Query:
        try:
            sels = tuple(
                Selection(str(s["variableCode"]), tuple(str(v) for v in s.get("valueCodes", [])), s.get("codelist"))
                for s in body["selection"]
            )
        except (KeyError, TypeError) as exc:
            raise QueryError(f"table {table}: not a v2 query body ({exc})") from exc
        return cls(table, sels)

    @classmethod
    def from_v1_body(cls, table: str, body: Mapping) -> Query:
        sels = []
        try:
            for q in body["query"]:
                sel = q["selection"]
                filt = str(sel.get("filter", "item"))
                values = tuple(str(v) for v in sel.get("values", []))
                codelist = None
                if filt == "all":
                    values = tuple(values or ("*",))
                elif filt == "top":
                    values = tuple(f"TOP({v})" for v in values[:1])
                elif ":" in filt:
                    kind, name = filt.split(":", 1)
                    codelist = f"{kind}_{name}"
                elif filt != "item":
                    raise QueryError(f"table {table}: v1 filter {filt!r} is not supported")
                sels.append(Selection(str(q["code"]), values, codelist))
        except (KeyError, TypeError) as exc:
            raise QueryError(f"table {table}: not a v1 query body ({exc})") from exc
        return cls(table, tuple(sels))

    @classmethod
    def from_body(cls, table: str, body: Mapping) -> Query:
        return cls.from_v1_body(table, body) if "query" in body else cls.from_v2_body(table, body)

    # ---- bodies
    def to_v2_body(self) -> dict:
        return {"selection": [s.to_dict() for s in self.selections]}

    def to_v1_body(self, response_format: str = "json-stat2") -> dict:
        out = []
        for s in self.selections:
            if s.codelist:
                kind, _, name = s.codelist.partition("_")
                filt = f"{kind}:{name}" if name else f"vs:{s.codelist}"
            else:
                filt = "item"
            out.append({"code": s.code, "selection": {"filter": filt, "values": list(s.values)}})
        return {"query": out, "response": {"format": response_format}}

    # ---- helpers
    def codelists(self) -> dict[str, str]:
        return {s.code: s.codelist for s in self.selections if s.codelist}

    def selection(self, code: str) -> Selection | None:
        for s in self.selections:
            if s.code == code:
                return s
        return None

    def canonical(self) -> dict:
        return {"table": self.table, **self.to_v2_body()}

    def key(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def cells(self) -> int:
        n = 1
        for s in self.selections:
            n *= len(s.values)
        return n

    def describe(self, max_codes: int = 3) -> str:
        parts = []
        for s in self.selections:
            vals = list(s.values)
            if len(vals) <= max_codes:
                shown = ",".join(vals)
            else:
                shown = f"{vals[0]}..{vals[-1]} ({len(vals)} codes)"
            cl = f"[{s.codelist}]" if s.codelist else ""
            parts.append(f"{s.code}{cl}={shown}")
        return "; ".join(parts)
