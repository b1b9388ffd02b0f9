"""Kolada (RKA) API v3: municipality key figures (KPIs) into the raw layer.

    with KoladaClient() as kolada:                              # https://api.kolada.se/v3, or $GRANNSKAP_KOLADA_API
        table = kolada.fetch(["N00957", "N00938"], municipalities=["0581", "0005", "0000"], years=["2023"],
                             titles={"N00957": "(?i)ohälsotal"})
    write_raw_table(Path("data/raw"), table)

Data: `GET /v3/data/kpi/<kpi,...>/municipality/<id,...>/year/<year,...>` (or `/data/kpi/<kpis>/year/<years>` for
every municipality and region), at most 5000 rows a page (`per_page`), the next page named by `next_page` in the
response. Ids: a municipality's 4-digit code, a region (county) `00<county>`, Sweden `0000`. The body is
`{"values":[{"kpi","municipality","period","values":[{"count","gender","status","value"}]}],"count","next_page"?}`.

Raw cells: `kpi`, `Region` (Kolada's municipality id, as delivered), `Tid` (period), `gender` (T/K/M),
`boundary_version` ("" - not a DeSO/RegSO area), `value`, `status` ("" when delivered; Kolada's status, or
"missing" when it gave none, for a null value).

Before the data the client reads `GET /v3/kpi/<id>` for every KPI and, when given an expected title (a regex),
fails if the title does not match: a KPI id is never trusted blindly (ids have been reused for other measures).

HTTP goes through the PxWeb client's engine (`PxWebClient._call`): the same httpx transports (record/replay),
sliding-window limiter and tenacity retries (429/5xx/timeouts/truncated bodies, Retry-After), with Kolada's
base URL. See the note on `_engine` below for what would make that reuse public.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import polars as pl

from pipelines.raw import STATUS, VALUE, Provenance, RawTable, now_utc
from pipelines.sources.pxweb import Limits, Progress, PxWebClient, PxWebError, ResponseValidationError
from pipelines.sources.pxweb.jsonstat import loads
from pipelines.sources.pxweb.parsed import BOUNDARY_VERSION, MISSING_NO_MARKER, reference_period

log = logging.getLogger(__name__)

KOLADA_V3 = "https://api.kolada.se/v3"
ENV_KOLADA_API = "GRANNSKAP_KOLADA_API"
PAGE_SIZE = 5000  # Kolada's maximum rows per page
# Kolada publishes no rate limit; stay as polite as SCB v1 asks (10 calls per 10 s).
KOLADA_LIMITS = Limits(max_cells=PAGE_SIZE, max_calls=10, window=10.0)
GENDER_LABELS = {"T": "totalt", "K": "kvinnor", "M": "män"}
SWEDEN = "0000"
DIMS = ["kpi", "Region", "Tid", "gender"]


class KoladaError(PxWebError):
    """Something Kolada sent that we cannot use (the message names the KPI or page)."""


class KpiTitleError(KoladaError):
    """A KPI's title in `/v3/kpi/<id>` does not match what the catalogue expects."""


def kolada_base() -> str:
    return os.environ.get(ENV_KOLADA_API) or KOLADA_V3


def region_id(county: str) -> str:
    """Kolada's id of a county's region: "20" -> "0020"."""
    return f"00{county}"


def parse_kolada_values(pages: Iterable[dict]) -> tuple[pl.DataFrame, list[str]]:
    """Kolada data pages -> raw cells (see the module docstring) and notes. Duplicated keys are an error."""
    rows: list[tuple] = []
    flagged = 0
    for n, page in enumerate(pages, start=1):
        values = page.get("values")
        if not isinstance(values, list):
            raise KoladaError(f"Kolada data page {n}: no 'values' list (keys {sorted(page)[:10]})")
        for item in values:
            try:
                kpi = str(item["kpi"])
                muni = str(item["municipality"])
                inner = item.get("values") or []
            except (KeyError, TypeError) as exc:
                raise KoladaError(f"Kolada data page {n}: an entry lacks kpi/municipality ({exc}): {item!r:.200}") from exc
            for v in inner:
                period = v.get("period", item.get("period"))  # v2/v3 put it on the entry; accept it on the value too
                if period is None:
                    raise KoladaError(f"Kolada data page {n}: KPI {kpi} municipality {muni} has a value without a period")
                value = v.get("value")
                status = v.get("status")
                status = "" if status is None else str(status).strip()
                if value is None:
                    status = status or MISSING_NO_MARKER
                    num = None
                else:
                    try:
                        num = float(value)
                    except (TypeError, ValueError) as exc:
                        raise KoladaError(f"Kolada data page {n}: KPI {kpi} {muni} {period}: value {value!r} is not a number") from exc
                    if status:
                        flagged += 1
                        status = ""
                rows.append((kpi, muni, str(period), str(v.get("gender") or "T"), num, status))
    cells = pl.DataFrame(
        rows,
        schema={"kpi": pl.String, "Region": pl.String, "Tid": pl.String, "gender": pl.String, VALUE: pl.Float64, STATUS: pl.String},
        orient="row",
    )
    dup = cells.select(DIMS).is_duplicated()
    if dup.any():
        first = cells.filter(dup).row(0, named=True)
        raise ResponseValidationError(f"Kolada data: {int(dup.sum())} duplicated cell(s) across pages, e.g. {first}")
    cells = cells.with_columns(pl.lit("", dtype=pl.String).alias(BOUNDARY_VERSION)).select(*DIMS, BOUNDARY_VERSION, VALUE, STATUS)
    notes = []
    if flagged:
        notes.append(f"{flagged} delivered value(s) carried a Kolada status; kept the value, status ''")
    return cells, notes


