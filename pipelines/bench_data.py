"""A national-scale raw layer for the benchmark: the real 2022 snapshot plus 15 generated years.

`generate(raw_dir)` writes, through `pipelines.raw.write_raw_table`, the five raw tables a
`source="raw"` build reads:

  population_age         the real 2022 five-year groups (Kon '1+2', as delivered), plus a
                         generated population by single year of age x sex for every DeSO and
                         every year 2008-2022: SCB's single-year codes '0' ... '99', '100+'
                         and a 'totalt' per sex that equals the sum of its ages (Kon '1', '2';
                         no '1+2', like a table that delivers men and women only)
  population_background  the real 2022 table, plus 2008-2021: 'SA' = that year's population of
                         the age table, '1' + '2' = 'SA' (Kon '1+2', the real table's shape)
  education              the real 2022 table, plus 2008-2021: the five levels sum to the age
                         table's population aged 25-64 of the DeSO and year
  income                 the real 2022 table, plus 2008-2021: a median deflated per year and the
                         number of people aged 20+ of the age table
  deso_regso_key         the real key

How a year is derived, deterministically from the real 2022 five-year groups and `seed`:
  - each DeSO's five-year group is scaled to the year: Sweden's population that year relative
    to 2022 (SCB's published year-end totals), times a per-DeSO growth drawn once from the seed,
    so DeSO grow at different rates (2022 keeps the real counts exactly);
  - the scaled group is split over its single years of age and the two sexes by a multinomial
    draw (seeded per year) with fixed weights: even within a group under 80, falling with age
    from 80 to '100+', slightly more boys than girls at young ages and more women at old ages.
    In 2022 the single years therefore sum exactly to the real groups, per DeSO;
  - background, education and income shares move with a fixed trend back from their real 2022
    value per DeSO (more people with Swedish background, less post-secondary education, lower
    median incomes in earlier years), drawn by seeded binomials so counts stay whole and sum.

For 2022 the age table holds both the real groups ('1+2') and the generated single years
('1', '2'); the build takes SCB's '1+2' where delivered (sql/ind_deso_counts.sql), so the 2022
profiles are the real snapshot's and the generated 2022 cells weigh on the build's work only.

`counties` restricts everything (the key included) to some counties, for a small test build.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.raw import DELIVERED, Provenance, RawTable, now_utc, write_raw_table
from pipelines.settings import DEFAULT_SNAPSHOT, REPO_ROOT
from pipelines.sources.embedded import embedded_table_names, land_embedded_table

REAL_YEAR = 2022
YEARS = tuple(range(2008, REAL_YEAR + 1))  # 15 years
SEED = 20221231
SOURCE = f"generated:bench ({DEFAULT_SNAPSHOT} split into single years and scaled per year)"

# SCB's published population of Sweden on 31 December (BE0101, Folkmängd i riket), used only as
# the per-year scale of the generated years. 2022 is the real snapshot's own total.
NATIONAL_POPULATION = {
    2008: 9_256_347, 2009: 9_340_682, 2010: 9_415_570, 2011: 9_482_855, 2012: 9_555_893,
    2013: 9_644_864, 2014: 9_747_355, 2015: 9_851_017, 2016: 9_995_153, 2017: 10_120_242,
    2018: 10_230_185, 2019: 10_327_589, 2020: 10_379_295, 2021: 10_452_326, 2022: 10_521_556,
}

SINGLE_AGES = 101  # 0 ... 99 and '100+'
AGE_CODES = [str(a) for a in range(100)] + ["100+"]
SEX_CODES = ["1", "2"]  # men, women
EDUCATION_LEVELS = ["21", "3+4", "5", "6", "US"]


@dataclass(frozen=True)
class Band:
    code: str
    lo: int
    hi: int  # inclusive index into SINGLE_AGES (100 = '100+')


def _band(code: str) -> Band:
    if code.startswith("-"):
        return Band(code, 0, int(code[1:]))
    lo, _, hi = code.partition("-")
    return Band(code, int(lo), int(hi) if hi else SINGLE_AGES - 1)


def _split_weights(band: Band) -> np.ndarray:
    """Weights of the (age, sex) cells of a band, shape (ages, 2), summing to 1."""
    ages = np.arange(band.lo, band.hi + 1)
    if band.lo >= 80:
        age_w = np.exp(-0.2 * (ages - band.lo))  # about 0.3 % of those 80+ are 100+, as in Sweden
    else:
        age_w = np.ones(len(ages))
    men = np.clip(0.513 - 0.0012 * np.maximum(ages - 45, 0) - 0.004 * np.maximum(ages - 80, 0), 0.25, 0.52)
    w = np.stack([age_w * men, age_w * (1 - men)], axis=1)
    return w / w.sum()


def _multinomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """A multinomial draw per row: n (rows,) whole counts, p (rows, k) row-wise probabilities.
    Conditional binomials, so each row's parts sum exactly to its n."""
    n = n.astype(np.int64)
    out = np.zeros(p.shape, dtype=np.int64)
    left = n.copy()
    mass = np.ones(len(n))
    for j in range(p.shape[1] - 1):
        q = np.divide(p[:, j], mass, out=np.zeros(len(n)), where=mass > 1e-12)
        out[:, j] = rng.binomial(left, np.clip(q, 0.0, 1.0))
        left -= out[:, j]
        mass = mass - p[:, j]
    out[:, -1] = left
    return out


