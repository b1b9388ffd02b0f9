"""Planning (expansion, fewest calls, lower bound), query bodies, and the sliding-window limiter."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import pytest

from pipelines.sources.pxweb import (
    EmptySelectionError,
    Query,
    QueryError,
    SlidingWindowLimiter,
    TableMetadata,
    Variable,
    best_split,
    parse_metadata,
    plan,
)

FIX = Path(__file__).parent / "fixtures" / "pxweb"
META = parse_metadata((FIX / "constructed" / "v2_TAB6574_metadata_norrkoping_regso2025.json").read_bytes(), "TAB6574")


def q(**sel):
    return Query.of("TAB6574", sel, codelists={"Region": "vs_RegSO2025"} if "Region" in sel else None)


def test_expand_expressions():
    p = plan(q(Region=["0581R00*"], Alder=["totalt", "-4"], Kon=["1+2"], ContentsCode=["*"], Tid=["TOP(1)"]), META, 10**6)
    sel = {s.code: s.values for s in p.expanded.selections}
    assert sel["Region"] == tuple(f"0581R00{i}_RegSO2025" for i in range(1, 10))
    assert sel["Tid"] == ("2024",)  # TOP on time = the newest
    assert sel["ContentsCode"] == ("000007Y7",)
    p2 = plan(q(Region=["RANGE(0581R038_RegSO2025,0581R040_RegSO2025)"], ContentsCode=["000007Y7"], Tid=["FROM(2023)"]), META, 10**6)
    assert [s.values for s in p2.expanded.selections] == [
        ("0581R038_RegSO2025", "0581R039_RegSO2025", "0581R040_RegSO2025"),
        ("000007Y7",),
        ("2023", "2024"),
    ]
    assert p2.calls == 1 and p2.cells == 6  # Alder and Kon eliminated


def test_plan_fits_in_one_call():
    p = plan(q(Region=["*"], Alder=["*"], Kon=["*"], ContentsCode=["000007Y7"], Tid=["2024"]), META, 150_000)
    assert (p.cells, p.calls, p.lower_bound) == (2160, 1, 1)
    assert p.chunks[0].selections == p.expanded.selections


def test_over_limit_query_is_split_into_fewest_calls():
    p = plan(q(Region=["*"], Alder=["*"], Kon=["*"], ContentsCode=["000007Y7"], Tid=["*"]), META, 1000)
    assert p.cells == 40 * 18 * 3 * 2 == 4320
    assert p.lower_bound == 5
    assert p.calls == 5  # achieves the bound: Region cut in 5 pieces of 8 (864 cells each)
    assert p.pieces == {"Region": 5, "Alder": 1, "Kon": 1, "ContentsCode": 1, "Tid": 1}
    assert all(c.cells() <= 1000 for c in p.chunks)
    # the chunks cover the query exactly once
    cells = [cell for c in p.chunks for cell in itertools.product(*(s.values for s in c.selections))]
    assert len(cells) == len(set(cells)) == p.cells
    assert "5 call(s) (lower bound 5" in p.describe()


def _brute(sizes, limit):
    return min(
        math.prod(ks)
        for ks in itertools.product(*(range(1, n + 1) for n in sizes))
        if math.prod(-(-n // k) for n, k in zip(sizes, ks)) <= limit
    )


def test_best_split_is_minimal_against_brute_force():
    rng = random.Random(7)
    for _ in range(150):
        sizes = [rng.randint(1, 9) for _ in range(rng.randint(1, 4))]
        limit = rng.randint(1, 120)
        pieces = best_split(sizes, limit)
        assert math.prod(-(-n // k) for n, k in zip(sizes, pieces)) <= limit
        assert math.prod(pieces) == _brute(sizes, limit), (sizes, limit, pieces)
        assert math.prod(pieces) >= math.ceil(math.prod(sizes) / limit)


def test_best_split_realistic_sizes_are_fast_and_prefer_the_largest_dimension():
    # all DeSO 2025 x 18 ages x 3 sexes x 16 years under SCB's 150,000 cells
    pieces = best_split([6160, 18, 3, 1, 16], 150_000)
    assert math.prod(pieces) == math.ceil(6160 * 18 * 3 * 16 / 150_000) == 36
    assert pieces[1:] == [1, 1, 1, 1]


def test_empty_selection_and_unknown_codes():
    with pytest.raises(EmptySelectionError, match="TAB6574.*Region selects no values"):
        plan(q(Region=[], ContentsCode=["000007Y7"], Tid=["2024"]), META, 1000)
    with pytest.raises(EmptySelectionError, match=r"TAB6574.*\['9999\*'\] matched nothing"):
        plan(q(Region=["9999*"], ContentsCode=["000007Y7"], Tid=["2024"]), META, 1000)
    with pytest.raises(QueryError, match="TAB6574.*Region has no code.*0581R099"):
        plan(q(Region=["0581R099_RegSO2025"], ContentsCode=["000007Y7"], Tid=["2024"]), META, 1000)
    with pytest.raises(QueryError, match="Tid.*cannot be eliminated"):
        plan(q(Region=["*"], ContentsCode=["000007Y7"]), META, 1000)
    with pytest.raises(QueryError, match="Alder2 is not in the table's metadata"):
        plan(Query.of("TAB6574", {"Alder2": ["x"], "ContentsCode": ["000007Y7"], "Tid": ["2024"]}), META, 1000)


def test_query_bodies_v1_v2_round_trip():
    query = Query.of("TAB6574", {"Region": ["0581C1110_DeSO2025"], "Tid": ["2024"]}, codelists={"Region": "vs_DeSO2025"})
    body = query.to_v2_body()
    assert body == {
        "selection": [
            {"variableCode": "Region", "valueCodes": ["0581C1110_DeSO2025"], "codelist": "vs_DeSO2025"},
            {"variableCode": "Tid", "valueCodes": ["2024"]},
        ]
    }
    assert Query.from_body("TAB6574", body) == query
    v1 = query.to_v1_body()
    assert v1["query"][0] == {"code": "Region", "selection": {"filter": "vs:DeSO2025", "values": ["0581C1110_DeSO2025"]}}
    assert v1["response"] == {"format": "json-stat2"}
    assert Query.from_body("TAB6574", v1) == query
    assert query.key() == Query.from_body("TAB6574", v1).key()
    top = Query.from_v1_body("X", {"query": [{"code": "Tid", "selection": {"filter": "top", "values": ["2"]}}]})
    assert top.selections[0].values == ("TOP(2)",)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def time(self):
        return self.now

    def sleep(self, d):
        self.slept.append(d)
        self.now += d


def test_limiter_never_exceeds_n_calls_in_any_window():
    clock = FakeClock()
    lim = SlidingWindowLimiter(5, 10.0, clock=clock.time, sleep=clock.sleep)
    arrivals = []
    rng = random.Random(3)
    for _ in range(40):
        with lim.slot():
            arrivals.append(clock.now)  # the server sees the request when it starts ...
            clock.now += rng.uniform(0.01, 3.0)  # ... and answers some time later
        clock.now += rng.choice([0.0, 0.0, 0.5])
    # in every window [t, t+10) the server saw at most 5 requests
    for t in arrivals:
        assert sum(1 for a in arrivals if t <= a < t + 10.0) <= 5
    assert clock.slept, "the limiter should have had to wait"
    # and it does not wait needlessly: 40 calls at 5 per 10 s take about 7 windows, not much more
    assert arrivals[-1] < 8 * 10.0 + 40 * 3.0


def test_limiter_spacing_is_exact_for_instant_calls():
    clock = FakeClock()
    lim = SlidingWindowLimiter(3, 10.0, clock=clock.time, sleep=clock.sleep, margin=0.0)
    starts = []
    for _ in range(7):
        with lim.slot():
            starts.append(clock.now)
    assert starts == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]


def test_metadata_variable_lookup():
    m = TableMetadata("T", "t", (Variable("A", "a", ("1", "2"), elimination=True),))
    assert m.variable("A").values == ("1", "2") and m.variable("B") is None
