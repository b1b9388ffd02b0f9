"""The investment register: a municipality's social investments, read from data/investments/.

One YAML file per municipality (`<municipality code>_<name>.yaml`, see data/investments/README.md).
This module only reads the files and checks their *shape* (required fields, types, dates that
parse, no unknown fields), naming the file, the investment and the field. Whether the contents
make sense - a known district, an end after the start, unique names, outcomes in the catalogue -
is the suite `stg_investments`'s job (expectations/), like every other rule on data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import yaml

from pipelines.settings import NEEDS_INDEX_FILE

REQUIRED = ("name", "districts", "target_group", "start", "end", "outcomes", "purpose")
OPTIONAL = ("budget_sek", "partners", "source", "gaps", "baseline_year", "comparison", "matching_indicators")
COMPARISON_KEYS = ("universe", "count")

SCHEMA = {
    "file": pl.String,
    "position": pl.Int32,  # the investment's place in its file, 1 = first
    "municipality_code": pl.String,
    "investment_id": pl.String,
    "name": pl.String,
    "districts": pl.List(pl.String),
    "target_group": pl.String,
    "age_from": pl.Int32,
    "age_to": pl.Int32,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "budget_sek": pl.Float64,
    "outcomes": pl.List(pl.String),
    "purpose": pl.String,
    "partners": pl.String,
    "source": pl.String,
    "gaps": pl.List(pl.String),
    "baseline_year": pl.Int32,
    "comparison_universe": pl.String,
    "comparison_count": pl.Int32,
    "matching_indicators": pl.List(pl.String),
}


class _TextDates(yaml.SafeLoader):
    """YAML without its own date parsing: a date stays text until `_date` reads it, so a bad one is
    reported with its investment and field rather than as a YAML error."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class RegisterError(ValueError):
    """A register file whose shape is wrong: it names the file, the investment and the field."""


def default_matching_indicators(path: Path = NEEDS_INDEX_FILE) -> list[str]:
    """Comparison districts are matched on the default needs index's indicators."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [i for theme in spec["themes"].values() for i in theme]


def _where(file: str, name: str | None, field: str) -> str:
    return f"investment register {file}: " + (f"investment {name!r}: " if name else "") + f"field {field!r}"


def _date(value, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RegisterError(f"{where}: {value!r} is not a date (write YYYY-MM-DD, or null if the source gives none)") from None


def _strings(value, where: str, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegisterError(f"{where}: must be a list of names")
    if not value and not allow_empty:
        raise RegisterError(f"{where}: must name at least one")
    return [v.strip() for v in value]


def _int(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RegisterError(f"{where}: {value!r} is not a whole number")
    return value


def _investment(file: str, municipality: str, position: int, entry, matching: list[str]) -> dict:
    if not isinstance(entry, dict):
        raise RegisterError(f"investment register {file}: investment number {position} is not a mapping of fields")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RegisterError(f"{_where(file, None, 'name')}: investment number {position} has no name")
    name = " ".join(name.split())
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise RegisterError(f"{_where(file, name, missing[0])}: missing (required: {', '.join(REQUIRED)})")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise RegisterError(f"{_where(file, name, unknown[0])}: unknown field (known: {', '.join(REQUIRED + OPTIONAL)})")

    target = entry["target_group"]
    ages = target.get("ages") if isinstance(target, dict) else None
    if not isinstance(target, dict) or not isinstance(target.get("description"), str) or not (
        isinstance(ages, list) and len(ages) == 2 and all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
    ):
        raise RegisterError(f"{_where(file, name, 'target_group')}: needs a description and ages: [from, to] in whole years")
    budget = entry.get("budget_sek")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))):
        raise RegisterError(f"{_where(file, name, 'budget_sek')}: {budget!r} is not a number of kronor")
    comparison = entry.get("comparison") or {}
    if not isinstance(comparison, dict) or set(comparison) - set(COMPARISON_KEYS):
        raise RegisterError(f"{_where(file, name, 'comparison')}: may hold only {', '.join(COMPARISON_KEYS)}")
    gaps = _strings(entry.get("gaps") or [], _where(file, name, "gaps"))
    start = _date(entry["start"], _where(file, name, "start"))
    end = _date(entry["end"], _where(file, name, "end"))
    districts = _strings(entry["districts"], _where(file, name, "districts"))
    if (start is None or end is None or not districts) and not gaps:
        # an investment may be registered before all is known, but never silently incomplete
        raise RegisterError(
            f"{_where(file, name, 'gaps')}: a missing start, end or district must be explained under gaps"
        )
    return {
        "file": file,
        "position": position,
        "municipality_code": municipality,
        "investment_id": f"{municipality}:{name}",
        "name": name,
        "districts": districts,
        "target_group": target["description"].strip(),
        "age_from": ages[0],
        "age_to": ages[1],
        "start_date": start,
        "end_date": end,
        "budget_sek": float(budget) if budget is not None else None,
        "outcomes": _strings(entry["outcomes"], _where(file, name, "outcomes"), allow_empty=False),
        "purpose": " ".join(str(entry["purpose"]).split()),
        "partners": entry.get("partners"),
        "source": entry.get("source"),
        "gaps": gaps,
        "baseline_year": _int(entry.get("baseline_year"), _where(file, name, "baseline_year")),
        "comparison_universe": comparison.get("universe"),
        "comparison_count": _int(comparison.get("count"), _where(file, name, "comparison.count")),
        "matching_indicators": _strings(entry.get("matching_indicators") or matching, _where(file, name, "matching_indicators")),
    }


def read_register_file(path: Path, matching: list[str]) -> list[dict]:
    file = path.name
    municipality = file.split("_", 1)[0]
    if not (len(municipality) == 4 and municipality.isdigit()):
        raise RegisterError(f"investment register {file}: the name must start with a 4-digit municipality code")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDates)
    except yaml.YAMLError as exc:
        raise RegisterError(f"investment register {file}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("investments"), list):
        raise RegisterError(f"investment register {file}: needs `municipality:` and a list `investments:`")
    if str(doc.get("municipality")) != municipality:
        raise RegisterError(
            f"investment register {file}: municipality {doc.get('municipality')!r} does not match the file name's {municipality}"
        )
    return [_investment(file, municipality, n, e, matching) for n, e in enumerate(doc["investments"], start=1)]


def load_register(directory: Path) -> pl.DataFrame:
    """Every investment of every register file, one row each (lists kept as lists)."""
    matching = default_matching_indicators()
    rows = [row for path in sorted(directory.glob("*.yaml")) for row in read_register_file(path, matching)]
    return pl.DataFrame(rows, schema=SCHEMA)