class KoladaClient:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        max_attempts: int = 6,
        limits: Limits = KOLADA_LIMITS,
        per_page: int = PAGE_SIZE,
        max_pages: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wallclock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        rng: random.Random | None = None,
        progress: Callable[[Progress], None] | None = None,
    ):
        self.base_url = (base_url or kolada_base()).rstrip("/")
        self.per_page = min(per_page, PAGE_SIZE)
        self.max_pages = max_pages
        self.progress = progress
        self._wallclock = wallclock
        # The PxWeb client is used only as an HTTP engine (limiter, retries, transports, error messages);
        # none of its PxWeb endpoints is called. It would be cleaner as a public `HttpEngine` that both
        # clients hold (today `_call` is private to PxWebClient).
        self._engine = PxWebClient(
            self.base_url, api="v2", transport=transport, timeout=timeout, max_attempts=max_attempts,
            limits=limits, clock=clock, sleep=sleep, wallclock=wallclock, rng=rng,
        )
        self.limiter = self._engine.limiter
        self._kpis: dict[str, dict] = {}

    # ------------------------------------------------------------------ plumbing
    @property
    def attempts(self) -> int:
        return self._engine.attempts

    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> KoladaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _get(self, url: str, params: dict | None, what: str) -> dict:
        return self._engine._call("GET", url, params=params, parse=lambda b: loads(b, what=what), table="kolada", what=what)

    def _follow(self, next_page: str, current: str) -> str:
        """The next page's URL on *our* host: Kolada names its public host (sometimes http://); keep ours."""
        target = urlsplit(urljoin(current, next_page))
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, target.path, target.query, ""))

    # ------------------------------------------------------------------ endpoints
    def kpi(self, kpi_id: str) -> dict:
        """`/v3/kpi/<id>`: the KPI's description (id, title, ...)."""
        if kpi_id not in self._kpis:
            doc = self._get(self._url(f"kpi/{kpi_id}"), None, f"/kpi/{kpi_id}")
            values = doc.get("values") if isinstance(doc.get("values"), list) else [doc]
            found = [v for v in values if isinstance(v, dict) and str(v.get("id", kpi_id)) == kpi_id]
            if not found:
                raise KoladaError(f"Kolada KPI {kpi_id}: /kpi/{kpi_id} does not describe it (got {str(doc)[:200]})")
            self._kpis[kpi_id] = found[0]
        return self._kpis[kpi_id]

    def verify_kpi(self, kpi_id: str, title_regex: str | None) -> dict:
        meta = self.kpi(kpi_id)
        title = str(meta.get("title", ""))
        if title_regex and not re.search(title_regex, title):
            raise KpiTitleError(
                f"Kolada KPI {kpi_id}: its title {title!r} does not match the expected /{title_regex}/ - the id may now "
                f"denote another measure; check GET {self.base_url}/kpi/{kpi_id} and update pipelines/sources/live_tables.yaml"
            )
        return meta

    @staticmethod
    def data_path(kpis: Sequence[str], municipalities: Sequence[str] | None, years: Sequence[str] | None) -> str:
        if not kpis:
            raise ValueError("Kolada: no KPI given")
        if not municipalities and not years:
            raise ValueError("Kolada: give municipalities or years (the API needs two of kpi, municipality, year)")
        path = f"data/kpi/{','.join(kpis)}"
        if municipalities:
            path += f"/municipality/{','.join(municipalities)}"
        if years:
            path += f"/year/{','.join(years)}"
        return path

    def pages(
        self, kpis: Sequence[str], municipalities: Sequence[str] | None = None, years: Sequence[str] | None = None
    ) -> Iterator[dict]:
        """Every page of one data request, following `next_page` (bounded by max_pages; a loop is an error)."""
        url = self._url(self.data_path(kpis, municipalities, years))
        params: dict | None = {"per_page": str(self.per_page)}
        seen: set[str] = {str(httpx.URL(url, params=params))}
        for n in range(1, self.max_pages + 1):
            doc = self._get(url, params, f"data page {n} ({url})")
            yield doc
            nxt = doc.get("next_page") or doc.get("next_url")
            if not nxt:
                return
            url, params = self._follow(str(nxt), url), None
            if url in seen:
                raise KoladaError(f"Kolada: next_page points back to a page already read ({url})")
            seen.add(url)
        raise KoladaError(f"Kolada: more than {self.max_pages} pages for {self.data_path(kpis, municipalities, years)}")

    def fetch(
        self,
        kpis: Sequence[str],
        *,
        municipalities: Sequence[str] | None = None,
        years: Sequence[str] | None = None,
        keep: Callable[[str], bool] | None = None,
        latest: bool = False,
        titles: dict[str, str | None] | None = None,
        name: str = "kolada_kpis",
    ) -> RawTable:
        """All pages of the KPIs for the ids and years, as one RawTable.

        keep: which municipality ids to keep (for the kpi/year form, which returns every id).
        latest: keep only each KPI's newest period that has at least one value.
        """
        titles = titles or {}
        metas = {k: self.verify_kpi(k, titles.get(k)) for k in kpis}
        calls_before = self.attempts
        pages: list[dict] = []
        rows = 0
        for doc in self.pages(kpis, municipalities, years):
            pages.append(doc)
            rows += sum(len(item.get("values") or []) for item in doc.get("values") or [] if isinstance(item, dict))
            if self.progress:
                more = 1 if (doc.get("next_page") or doc.get("next_url")) else 0
                self.progress(
                    Progress(
                        table="kolada:" + ",".join(kpis), calls_made=self.attempts, chunks_done=len(pages),
                        chunks_total=len(pages) + more, cells_fetched=rows, cells_total=rows, planned_calls=len(pages) + more,
                        lower_bound=len(pages) + more, eta_seconds=None if more else 0.0,
                    )
                )
        cells, notes = parse_kolada_values(pages)
        if keep is not None:
            ids = [i for i in cells["Region"].unique().to_list() if keep(i)]
            cells = cells.filter(pl.col("Region").is_in(ids))
        if latest and cells.height:
            newest = (
                cells.filter(pl.col(VALUE).is_not_null()).group_by("kpi").agg(pl.col("Tid").max().alias("_newest"))
            )
            cells = cells.join(newest, on="kpi", how="inner").filter(pl.col("Tid") == pl.col("_newest")).drop("_newest")
        missing_kpis = sorted(set(kpis) - set(cells["kpi"].unique().to_list()))
        if missing_kpis:
            notes.append(f"no values delivered for KPI(s) {missing_kpis}")
        url = self._url(self.data_path(kpis, municipalities, years))
        prov = Provenance(
            source="kolada-v3",
            source_table="+".join(kpis),
            title="; ".join(f"{k}: {metas[k].get('title', '')}" for k in kpis),
            reference_year=reference_period(cells, ["Tid"]),
            boundary_version="",
            updated="",
            fetched_at=now_utc(),
            query={"api": "kolada-v3", "url": f"{url}?per_page={self.per_page}", "pages": len(pages),
                   "calls": self.attempts - calls_before, "latest": latest},
            dimension_labels={
                "kpi": {k: str(metas[k].get("title", k)) for k in kpis},
                "gender": dict(GENDER_LABELS),
                "Region": {SWEDEN: "Riket"},
            },
            notes=[*notes, f"{len(pages)} page(s) of at most {self.per_page} rows"],
        )
        return RawTable(name=name, provenance=prov, cells=cells.sort(DIMS))


__all__ = [
    "ENV_KOLADA_API",
    "GENDER_LABELS",
    "KOLADA_LIMITS",
    "KOLADA_V3",
    "KoladaClient",
    "KoladaError",
    "KpiTitleError",
    "PAGE_SIZE",
    "SWEDEN",
    "kolada_base",
    "parse_kolada_values",
    "region_id",
]