def _long(desos: pl.Series, values: np.ndarray, dims: dict[str, list[str]], year: int) -> pl.DataFrame:
    """Cells of one year from values shaped (DeSO, *dims): one row per cell, raw-layer columns."""
    shape = values.shape
    flat = np.arange(values.size)
    cols = {"Region": desos.gather(flat // (values.size // shape[0]))}
    for axis, (name, codes) in enumerate(dims.items(), start=1):
        stride = int(np.prod(shape[axis + 1 :], dtype=np.int64))
        cols[name] = pl.Series(name, codes).gather((flat // stride) % shape[axis])
    return pl.DataFrame(cols).with_columns(
        pl.lit(str(year)).alias("Tid"),
        pl.lit("DeSO2018").alias("boundary_version"),
        pl.Series("value", values.reshape(-1).astype(np.float64)),
        pl.lit(DELIVERED).alias("status"),
    )


def _pivot(cells: pl.DataFrame, dim: str, desos: pl.Series, codes: list[str]) -> np.ndarray:
    wide = (
        cells.pivot(on=dim, index="Region", values="value", aggregate_function=None)
        .join(pl.DataFrame({"Region": desos}), on="Region", how="right")
        .select(codes)
    )
    return wide.to_numpy().astype(np.float64)


def _provenance(real: Provenance, note: str, years: tuple[int, ...]) -> Provenance:
    return Provenance(
        source=SOURCE,
        source_table=real.source_table,
        title=real.title + " — generated benchmark years",
        reference_year=f"{min(years)}-{max(years)}" if len(years) > 1 else str(years[0]),
        boundary_version=real.boundary_version,
        updated=real.updated,
        fetched_at=now_utc(),
        query={"generated_from": real.query, "years": list(years)},
        dimension_labels=real.dimension_labels,
        notes=[*real.notes, note],
    )


def generate(
    raw_dir: Path,
    years: tuple[int, ...] | list[int] = YEARS,
    counties: list[str] | None = None,
    seed: int = SEED,
    snapshot_dir: Path | None = None,
) -> dict[str, int]:
    """Write the benchmark's raw layer into raw_dir; returns the rows written per table."""
    years = tuple(sorted(set(int(y) for y in years)))
    if not years or min(years) < min(NATIONAL_POPULATION) or max(years) > REAL_YEAR:
        raise ValueError(f"years must lie within {min(NATIONAL_POPULATION)}-{REAL_YEAR}")
    snapshot_dir = snapshot_dir or REPO_ROOT / "data" / "embedded" / DEFAULT_SNAPSHOT
    real: dict[str, RawTable] = {}
    for name in embedded_table_names(snapshot_dir):
        table, _ = land_embedded_table(snapshot_dir, name)
        cells = table.cells
        if counties:
            cells = cells.filter(pl.col("Region").str.slice(0, 2).is_in(list(counties)))
        real[name] = RawTable(name, table.provenance, cells)

    desos = real["deso_regso_key"].cells["Region"].unique().sort()
    n_deso = len(desos)
    rng0 = np.random.default_rng([seed, 0])
    growth = 1 + rng0.normal(0.0, 0.012, n_deso)  # per-DeSO yearly growth on top of the nation's

    # The real 2022 five-year groups, (DeSO, band).
    age_real = real["population_age"].cells
    band_codes = [c for c in age_real["Alder"].unique(maintain_order=True).to_list() if c != "totalt"]
    bands = [_band(c) for c in band_codes]
    if [b.lo for b in bands][0] != 0 or bands[-1].hi != SINGLE_AGES - 1:
        raise ValueError(f"unexpected age groups in the snapshot: {band_codes}")
    groups_2022 = _pivot(age_real.filter(pl.col("Kon") == "1+2"), "Alder", desos, band_codes)
    if np.isnan(groups_2022).any():
        raise ValueError("the snapshot's age table has undelivered cells; the generator expects none")
    weights = [_split_weights(b) for b in bands]

    bg_real = _pivot(real["population_background"].cells, "UtlBakgrund", desos, ["1", "SA"])
    foreign_share = np.divide(bg_real[:, 0], bg_real[:, 1], out=np.zeros(n_deso), where=bg_real[:, 1] > 0)
    edu_real = _pivot(real["education"].cells, "UtbildningsNiva", desos, EDUCATION_LEVELS)
    edu_tot = edu_real.sum(axis=1, keepdims=True)
    national_edu = edu_real.sum(axis=0) / edu_real.sum()
    edu_share = np.where(edu_tot > 0, edu_real / np.where(edu_tot > 0, edu_tot, 1), national_edu)
    inc_real = _pivot(real["income"].cells, "ContentsCode", desos, ["median_tkr", "antal_personer"])
    rng_inc = np.random.default_rng([seed, 1])
    inc_noise = rng_inc.normal(0.0, 0.004, n_deso)

    age_frames, bg_frames, edu_frames, inc_frames = [], [], [], []
    for year in years:
        back = REAL_YEAR - year
        rng = np.random.default_rng([seed, year])
        scale = NATIONAL_POPULATION[year] / NATIONAL_POPULATION[REAL_YEAR] * growth ** (-back)
        groups = groups_2022 if back == 0 else np.rint(groups_2022 * scale[:, None])
        single = np.zeros((n_deso, 2, SINGLE_AGES + 1), dtype=np.int64)  # [:, sex, 0] = 'totalt'
        for j, (band, w) in enumerate(zip(bands, weights)):
            draw = _multinomial(rng, groups[:, j], np.broadcast_to(w.reshape(-1), (n_deso, w.size)))
            draw = draw.reshape(n_deso, -1, 2)  # (DeSO, ages of the band, sex)
            single[:, :, 1 + band.lo : 2 + band.hi] = draw.transpose(0, 2, 1)
        single[:, :, 0] = single[:, :, 1:].sum(axis=2)
        age_frames.append(_long(desos, single, {"Kon": SEX_CODES, "Alder": ["totalt", *AGE_CODES]}, year))
        if back == 0:
            continue  # 2022: the real background, education and income tables
        both = single.sum(axis=1)  # (DeSO, 1 + ages), both sexes
        population = both[:, 0]
        pop_25_64 = both[:, 1 + 25 : 1 + 65].sum(axis=1)
        pop_20_plus = both[:, 1 + 20 :].sum(axis=1)

        foreign = rng.binomial(population, np.clip(foreign_share * (1 - 0.022 * back), 0, 1))
        bg = np.stack([foreign, population - foreign, population], axis=1)
        bg_frames.append(_long(desos, bg[:, None, :], {"Kon": ["1+2"], "UtlBakgrund": ["1", "2", "SA"]}, year))

        trend = np.array([1 + 0.035 * back, 1 + 0.004 * back, 1 - 0.012 * back, 1 - 0.02 * back, 1.0])
        p = edu_share * trend
        p = p / p.sum(axis=1, keepdims=True)
        edu = _multinomial(rng, pop_25_64, p)
        edu_frames.append(_long(desos, edu, {"UtbildningsNiva": EDUCATION_LEVELS}, year))

        median = np.round(inc_real[:, 0] * (1 - 0.014 * back) * (1 + inc_noise * back), 1)
        inc = np.stack([median, pop_20_plus.astype(np.float64)], axis=1)
        inc_frames.append(_long(desos, inc, {"ContentsCode": ["median_tkr", "antal_personer"]}, year))

    def cells_like(real_table: RawTable, frames: list[pl.DataFrame]) -> pl.DataFrame:
        columns = real_table.cells.columns
        return pl.concat([real_table.cells, *(f.select(columns) for f in frames)], how="vertical")

    extra_years = tuple(y for y in years if y != REAL_YEAR)
    out = {
        "population_age": RawTable(
            "population_age",
            _provenance(real["population_age"].provenance,
                        f"generated single years x sex for {', '.join(map(str, years))} (seed {seed}), "
                        "besides SCB's real 2022 five-year groups", tuple(sorted({*years, REAL_YEAR}))),
            cells_like(real["population_age"], age_frames),
        )
    }
    for name, frames in (("population_background", bg_frames), ("education", edu_frames), ("income", inc_frames)):
        note = f"generated {', '.join(map(str, extra_years)) or 'no'} extra year(s) (seed {seed}), besides SCB's real 2022"
        out[name] = RawTable(name, _provenance(real[name].provenance, note, tuple(sorted({*extra_years, REAL_YEAR}))),
                             cells_like(real[name], frames))
    out["deso_regso_key"] = real["deso_regso_key"]
    rows: dict[str, int] = {}
    for name, table in out.items():
        write_raw_table(raw_dir, table)
        rows[name] = table.cells.height
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the benchmark's national-scale raw layer.")
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("--years", default=f"{YEARS[0]}-{YEARS[-1]}", help="e.g. 2008-2022 or 2021,2022")
    parser.add_argument("--counties", default="", help="comma-separated county codes (default: all)")
    args = parser.parse_args(argv)
    if "-" in args.years:
        lo, hi = map(int, args.years.split("-"))
        years = list(range(lo, hi + 1))
    else:
        years = [int(y) for y in args.years.split(",")]
    started = time.perf_counter()
    rows = generate(args.raw_dir, years, [c for c in args.counties.split(",") if c] or None)
    print(f"wrote {rows} to {args.raw_dir} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
