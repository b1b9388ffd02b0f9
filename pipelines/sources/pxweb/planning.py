"""Planning a fetch: expand a query against the metadata and split it into the fewest calls under the cell limit.

`plan(query, metadata, max_cells)` is pure. A chunk is a sub-box of the query (a subset of the codes of
each variable), so a plan is a choice of how many pieces `k_i` to cut each variable into; a chunk then
holds at most `prod(ceil(n_i / k_i))` cells, which must be <= max_cells, and the plan makes
`prod(k_i)` calls. The search is a small branch-and-bound over the useful piece counts of every variable
(for each chunk width `c`, the fewest pieces `ceil(n/c)`), pruned with the lower bound
`ceil(remaining cells / remaining budget)`, so it finds the true minimum number of box-shaped calls.
Ties prefer cutting the largest variables (e.g. Region) and leaving small ones (Kon, Tid) whole. Pieces
are balanced (sizes differ by at most one). The plan reports its calls next to the absolute lower bound
`ceil(cells / max_cells)`; box-shaped chunks can need a few more calls than that bound.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import product

from .errors import EmptySelectionError, QueryError
from .metadata import TableMetadata, Variable
from .query import Query, Selection

_FUNC_RE = re.compile(r"^\s*(TOP|BOTTOM|RANGE|FROM|TO)\s*\(([^)]*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Plan:
    table: str
    query: Query  # as asked
    expanded: Query  # concrete codes, metadata order kept within each variable's request
    chunks: tuple[Query, ...]
    cells: int
    max_cells: int
    lower_bound: int
    pieces: dict[str, int] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return len(self.chunks)

    def describe(self) -> str:
        cut = ", ".join(f"{k}/{v}" for k, v in self.pieces.items() if v > 1) or "none"
        return (
            f"table {self.table}: {self.cells:,} cells in {self.calls} call(s) "
            f"(lower bound {self.lower_bound}, limit {self.max_cells:,} cells per call; pieces {cut})"
        )


def _glob(pattern: str) -> re.Pattern:
    return re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$")


def expand_values(var: Variable, values: tuple[str, ...], *, table: str, trust_unknown: bool = False) -> list[str]:
    """Codes and v2 expressions -> concrete codes, in the order asked (duplicates dropped)."""
    all_codes = list(var.values)
    known = set(all_codes)
    out: list[str] = []
    unknown: list[str] = []
    for raw in values:
        m = _FUNC_RE.match(raw)
        if m:
            func = m.group(1).upper()
            args = [a.strip() for a in m.group(2).split(",") if a.strip()]
            try:
                if func in ("TOP", "BOTTOM"):
                    count = int(args[0])
                    offset = int(args[1]) if len(args) > 1 else 0
                    # time: TOP = newest (the end of SCB's ascending list); others: TOP = first in list
                    seq = all_codes[::-1] if (func == "TOP") == var.is_time else all_codes
                    picked = seq[offset : offset + count]
                    out.extend(c for c in all_codes if c in set(picked))
                elif func == "RANGE":
                    a, b = all_codes.index(args[0]), all_codes.index(args[1])
                    out.extend(all_codes[min(a, b) : max(a, b) + 1])
                elif func == "FROM":
                    out.extend(all_codes[all_codes.index(args[0]) :])
                elif func == "TO":
                    out.extend(all_codes[: all_codes.index(args[0]) + 1])
            except (IndexError, ValueError) as exc:
                raise QueryError(f"table {table}: variable {var.code}: cannot evaluate {raw!r} ({exc})") from exc
        elif "*" in raw or "?" in raw:
            pat = _glob(raw)
            out.extend(c for c in all_codes if pat.match(c))
        elif raw in known or trust_unknown:
            out.append(raw)
        else:
            unknown.append(raw)
    if unknown:
        more = f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else ""
        raise QueryError(
            f"table {table}: variable {var.code} has no code(s) {unknown[:5]}{more} in the metadata "
            f"({len(all_codes)} codes, e.g. {all_codes[:3]})"
        )
    seen: set[str] = set()
    return [c for c in out if not (c in seen or seen.add(c))]


def expand(query: Query, metadata: TableMetadata, *, trust_codelists: bool = False) -> Query:
    """Resolve every selection to concrete codes; check variables against the metadata.

    trust_codelists: accept plain codes not in the metadata for selections with a codelist (PxWeb v1's
    metadata does not list value-set codes).
    """
    table = query.table
    seen = set()
    sels = []
    if not query.selections:
        raise EmptySelectionError(f"table {table}: the query selects nothing (no variables)")
    for sel in query.selections:
        if sel.code in seen:
            raise QueryError(f"table {table}: variable {sel.code} selected twice")
        seen.add(sel.code)
        var = metadata.variable(sel.code)
        if var is None:
            raise QueryError(
                f"table {table}: variable {sel.code} is not in the table's metadata (variables {metadata.codes})"
            )
        if not sel.values:
            raise EmptySelectionError(f"table {table}: variable {sel.code} selects no values")
        codes = expand_values(var, sel.values, table=table, trust_unknown=trust_codelists and bool(sel.codelist))
        if not codes:
            raise EmptySelectionError(
                f"table {table}: variable {sel.code} selects no values ({list(sel.values)} matched nothing)"
            )
        sels.append(Selection(sel.code, tuple(codes), sel.codelist))
    missing = [v.code for v in metadata.variables if v.code not in seen and not v.elimination]
    if missing:
        raise QueryError(f"table {table}: variable(s) {missing} cannot be eliminated; select values for them")
    return Query(table, tuple(sels))


def _options(n: int) -> list[tuple[int, int]]:
    """(pieces k, chunk width c = ceil(n/k)) for the useful k: the fewest pieces for each width, k ascending."""
    out, last_c = [], None
    for k in range(1, n + 1):
        c = -(-n // k)
        if c != last_c:
            out.append((k, c))
            last_c = c
    return out


def best_split(sizes: list[int], max_cells: int) -> list[int]:
    """Pieces per dimension minimising the number of box-shaped chunks of at most max_cells cells."""
    if max_cells < 1:
        raise ValueError("max_cells must be at least 1")
    if math.prod(sizes) <= max_cells:
        return [1] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))  # smallest first: kept whole when possible
    opts = [_options(sizes[i]) for i in order]
    rest = [math.prod(sizes[i] for i in order[j:]) for j in range(len(order) + 1)]
    best_calls = math.prod(sizes) + 1
    best: list[int] = list(sizes)
    chosen: list[int] = []

    def dfs(j: int, width: int, calls: int) -> None:
        nonlocal best_calls, best
        if j == len(order):
            if calls < best_calls:
                best_calls, best = calls, list(chosen)
            return
        budget = max_cells // width
        if calls * -(-rest[j] // budget) >= best_calls:
            return
        for k, c in opts[j]:
            if c > budget:
                continue
            nb = budget // c
            if calls * k * -(-rest[j + 1] // nb) >= best_calls:
                continue
            chosen.append(k)
            dfs(j + 1, width * c, calls * k)
            chosen.pop()

    dfs(0, 1, 1)
    pieces = [1] * len(sizes)
    for j, i in enumerate(order):
        pieces[i] = best[j]
    return pieces


def _groups(values: tuple[str, ...], k: int) -> list[tuple[str, ...]]:
    n = len(values)
    base, extra = divmod(n, k)
    out, start = [], 0
    for g in range(k):
        size = base + (1 if g < extra else 0)
        out.append(values[start : start + size])
        start += size
    return out


def plan(query: Query, metadata: TableMetadata, max_cells: int, *, trust_codelists: bool = False) -> Plan:
    expanded = expand(query, metadata, trust_codelists=trust_codelists)
    sizes = [len(s.values) for s in expanded.selections]
    cells = math.prod(sizes)
    pieces = best_split(sizes, max_cells)
    per_dim = [_groups(s.values, k) for s, k in zip(expanded.selections, pieces)]
    chunks = tuple(
        Query(query.table, tuple(Selection(s.code, g, s.codelist) for s, g in zip(expanded.selections, combo)))
        for combo in product(*per_dim)
    )
    return Plan(
        table=query.table,
        query=query,
        expanded=expanded,
        chunks=chunks,
        cells=cells,
        max_cells=max_cells,
        lower_bound=max(1, -(-cells // max_cells)),
        pieces={s.code: k for s, k in zip(expanded.selections, pieces)},
    )
