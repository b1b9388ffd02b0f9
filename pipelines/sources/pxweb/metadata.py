"""Table metadata (variables and their codes) from PxWeb v2 (JSON-stat2 or the older json-px/beta shape) and v1."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FormatError
from .jsonstat import _unwrap, category_codes, loads


@dataclass(frozen=True)
class Variable:
    code: str
    label: str
    values: tuple[str, ...]
    value_labels: tuple[str, ...] = ()
    elimination: bool = False
    is_time: bool = False
    codelists: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableMetadata:
    table_id: str
    label: str
    variables: tuple[Variable, ...]
    updated: str = ""

    @property
    def codes(self) -> list[str]:
        return [v.code for v in self.variables]

    def variable(self, code: str) -> Variable | None:
        for v in self.variables:
            if v.code == code:
                return v
        return None


def parse_metadata(doc: dict | bytes | str, table_id: str = "") -> TableMetadata:
    if not isinstance(doc, dict):
        doc = loads(doc, what=f"metadata of {table_id or 'table'}")
    if ("id" in doc and "size" in doc and "dimension" in doc) or isinstance(doc.get("dataset"), dict):
        return _from_jsonstat2(doc, table_id)
    if isinstance(doc.get("variables"), list):
        vs = doc["variables"]
        if vs and "values" in vs[0] and vs[0]["values"] and isinstance(vs[0]["values"][0], dict):
            return _from_v2_px(doc, table_id)
        return _from_v1(doc, table_id)
    raise FormatError(f"metadata of {table_id or 'table'}: unknown shape (keys {sorted(doc)[:10]})")


def _from_jsonstat2(doc: dict, table_id: str) -> TableMetadata:
    ds, ids, sizes, roles = _unwrap(doc)
    time = set(roles.get("time") or [])
    out = []
    for dim, size in zip(ids, sizes):
        d = ds["dimension"][dim]
        codes = category_codes(d, None, dim)
        labels = (d.get("category") or {}).get("label") or {}
        ext = d.get("extension") or {}
        out.append(
            Variable(
                code=dim,
                label=str(d.get("label", dim)),
                values=tuple(codes),
                value_labels=tuple(str(labels.get(c, c)) for c in codes),
                elimination=bool(ext.get("elimination", False)),
                is_time=dim in time,
                codelists=tuple(str(c.get("id")) for c in (ext.get("codelists") or []) if isinstance(c, dict)),
            )
        )
    px = (ds.get("extension") or {}).get("px") or {}
    return TableMetadata(
        table_id=table_id or str(px.get("tableid") or px.get("matrix") or ""),
        label=str(ds.get("label", "")),
        variables=tuple(out),
        updated=str(ds.get("updated", "") or ""),
    )


def _from_v2_px(doc: dict, table_id: str) -> TableMetadata:
    out = []
    for v in doc["variables"]:
        values = v.get("values") or []
        out.append(
            Variable(
                code=str(v.get("id") or v.get("code")),
                label=str(v.get("label", "")),
                values=tuple(str(x["code"]) for x in values),
                value_labels=tuple(str(x.get("label", x["code"])) for x in values),
                elimination=bool(v.get("elimination", False)),
                is_time=str(v.get("type", "")).lower().startswith("time"),
                codelists=tuple(str(c.get("id")) for c in (v.get("codeLists") or v.get("codelists") or [])),
            )
        )
    return TableMetadata(
        table_id=table_id or str(doc.get("id", "")),
        label=str(doc.get("label", "")),
        variables=tuple(out),
        updated=str(doc.get("updated", "") or ""),
    )


def _from_v1(doc: dict, table_id: str) -> TableMetadata:
    out = []
    for v in doc["variables"]:
        values = [str(x) for x in v.get("values") or []]
        texts = [str(x) for x in v.get("valueTexts") or values]
        out.append(
            Variable(
                code=str(v["code"]),
                label=str(v.get("text", v["code"])),
                values=tuple(values),
                value_labels=tuple(texts),
                elimination=bool(v.get("elimination", False)),
                is_time=bool(v.get("time", False)),
            )
        )
    return TableMetadata(table_id=table_id, label=str(doc.get("title", "")), variables=tuple(out))
