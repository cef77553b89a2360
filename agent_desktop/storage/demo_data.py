"""A realistic demo store: agents, customers, services, bills, payments, contacts, cases.

``generate(out, customers, seed)`` writes a NEW store file that looks like a US cable and
telecom operator's data on ``as_of``: 24 months of monthly bills with taxes and regional
fees, payments (mostly on time, some late, partial or declined), past-due accounts in
every aging bucket with their collections history, cases, calls, chats and emails with
realistic handle times, orders, offers and notes.

Same ``(customers, seed, as_of)``, same bytes in every row: ids come from a seeded RNG and
every time is relative to ``as_of``.

How it stays fast (1,000,000 customers in minutes on two cores; shared/MEASURED.md):
- Customers are made in fixed chunks of ``CHUNK`` by a worker process that writes each
  chunk into a small staging SQLite file; the main process copies the staged rows into
  the store with ``INSERT ... SELECT`` (C speed, no per-row Python) while the worker
  makes the next chunk.
- Invoice lines (most of the rows) are never made in Python: the worker stages one
  "template" row per charge and customer, and SQLite expands templates x invoices.
- Ids are UUIDv7-style: a per-chunk counter in the 48 time bits and seeded random bits
  in the rest, so every table's primary key and the customer-ordered indexes are filled
  in ascending order (appends, not random B-tree inserts). They are valid UUIDs.
- Indexes whose keys would arrive in random order are dropped during the load and
  rebuilt at the end; the load runs with synchronous=OFF and no journal into a
  ``.partial`` file that is renamed only when complete.
"""

from __future__ import annotations

import bisect
import json
import math
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

from agent_desktop.domain.lookup import make_account_number, normalize_name, normalize_street

__all__ = [
    "CHUNK",
    "DEMO_AGENT_USERNAME",
    "DEMO_SUPERVISOR_USERNAME",
    "GenerationReport",
    "generate",
]

DEMO_AGENT_USERNAME: Final = "agent"
DEMO_SUPERVISOR_USERNAME: Final = "supervisor"

# Customers per chunk. Fixed (not derived from the total) so customer number N looks the
# same in a 5,000 and a 1,000,000 customer store made with the same seed and day.
CHUNK: Final = 5000
# Ids per chunk: the UUIDv7 time field advances by this much per chunk (about 4.6 hours
# of "milliseconds"), far more than a chunk ever uses, so chunks never overlap.
_ID_STRIDE: Final = 1 << 24
# Stores smaller than this are made in-process: starting a worker costs more than it saves.
_WORKER_THRESHOLD: Final = 2 * CHUNK
_PAGE_SIZE: Final = 8192
_MONTHS_BILLED: Final = 24
_DUE_DAYS: Final = 21
_FOREVER: Final = date(9999, 12, 31).toordinal()
_EPOCH: Final = date(1970, 1, 1).toordinal()
_USD: Final = "USD"

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class GenerationReport:
    """What ``generate`` made: rows per table, time taken, and the aging it produced."""

    path: Path
    customers: int
    seed: int
    as_of: date
    counts: dict[str, int]
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    file_bytes: int = 0
    # Customers past due at as_of per aging bucket ("1-30", "31-60", "61-90", "90+").
    past_due_customers: dict[str, int] = field(default_factory=dict)

    @property
    def past_due_share(self) -> float:
        return sum(self.past_due_customers.values()) / self.customers if self.customers else 0.0

    def summary(self) -> str:
        width = max(len(t) for t in self.counts) if self.counts else 10
        lines = [f"{t:<{width}} {n:>12,}" for t, n in self.counts.items()]
        lines.append(f"{'total rows':<{width}} {sum(self.counts.values()):>12,}")
        buckets = ", ".join(f"{b}: {n:,}" for b, n in self.past_due_customers.items())
        lines.append(f"past due customers: {self.past_due_share:.1%} ({buckets})")
        stages = ", ".join(f"{s} {sec:.1f}s" for s, sec in self.stage_seconds.items())
        lines.append(f"seconds: {self.seconds:.1f} ({stages})")
        lines.append(f"file: {self.path} ({self.file_bytes / 1e6:,.1f} MB)")
        return "\n".join(lines)


# =========================================================================================
# Geography: real cities, ZIP prefixes and area codes for every state the catalog serves.
# state -> (population in millions, time zone, ((city, zip3, area codes, zone override),..))
# =========================================================================================

_Geo = tuple[float, str, tuple[tuple[str, str, tuple[str, ...], str | None], ...]]
_NY, _CHI, _DEN, _PHX, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
)
_GEO: Final[dict[str, _Geo]] = {
    "NY": (19.6, _NY, (
        ("New York", "100", ("212", "646", "917", "332"), None),
        ("Brooklyn", "112", ("718", "347", "929"), None),
        ("Buffalo", "142", ("716",), None),
        ("Rochester", "146", ("585",), None),
        ("Albany", "122", ("518",), None),
        ("Syracuse", "132", ("315",), None),
        ("Yonkers", "107", ("914",), None),
    )),
    "NJ": (9.3, _NY, (
        ("Newark", "071", ("973", "862"), None),
        ("Jersey City", "073", ("201", "551"), None),
        ("Trenton", "086", ("609",), None),
        ("Edison", "088", ("732", "848"), None),
        ("Camden", "081", ("856",), None),
    )),
    "PA": (13.0, _NY, (
        ("Philadelphia", "191", ("215", "267", "445"), None),
        ("Pittsburgh", "152", ("412", "878"), None),
        ("Allentown", "181", ("610", "484"), None),
        ("Harrisburg", "171", ("717", "223"), None),
        ("Erie", "165", ("814",), None),
    )),
    "CT": (3.6, _NY, (
        ("Hartford", "061", ("860", "959"), None),
        ("New Haven", "065", ("203", "475"), None),
        ("Stamford", "069", ("203",), None),
    )),
    "MA": (7.0, _NY, (
        ("Boston", "021", ("617", "857"), None),
        ("Worcester", "016", ("508", "774"), None),
        ("Springfield", "011", ("413",), None),
        ("Lowell", "018", ("978", "351"), None),
    )),
    "RI": (1.1, _NY, (("Providence", "029", ("401",), None), ("Warwick", "028", ("401",), None))),
    "VT": (0.65, _NY, (
        ("Burlington", "054", ("802",), None),
        ("Montpelier", "056", ("802",), None),
    )),
    "NH": (1.4, _NY, (
        ("Manchester", "031", ("603",), None),
        ("Nashua", "030", ("603",), None),
        ("Concord", "033", ("603",), None),
    )),
    "ME": (1.4, _NY, (("Portland", "041", ("207",), None), ("Bangor", "044", ("207",), None))),
    "DE": (1.0, _NY, (("Wilmington", "198", ("302",), None), ("Dover", "199", ("302",), None))),
    "MD": (6.2, _NY, (
        ("Baltimore", "212", ("410", "443", "667"), None),
        ("Silver Spring", "209", ("301", "240"), None),
        ("Annapolis", "214", ("410", "443"), None),
    )),
    "DC": (0.7, _NY, (("Washington", "200", ("202", "771"), None),)),
    "VA": (8.7, _NY, (
        ("Virginia Beach", "234", ("757",), None),
        ("Richmond", "232", ("804",), None),
        ("Arlington", "222", ("703", "571"), None),
        ("Roanoke", "240", ("540",), None),
    )),
    "WV": (1.8, _NY, (
        ("Charleston", "253", ("304", "681"), None),
        ("Morgantown", "265", ("304", "681"), None),
    )),
    "NC": (10.8, _NY, (
        ("Charlotte", "282", ("704", "980"), None),
        ("Raleigh", "276", ("919", "984"), None),
        ("Greensboro", "274", ("336",), None),
        ("Asheville", "288", ("828",), None),
    )),
    "SC": (5.3, _NY, (
        ("Columbia", "292", ("803", "839"), None),
        ("Charleston", "294", ("843", "854"), None),
        ("Greenville", "296", ("864",), None),
    )),
    "GA": (11.0, _NY, (
        ("Atlanta", "303", ("404", "470", "678", "770"), None),
        ("Savannah", "314", ("912",), None),
        ("Augusta", "309", ("706", "762"), None),
        ("Macon", "312", ("478",), None),
    )),
    "OH": (11.8, _NY, (
        ("Columbus", "432", ("614", "380"), None),
        ("Cleveland", "441", ("216",), None),
        ("Cincinnati", "452", ("513",), None),
        ("Toledo", "436", ("419", "567"), None),
        ("Akron", "443", ("330", "234"), None),
    )),
    "IL": (12.5, _CHI, (
        ("Chicago", "606", ("312", "773", "872"), None),
        ("Aurora", "605", ("630", "331"), None),
        ("Naperville", "605", ("630", "331"), None),
        ("Rockford", "611", ("815", "779"), None),
        ("Springfield", "627", ("217",), None),
        ("Peoria", "616", ("309",), None),
    )),
    "WI": (5.9, _CHI, (
        ("Milwaukee", "532", ("414",), None),
        ("Madison", "537", ("608",), None),
        ("Green Bay", "543", ("920",), None),
    )),
    "MN": (5.7, _CHI, (
        ("Minneapolis", "554", ("612",), None),
        ("Saint Paul", "551", ("651",), None),
        ("Duluth", "558", ("218",), None),
        ("Rochester", "559", ("507",), None),
    )),
    "IA": (3.2, _CHI, (
        ("Des Moines", "503", ("515",), None),
        ("Cedar Rapids", "524", ("319",), None),
        ("Davenport", "528", ("563",), None),
    )),
    "MO": (6.2, _CHI, (
        ("Kansas City", "641", ("816",), None),
        ("Saint Louis", "631", ("314",), None),
        ("Springfield", "658", ("417",), None),
    )),
    "AR": (3.0, _CHI, (
        ("Little Rock", "722", ("501",), None),
        ("Fayetteville", "727", ("479",), None),
    )),
    "LA": (4.6, _CHI, (
        ("New Orleans", "701", ("504",), None),
        ("Baton Rouge", "708", ("225",), None),
        ("Shreveport", "711", ("318",), None),
    )),
    "OK": (4.0, _CHI, (
        ("Oklahoma City", "731", ("405",), None),
        ("Tulsa", "741", ("918", "539"), None),
    )),
    "TX": (30.0, _CHI, (
        ("Houston", "770", ("713", "281", "832", "346"), None),
        ("Dallas", "752", ("214", "469", "972"), None),
        ("San Antonio", "782", ("210", "726"), None),
        ("Austin", "787", ("512", "737"), None),
        ("Fort Worth", "761", ("817", "682"), None),
        ("El Paso", "799", ("915",), _DEN),
    )),
    "CO": (5.8, _DEN, (
        ("Denver", "802", ("303", "720"), None),
        ("Colorado Springs", "809", ("719",), None),
        ("Fort Collins", "805", ("970",), None),
    )),
    "UT": (3.4, _DEN, (
        ("Salt Lake City", "841", ("801", "385"), None),
        ("Provo", "846", ("801", "385"), None),
        ("Ogden", "844", ("801", "385"), None),
    )),
    "AZ": (7.4, _PHX, (
        ("Phoenix", "850", ("602", "480", "623"), None),
        ("Tucson", "857", ("520",), None),
        ("Mesa", "852", ("480",), None),
        ("Flagstaff", "860", ("928",), None),
    )),
    "NM": (2.1, _DEN, (
        ("Albuquerque", "871", ("505",), None),
        ("Santa Fe", "875", ("505",), None),
        ("Las Cruces", "880", ("575",), None),
    )),
    "WY": (0.58, _DEN, (("Cheyenne", "820", ("307",), None), ("Casper", "826", ("307",), None))),
    "MT": (1.1, _DEN, (("Billings", "591", ("406",), None), ("Missoula", "598", ("406",), None))),
    "CA": (39.0, _LA, (
        ("Los Angeles", "900", ("213", "323", "310"), None),
        ("San Diego", "921", ("619", "858"), None),
        ("San Jose", "951", ("408", "669"), None),
        ("San Francisco", "941", ("415", "628"), None),
        ("Sacramento", "958", ("916", "279"), None),
        ("Fresno", "937", ("559",), None),
        ("Oakland", "946", ("510", "341"), None),
    )),
    "OR": (4.2, _LA, (
        ("Portland", "972", ("503", "971"), None),
        ("Eugene", "974", ("541", "458"), None),
        ("Salem", "973", ("503", "971"), None),
    )),
    "WA": (7.8, _LA, (
        ("Seattle", "981", ("206", "564"), None),
        ("Spokane", "992", ("509",), None),
        ("Tacoma", "984", ("253",), None),
    )),
    "NV": (3.2, _LA, (("Las Vegas", "891", ("702", "725"), None), ("Reno", "895", ("775",), None))),
    "AK": (0.73, "America/Anchorage", (
        ("Anchorage", "995", ("907",), None),
        ("Fairbanks", "997", ("907",), None),
        ("Juneau", "998", ("907",), None),
    )),
    "HI": (1.4, "Pacific/Honolulu", (
        ("Honolulu", "968", ("808",), None),
        ("Hilo", "967", ("808",), None),
    )),
}  # fmt: skip

_STREETS: Final = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Main", "Park",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Willow",
    "Meadow", "Forest", "Spring", "Franklin", "Madison", "Jefferson", "Chestnut", "Birch",
    "Center", "Ridge", "Valley", "Mill", "Adams", "Cherry", "Dogwood", "Hickory", "Laurel",
    "Magnolia", "Poplar", "Spruce", "Sycamore", "Aspen", "Juniper", "Harbor", "Prospect",
    "Broad", "Market", "Union", "Liberty", "Grant", "Monroe", "Orchard", "Greenwood",
    "Fairview", "Woodland", "Lakeview", "Pleasant", "Bridge", "Summit", "Colonial",
    "Heritage", "Canyon", "Mesa", "Vista", "Ocean", "Bay", "Shore", "Prairie", "Quail",
    "Sierra", "Ashford", "Kingston", "Hamilton", "Wilson", "Taylor", "Garfield", "Pershing",
)  # fmt: skip
_SUFFIXES: Final = (
    ("Street", 30), ("Avenue", 18), ("Road", 12), ("Drive", 14), ("Lane", 8),
    ("Boulevard", 3), ("Court", 5), ("Place", 3), ("Way", 4), ("Circle", 2), ("Terrace", 1),
    ("Parkway", 1),
)  # fmt: skip
_DIRECTIONS: Final = ("North", "South", "East", "West")
_EMAIL_DOMAINS: Final = (
    ("gmail.com", 40), ("yahoo.com", 14), ("outlook.com", 9), ("hotmail.com", 8),
    ("icloud.com", 10), ("aol.com", 4), ("comcast.net", 5), ("att.net", 4), ("verizon.net", 3),
    ("protonmail.com", 1),
)  # fmt: skip
_INDUSTRIES: Final = (
    "Plumbing", "Dental", "Auto Repair", "Bakery", "Consulting", "Landscaping", "Realty",
    "Law Office", "Hardware", "Cafe", "Insurance Agency", "Pharmacy", "Veterinary Clinic",
    "Fitness", "Salon", "Construction", "Electric", "Heating & Cooling", "Accounting",
    "Florist", "Pizzeria", "Chiropractic", "Printing", "Tailoring", "Daycare",
)  # fmt: skip
_BUSINESS_SUFFIXES: Final = ("LLC", "Inc", "& Sons", "Co", "Group", "", "", "")
_BANKS: Final = (
    "Chase", "Bank of America", "Wells Fargo", "Citibank", "U.S. Bank", "PNC", "Truist",
    "Capital One", "TD Bank", "Navy Federal Credit Union", "Fifth Third", "Regions",
)  # fmt: skip
_BRANDS: Final = (("visa", 52), ("mastercard", 28), ("amex", 12), ("discover", 8))


# =========================================================================================
# Small fast helpers (the worker calls these millions of times).
# =========================================================================================


class _Ids:
    """UUIDv7-style ids: a counter in the 48 time bits (so keys ascend), random rest."""

    __slots__ = ("getrandbits", "randbytes", "seq")

    def __init__(self, start: int, rng: random.Random) -> None:
        self.seq = start
        self.getrandbits = rng.getrandbits
        self.randbytes = rng.randbytes

    def new(self) -> str:
        s = self.seq
        self.seq = s + 1
        r = self.getrandbits(72)
        return f"{s:012x}7{r >> 60:03x}{'89ab'[s & 3]}{r & 0xFFFFFFFFFFFFFFF:015x}"

    def reserve(self, n: int) -> tuple[int, str]:
        """Room for ``n`` ids that SQL builds later (invoice lines): first seq, random hex."""
        s = self.seq
        self.seq = s + n
        return s, self.randbytes(9 * n).hex()


def _line_id(lseq: int, k: int, lrnd: str) -> str:
    """The id SQL gives invoice line ``k`` of an invoice (see ``_LINES_SQL``)."""
    s = lseq + k
    r = lrnd[k * 18 : k * 18 + 18]
    return f"{s:012x}7{r[:3]}{'89ab'[s & 3]}{r[3:]}"


_date_cache: dict[int, str] = {}


def _ds(ordinal: int) -> str:
    """'YYYY-MM-DD' for a day ordinal (cached: the same few thousand days recur)."""
    s = _date_cache.get(ordinal)
    if s is None:
        s = date.fromordinal(ordinal).isoformat()
        _date_cache[ordinal] = s
    return s


# "HH:MM:SS" for every second of a day: formatting timestamps is the generator's hottest
# path (hundreds of thousands per chunk).
_TIME_OF_DAY: Final = [
    f"{h:02d}:{m:02d}:{sec:02d}" for h in range(24) for m in range(60) for sec in range(60)
]


def _ts(epoch: int, micro: int = 0) -> str:
    """SQLAlchemy's SQLite DateTime text for UTC epoch seconds: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    days, secs = divmod(epoch, 86400)
    return f"{_ds(days + _EPOCH)} {_TIME_OF_DAY[secs]}.{micro:06d}"


def _day_epoch(ordinal: int) -> int:
    return (ordinal - _EPOCH) * 86400


_offset_cache: dict[tuple[str, int], int] = {}


def _utc_offset(zone: str, ordinal: int) -> int:
    """Seconds east of UTC for a zone around noon of a day (DST-aware, cached per day)."""
    key = (zone, ordinal)
    off = _offset_cache.get(key)
    if off is None:
        d = date.fromordinal(ordinal)
        delta = ZoneInfo(zone).utcoffset(datetime(d.year, d.month, d.day, 12))
        off = int(delta.total_seconds()) if delta is not None else 0
        _offset_cache[key] = off
    return off


def _local_to_epoch(zone: str, ordinal: int, local_seconds: int) -> int:
    return _day_epoch(ordinal) + local_seconds - _utc_offset(zone, ordinal)


_month_cache: dict[tuple[int, int], int] = {}


def _month_day(month_index: int, day: int) -> int:
    """Ordinal of ``day`` in month number ``year * 12 + month - 1`` (day <= 28)."""
    key = (month_index, day)
    o = _month_cache.get(key)
    if o is None:
        o = date(month_index // 12, month_index % 12 + 1, day).toordinal()
        _month_cache[key] = o
    return o


def _month_index(ordinal: int) -> tuple[int, int]:
    d = date.fromordinal(ordinal)
    return d.year * 12 + d.month - 1, d.day


class _Picker:
    """Weighted choice by bisecting cumulative weights (much faster than choices())."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.items = [p[0] for p in pairs]
        self.cum: list[float] = []
        total = 0.0
        for _, w in pairs:
            total += w
            self.cum.append(total)
        self.total = total

    def pick(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


def _half_up_tax(subtotal: int, rate_ppm: int) -> int:
    """Tax on a subtotal, rounded half-up to the cent (exact integer arithmetic)."""
    if subtotal <= 0:
        return 0
    return (subtotal * rate_ppm + 500_000) // 1_000_000


def _lognormal(rng: random.Random, median: float, sigma: float) -> int:
    return int(median * math.exp(sigma * rng.gauss(0.0, 1.0)))


# =========================================================================================
# The world every chunk shares: catalog, codes, agents, article ids (built in the main
# process, pickled once to the worker).
# =========================================================================================


@dataclass(frozen=True, slots=True)
class _Product:
    sku: str
    name: str
    family: str
    kind: str
    period: str | None
    price: int
    tier: int | None
    regions: tuple[str, ...]
    requires: tuple[str, ...]
    usage_unit: str | None
    usage_price: int
    included: int
    inventory: int | None = None

    def sold_in(self, region: str) -> bool:
        return "*" in self.regions or region in self.regions

    @property
    def inventory_free(self) -> bool:
        """A one-time charge that is a service (installation, activation), not a device."""
        return self.inventory is None


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    name: str
    rate_ppm: int
    rate_text: str
    fees: tuple[tuple[str, str, int, frozenset[str]], ...]


@dataclass(frozen=True, slots=True)
class _Agent:
    id: str
    username: str
    display_name: str
    role: str
    team: str
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _World:
    seed: int
    as_of: int  # day ordinal
    products: dict[str, _Product]
    regions: dict[str, _Region]
    state_region: dict[str, str]
    bundles: tuple[tuple[str, str, tuple[str, ...], int, tuple[str, ...]], ...]
    promotions: tuple[dict[str, Any], ...]
    reasons: tuple[tuple[str, str, str], ...]  # code, label, category
    wrap_ups: tuple[tuple[str, str, str, bool], ...]  # code, label, category, resolved
    adjustment_reasons: tuple[tuple[str, str, str], ...]  # code, label, direction
    case_categories: tuple[tuple[str, str, str], ...]  # code, label, category
    agents: tuple[_Agent, ...]
    articles: dict[str, tuple[str, ...]]  # article product -> ids
    id_base: int
    itemized_from: int = 0  # bills whose period starts on or after this day get lines


def _build_world(
    seed: int, as_of: date, resources: Path, itemized_from: int = 0
) -> _World:
    from agent_desktop.storage.reference import article_id, read_articles, read_catalog, read_codes

    catalog = read_catalog(resources)
    codes = read_codes(resources)
    products = {
        p["sku"]: _Product(
            sku=p["sku"],
            name=p["name"],
            family=p["family"],
            kind=p["kind"],
            period=p.get("billing_period"),
            price=int(p["price_cents"]),
            tier=p.get("tier"),
            regions=tuple(p.get("regions") or ("*",)),
            requires=tuple(p.get("requires") or ()),
            usage_unit=p.get("usage_unit"),
            usage_price=int(p.get("usage_price_cents") or 0),
            included=int(p.get("included_units") or 0),
            inventory=p.get("inventory"),
        )
        for p in catalog["products"]
    }
    regions: dict[str, _Region] = {}
    state_region: dict[str, str] = {}
    for r in catalog["regions"]:
        rate = Decimal(str(r["tax_rate"]))
        ppm = rate * 1_000_000
        if ppm != ppm.to_integral_value():
            raise ValueError(f"tax rate {rate} has more than 6 decimals")
        regions[r["code"]] = _Region(
            code=r["code"],
            name=r["name"],
            rate_ppm=int(ppm),
            rate_text=f"{(rate * 100).normalize():f}%",
            fees=tuple(
                (f["code"], f["name"], int(f["amount_cents"]), frozenset(f["applies_to"]))
                for f in r.get("fees", [])
            ),
        )
        for state in r["states"]:
            if state in _GEO:
                state_region[state] = r["code"]
    if not state_region:
        raise ValueError("the catalog's regions cover none of the demo's states")
    articles: dict[str, list[str]] = {}
    for a in read_articles(resources):
        articles.setdefault(a.product, []).append(article_id(a.code))
    id_base = (_day_epoch(as_of.toordinal()) - 40 * 86400) * 1000
    return _World(
        seed=seed,
        as_of=as_of.toordinal(),
        products=products,
        regions=regions,
        state_region=state_region,
        bundles=tuple(
            (
                b["code"],
                b["name"],
                tuple(b["components"]),
                int(b["discount_cents"]),
                tuple(b.get("regions") or ("*",)),
            )
            for b in catalog["bundles"]
            if all(c in products for c in b["components"])
        ),
        promotions=tuple(catalog["promotions"]),
        reasons=tuple((c["code"], c["label"], c["category"]) for c in codes["contact_reasons"]),
        wrap_ups=tuple(
            (c["code"], c["label"], c["category"], bool(c.get("resolved_default", True)))
            for c in codes["wrap_up_codes"]
        ),
        adjustment_reasons=tuple(
            (c["code"], c["label"], c.get("direction", "credit"))
            for c in codes["adjustment_reasons"]
        ),
        case_categories=tuple(
            (c["code"], c["label"], c["category"]) for c in codes["case_categories"]
        ),
        agents=_make_agents(seed, as_of, id_base),
        articles={k: tuple(v) for k, v in articles.items()},
        id_base=id_base,
        itemized_from=itemized_from,
    )


# -- agents -------------------------------------------------------------------------------

_TEAMS: Final = (
    ("Billing East", 9, ("billing", "payments", "adjustments")),
    ("Billing West", 7, ("billing", "payments", "adjustments")),
    ("Tech Support", 10, ("tech_internet", "tech_tv", "tech_phone", "tech_mobile")),
    ("Sales", 6, ("sales", "orders", "billing")),
    ("Retention", 4, ("retention", "sales", "billing")),
    ("Collections", 4, ("collections", "payments")),
)
_SUPERVISOR_TEAMS: Final = ("Billing East", "Tech Support", "Sales", "Collections")


def _make_agents(seed: int, as_of: date, id_base: int) -> tuple[_Agent, ...]:
    rng = random.Random(f"agents:{seed}")
    ids = _Ids(id_base, random.Random(f"agent-ids:{seed}"))
    names = _names()
    used_names = {("Dana", "Reyes"), ("Sam", "Okafor")}
    used_users = {DEMO_AGENT_USERNAME, DEMO_SUPERVISOR_USERNAME, "admin"}

    def person() -> tuple[str, str, str]:
        while True:
            first = names.first(rng)
            last = names.last(rng)
            if (first, last) in used_names:
                continue
            used_names.add((first, last))
            base = normalize_name(first[0] + last).replace(" ", "")
            user, n = base, 1
            while user in used_users:
                n += 1
                user = f"{base}{n}"
            used_users.add(user)
            return first, last, user

    agents: list[_Agent] = []
    for team, size, skills in _TEAMS:
        for i in range(size):
            if team == "Billing East" and i == 0:
                first, last, user = "Dana", "Reyes", DEMO_AGENT_USERNAME
                extra: tuple[str, ...] = ("spanish",)
            else:
                first, last, user = person()
                extra = ("spanish",) if rng.random() < 0.15 else ()
            team_skills = skills
            if team == "Tech Support":
                team_skills = (*skills, "tech_security") if rng.random() < 0.4 else skills
            agents.append(
                _Agent(ids.new(), user, f"{first} {last}", "agent", team, (*team_skills, *extra))
            )
    for team in _SUPERVISOR_TEAMS:
        if team == "Billing East":
            first, last, user = "Sam", "Okafor", DEMO_SUPERVISOR_USERNAME
        else:
            first, last, user = person()
        skills = next(s for t, _, s in _TEAMS if t == team)
        agents.append(
            _Agent(ids.new(), user, f"{first} {last}", "supervisor", team, (*skills, "approvals"))
        )
    first, last, _ = person()
    agents.append(_Agent(ids.new(), "admin", f"{first} {last}", "admin", "Operations", ("admin",)))
    return tuple(agents)


def _agent_rows(world: _World, as_of: date) -> list[tuple[Any, ...]]:
    rng = random.Random(f"agent-rows:{world.seed}")
    rows = []
    a = as_of.toordinal()
    for ag in world.agents:
        hired = a - rng.randint(90, 2900)
        created = _ts(_day_epoch(hired) + 14 * 3600 + rng.randint(0, 7200), rng.randint(0, 999999))
        updated = _ts(_day_epoch(a - rng.randint(1, 60)) + 15 * 3600, rng.randint(0, 999999))
        if ag.role == "agent":
            limit, daily, refund = (10000 if ag.team == "Retention" else 5000), 20000, 10000
        elif ag.role == "supervisor":
            limit, daily, refund = 50000, 500000, 100000
        else:
            limit, daily, refund = 100000, 1000000, 200000
        rows.append(
            (
                ag.id, ag.username, ag.display_name, ag.role, ag.team,
                json.dumps(list(ag.skills)), limit, daily, refund, 1, created, updated, 1,
            )
        )  # fmt: skip
    return rows


# -- names from Faker's en_US word lists ------------------------------------------------


class _Names:
    """Faker's en_US first and last names with their frequencies, drawn with our RNG."""

    def __init__(self) -> None:
        from faker.providers.person.en_US import Provider

        male = list(Provider.first_names_male.items())
        female = list(Provider.first_names_female.items())
        self._male = _Picker(male)
        self._female = _Picker(female)
        self._last = _Picker(list(Provider.last_names.items()))

    def first(self, rng: random.Random) -> str:
        picker = self._male if rng.random() < 0.5 else self._female
        return str(picker.pick(rng))

    def last(self, rng: random.Random) -> str:
        return str(self._last.pick(rng))


_names_singleton: list[_Names] = []


def _names() -> _Names:
    if not _names_singleton:
        _names_singleton.append(_Names())
    return _names_singleton[0]


# =========================================================================================
# Staging: the tables a chunk is written to, in tuple order. The main process copies them
# column by column; ``invoices`` carries four extra columns that the line expansion uses.
# =========================================================================================

_MUTABLE = ("created_at", "updated_at", "version")
_COLS: Final[dict[str, tuple[str, ...]]] = {
    "customers": (
        "id", "account_number", "kind", "first_name", "last_name", "business_name",
        "display_name", "first_norm", "last_norm", "status", "customer_since", "language",
        "risk_score", "credit_class", *_MUTABLE,
    ),
    "addresses": (
        "id", "customer_id", "kind", "line1", "line2", "city", "state", "postal_code",
        "country", "time_zone", "region_code", "line1_norm", *_MUTABLE,
    ),
    "contact_points": (
        "id", "customer_id", "kind", "value", "label", "line_type", "is_primary",
        "consent_autodial", "consent_text", "consent_email", "verified", *_MUTABLE,
    ),
    "payment_methods": (
        "id", "customer_id", "kind", "token", "brand", "last4", "exp_month", "exp_year",
        "holder_name", "bank_name", "is_default", "status", *_MUTABLE,
    ),
    "services": (
        "id", "customer_id", "address_id", "sku", "status", "quantity", "price_cents",
        "started_on", "ended_on", "bundle_code", "promotion_code", "promotion_ends_on",
        *_MUTABLE,
    ),
    "invoices": (
        "id", "customer_id", "invoice_number", "period_start", "period_end", "issued_on",
        "due_on", "subtotal_cents", "tax_cents", "total_cents", "currency", "created_at",
    ),
    "payments": (
        "id", "customer_id", "entry", "reverses_payment_id", "payment_method_id",
        "method_kind", "amount_cents", "currency", "status", "confirmation_number",
        "gateway_charge_id", "decline_code", "received_at", "agent_id", "interaction_id",
        "invoice_id", "created_at",
    ),
    "adjustments": (
        "id", "customer_id", "invoice_id", "invoice_line_id", "case_id", "direction",
        "amount_cents", "currency", "reason_code", "memo", "status", "requested_by",
        "decided_by", "decided_at", "decision_reason", "posted_on", "created_at",
    ),
    "collection_accounts": (
        "id", "customer_id", "opened_on", "placed_balance_cents", "status", "treatment",
        "validation_notice_sent_on", "disputed_on", *_MUTABLE,
    ),
    "contact_attempts": (
        "id", "customer_id", "collection_account_id", "at", "channel", "destination",
        "outcome", "connected", "conversation", "agent_id", "interaction_id", "note",
        "created_at",
    ),
    "promises_to_pay": (
        "id", "customer_id", "collection_account_id", "amount_cents", "promised_on", "status",
        "agent_id", "interaction_id", "payment_id", *_MUTABLE,
    ),
    "payment_arrangements": (
        "id", "customer_id", "collection_account_id", "total_cents", "status", "agent_id",
        *_MUTABLE,
    ),
    "arrangement_installments": (
        "id", "arrangement_id", "due_on", "amount_cents", "status", "payment_id", *_MUTABLE,
    ),
    "contact_restrictions": (
        "id", "customer_id", "kind", "detail", "active", "effective_at", "ended_at", "source",
        *_MUTABLE,
    ),
    "cases": (
        "id", "case_number", "customer_id", "type", "status", "priority", "subject",
        "description", "category", "product_sku", "queue", "required_skill",
        "assigned_agent_id", "parent_case_id", "merged_into_id", "invoice_id", "order_id",
        "payment_id", "opened_at", "due_at", "sla_paused_seconds", "resolved_at", "closed_at",
        *_MUTABLE,
    ),
    "case_events": (
        "id", "case_id", "at", "actor_id", "kind", "visibility", "body", "before", "after",
        "seconds_spent", "created_at",
    ),
    "case_articles": ("case_id", "article_id", "linked_at", "linked_by"),
    "interactions": (
        "id", "customer_id", "channel", "direction", "queue", "agent_id", "caller_id",
        "offered_at", "answered_at", "ended_at", "wait_seconds", "dial_seconds",
        "talk_seconds", "hold_seconds", "acw_seconds", "transfers", "abandoned",
        "reason_code", "wrap_up_code", "resolved", "csat", "nps", "summary", *_MUTABLE,
    ),
    "orders": (
        "id", "customer_id", "order_number", "status", "agent_id", "interaction_id",
        "service_address_id", "quote", "one_time_total_cents", "monthly_total_cents",
        "tax_cents", "currency", "placed_at", "install_on", "completed_at", *_MUTABLE,
    ),
    "order_lines": (
        "id", "order_id", "sku", "description", "action", "quantity", "unit_price_cents",
        "discount_cents", "promotion_code", "recurring", "service_id", "created_at",
    ),
    "offers_shown": (
        "id", "customer_id", "interaction_id", "agent_id", "offer_code", "kind", "pitch",
        "shown_at", "response", "responded_at", *_MUTABLE,
    ),
    "notes": (
        "id", "customer_id", "case_id", "interaction_id", "author_id", "author_name", "body",
        "created_at",
    ),
}  # fmt: skip
_INVOICE_EXTRA: Final = ("lseq", "lrnd", "usage_qty", "usage_cents")
_TEMPLATE_COLS: Final = (
    "customer_id", "k", "from_day", "to_day", "service_id", "sku", "kind", "description",
    "quantity", "amount",
)  # fmt: skip

# Case and order numbers run through the whole store, so the main process (which sees the
# chunks in order) assigns them; the worker stages a placeholder.
# The same statement as migration 0003 (kept in step by a test).
_BACKFILL_PENDING_SINCE: Final = (
    "UPDATE cases SET pending_since = (SELECT MAX(e.at) FROM case_events e "
    "WHERE e.case_id = cases.id AND e.kind = 'status_changed' "
    "AND json_extract(e.after, '$.status') = 'pending_customer') "
    "WHERE status = 'pending_customer'"
)
_NUMBERED: Final = {"cases": ("case_number", "CS-%07d"), "orders": ("order_number", "ORD-%07d")}

# Invoice lines: every template whose validity covers the invoice's period start, with
# the id the worker reserved (see ``_line_id``) and the invoice's own tax and usage.
_LINES_SQL: Final = """
INSERT INTO main.invoice_lines
    (id, invoice_id, service_id, sku, kind, description, quantity, amount_cents, created_at)
SELECT printf('%012x7', i.lseq + t.k) || substr(i.lrnd, t.k * 18 + 1, 3)
       || substr('89ab', ((i.lseq + t.k) & 3) + 1, 1) || substr(i.lrnd, t.k * 18 + 4, 15),
       i.id, t.service_id, t.sku, t.kind, t.description,
       CASE t.kind WHEN 'usage' THEN i.usage_qty ELSE t.quantity END,
       CASE t.kind WHEN 'tax' THEN i.tax_cents WHEN 'usage' THEN i.usage_cents
            ELSE t.amount END,
       i.created_at
FROM s.invoices AS i JOIN s.inv_tmpl AS t ON t.customer_id = i.customer_id
WHERE t.from_day <= i.period_start AND i.period_start < t.to_day AND i.period_start >= ?
  AND CASE t.kind WHEN 'usage' THEN i.usage_cents > 0 WHEN 'tax' THEN i.tax_cents > 0
           ELSE 1 END
ORDER BY i.rowid, t.k
"""


@dataclass
class _ChunkInfo:
    chunk_no: int
    path: str
    staged: dict[str, int]
    aging: dict[str, int]
    seconds: float


# -- code tables the builder uses ---------------------------------------------------------

_REASON_WEIGHTS: Final = {
    "BILL-QUESTION": 6, "BILL-FIRST": 2, "BILL-HIGH": 4, "BILL-DISPUTE": 1.5,
    "BILL-AUTOPAY": 1.5, "PAY-MAKE": 2, "PAY-DECLINED": 1, "PAY-ARRANGEMENT": 0.8,
    "PAY-REFUND": 0.5, "TECH-NO-INTERNET": 5, "TECH-SLOW-INTERNET": 5, "TECH-TV": 3,
    "TECH-PHONE": 1, "TECH-MOBILE": 2, "TECH-SECURITY": 1, "OUTAGE-REPORT": 3,
    "TECH-APPOINTMENT": 2, "ORDER-NEW": 0.8, "ORDER-UPGRADE": 1.5, "ORDER-DOWNGRADE": 1.2,
    "ORDER-STATUS": 0.8, "PROMO-QUESTION": 1.5, "MOVE-TRANSFER": 1.5, "CANCEL-REQUEST": 2,
    "EQUIP-RETURN": 1.2, "EQUIP-SWAP": 1.5, "ACCOUNT-UPDATE": 2.5, "ACCOUNT-AUTH-USER": 1,
    "ACCOUNT-PRIVACY": 0.3, "COLL-PAST-DUE": 0, "COLL-DISPUTE-DEBT": 0, "COMPLAINT": 1.2,
    "GENERAL-INFO": 2,
}  # fmt: skip
_REASON_FAMILY: Final = {
    "TECH-NO-INTERNET": "internet", "TECH-SLOW-INTERNET": "internet", "TECH-TV": "tv",
    "TECH-PHONE": "phone", "TECH-MOBILE": "mobile", "TECH-SECURITY": "security",
}  # fmt: skip
_QUEUE_FOR_CATEGORY: Final = {
    "billing": "billing", "payment": "billing", "account": "billing",
    "technical": "tech_support", "equipment": "tech_support", "order": "sales",
    "moving": "sales", "cancellation": "retention", "collections": "collections",
    "general": "general",
}  # fmt: skip
_TALK_MEDIAN: Final = {
    "billing": 300, "tech_support": 510, "sales": 420, "retention": 390,
    "collections": 240, "general": 240,
}  # fmt: skip
# Wrap-ups a random contact may end with, by reason category. Codes that claim a row
# exists (a payment, an order, an adjustment, a promise) are used only where the generator
# also makes that row, so the 360 view never shows "payment taken" without the payment.
_WRAP_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "billing": {"INFO-PROVIDED": 5, "RESOLVED-FIRST-CALL": 3, "CASE-OPENED": 0.6,
                "CALLBACK-SCHEDULED": 0.4, "ESCALATED-SUPERVISOR": 0.3},
    "payment": {"INFO-PROVIDED": 3, "RESOLVED-FIRST-CALL": 2, "CALLBACK-SCHEDULED": 0.4},
    "account": {"RESOLVED-FIRST-CALL": 5, "INFO-PROVIDED": 2, "CALLER-NOT-VERIFIED": 0.8},
    "technical": {"TROUBLESHOOT-FIXED": 5, "TECH-DISPATCHED": 1.6, "OUTAGE-INFORMED": 0.8,
                  "CASE-OPENED": 0.5, "CALLBACK-SCHEDULED": 0.4, "ESCALATED-SUPERVISOR": 0.2},
    "equipment": {"RESOLVED-FIRST-CALL": 2, "TECH-DISPATCHED": 1, "INFO-PROVIDED": 2},
    "order": {"OFFER-DECLINED": 2, "INFO-PROVIDED": 4, "RESOLVED-FIRST-CALL": 1},
    "moving": {"INFO-PROVIDED": 3, "CALLBACK-SCHEDULED": 1},
    "cancellation": {"RETAINED": 4, "ESCALATED-SUPERVISOR": 0.6, "INFO-PROVIDED": 1},
    "collections": {"INFO-PROVIDED": 2, "CALLBACK-SCHEDULED": 1},
    "general": {"INFO-PROVIDED": 4, "RESOLVED-FIRST-CALL": 2, "ESCALATED-SUPERVISOR": 0.4},
}  # fmt: skip
_CALL_HOURS: Final = _Picker(
    [(8, 3), (9, 7), (10, 9), (11, 9), (12, 7), (13, 8), (14, 8), (15, 7), (16, 6), (17, 5),
     (18, 4), (19, 3), (20, 2)]
)  # fmt: skip
_CHAT_HOURS: Final = _Picker([(h, 3 if 9 <= h <= 20 else 1) for h in range(7, 23)])
_EMAIL_HOURS: Final = _Picker([(h, 3 if 8 <= h <= 22 else 1) for h in range(24)])
_WEEKDAY_WEIGHT: Final = (1.0, 0.95, 0.92, 0.9, 0.88, 0.55, 0.3)  # Monday first
_CASE_SLA_HOURS: Final = {"urgent": 4, "high": 24, "normal": 72, "low": 168}
_ATTEMPT_OUTCOMES: Final = _Picker(
    [("no_answer", 34), ("voicemail", 26), ("busy", 8), ("not_connected", 5),
     ("wrong_number", 1), ("conversation", 26)]
)  # fmt: skip
_CONVERSATION_OUTCOMES: Final = _Picker(
    [("promise_to_pay", 40), ("refused", 16), ("callback_requested", 25),
     ("payment_arrangement", 9), ("hardship_claimed", 6), ("dispute_raised", 4)]
)  # fmt: skip
_CASE_TEXT: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "technical": (
        ("Intermittent {product} outages", "Customer reports {product} dropping several times"
         " a day. Signal levels checked; issue persists after a reboot."),
        ("{product} not working", "No service on {product} since yesterday evening. Remote"
         " reset did not help; needs a technician."),
        ("Slow or degraded {product}", "Customer reports poor quality on {product} in the"
         " evenings. Line tests show errors; monitoring for a week."),
    ),
    "billing": (
        ("Question about {month} bill", "Customer asks why the {month} bill is higher than"
         " usual. Explained the promotion ending; wants a written breakdown."),
        ("Charge customer does not recognize", "Customer disputes a charge on the {month}"
         " bill and asks for a credit while we investigate."),
    ),
    "payment": (
        ("Payment not reflected", "Customer says a payment made on {day} is not on the"
         " account. Bank confirmation requested."),
    ),
    "order": (
        ("Order follow-up", "Customer asks for the status of a recent order and the install"
         " appointment."),
    ),
    "equipment": (
        ("Equipment return", "Customer returned rental equipment at a store; confirm receipt"
         " and stop the rental charge."),
    ),
    "moving": (
        ("Moving: transfer service", "Customer is moving next month and wants service at the"
         " new address on the same day."),
    ),
    "general": (
        ("Complaint about service", "Customer unhappy about repeated calls for the same"
         " problem and long hold times. Wants a call back from a supervisor."),
    ),
    "account": (
        ("Privacy request", "Customer asks for a copy of the personal data we hold."),
    ),
    "collections": (
        ("Debt validation request", "Customer disputes the past-due balance in writing and"
         " asks for validation. Collection paused until verified."),
    ),
}  # fmt: skip
_NOTE_TEXT: Final[dict[str, tuple[str, ...]]] = {
    "billing": (
        "Walked the customer through the bill line by line; they were satisfied.",
        "Customer prefers paper bills; confirmed the mailing address.",
        "Explained that the promotional price ended last cycle.",
    ),
    "payment": (
        "Customer will pay on the 15th when the paycheck clears.",
        "Card on file expired; customer will update it online.",
    ),
    "technical": (
        "Rebooted the gateway remotely; speeds back to plan levels.",
        "Customer uses Wi-Fi far from the gateway; suggested an extender.",
        "Signal levels marginal at the tap; technician to check the drop.",
    ),
    "collections": (
        "Customer lost hours at work; asked about a payment plan.",
        "Spoke with the account holder; verified identity and explained the balance.",
        "Customer asked not to be called during work hours.",
    ),
    "general": (
        "Caller was the account holder's spouse, not authorized; advised to add them.",
        "Customer asked to be contacted by email only.",
        "Long-time customer; very polite, wants to keep the current plan.",
    ),
}  # fmt: skip


def _poisson(rng: random.Random, lam: float) -> int:
    limit = math.exp(-lam)
    k, p = 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _split_cents(total: int, parts: int) -> list[int]:
    """Split without losing a cent: the first ``total % parts`` parts get one more."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@dataclass(slots=True)
class _Svc:
    id: str
    product: _Product
    qty: int
    start: int
    end: int  # exclusive; _FOREVER while active
    status: str
    bundle: str | None = None
    promo: str | None = None
    promo_end: int | None = None
    discount: int = 0


@dataclass(slots=True)
class _Cust:
    """What later steps need to know about the customer being built."""

    id: str
    serial: int
    account: str
    business: bool
    first: str
    last: str
    display: str
    since: int
    status: str
    closed_on: int | None
    zone: str
    state: str
    region: str
    address_id: str
    phones: list[tuple[str, str]]  # (E.164, line type)
    email: str | None
    methods: list[tuple[str, str]]  # (payment method id, kind), default first
    families: set[str]
    behavior: str = "ontime"
    end: int = 0  # last day with activity (closed_on or as_of)
    bundle: tuple[str, str, tuple[str, ...], int, tuple[str, ...]] | None = None


class _ChunkBuilder:
    """Makes every row of one chunk of customers; deterministic for (seed, chunk number)."""

    def __init__(self, world: _World, chunk_no: int) -> None:
        self.w = world
        self.a = world.as_of
        self.rng = random.Random(f"demo:{world.seed}:{chunk_no}")
        self.ids = _Ids(
            world.id_base + (chunk_no + 1) * _ID_STRIDE,
            random.Random(f"ids:{world.seed}:{chunk_no}"),
        )
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _COLS}
        self.invoices: list[tuple[Any, ...]] = []
        self.templates: list[tuple[Any, ...]] = []
        self.aging = {"1-30": 0, "31-60": 0, "61-90": 0, "90+": 0}
        self.names = _names()
        self._norms: dict[str, str] = {}
        self._emails: set[str] = set()
        self._phones: set[str] = set()
        self._prepare()

    # -- lookup tables built once per chunk ------------------------------------------

    def _prepare(self) -> None:
        w = self.w
        states = [(s, _GEO[s][0]) for s in _GEO if s in w.state_region]
        self.state_picker = _Picker(states)
        self.all_cities = [(s, city) for s, _ in states for city in _GEO[s][2]]
        self.exchanges = [
            n for n in range(201, 1000) if n % 100 != 11 and n not in (555, 950, 958, 959, 976)
        ]
        self.suffix_picker = _Picker(_SUFFIXES)
        self.domain_picker = _Picker(_EMAIL_DOMAINS)
        self.brand_picker = _Picker(_BRANDS)
        agents = [a for a in w.agents if a.role == "agent"]
        by_team: dict[str, list[_Agent]] = {}
        for a in agents:
            by_team.setdefault(a.team, []).append(a)
        any_agents = agents or list(w.agents)

        def team(*names: str) -> list[_Agent]:
            found = [a for n in names for a in by_team.get(n, [])]
            return found or any_agents

        self.pools = {
            "billing_east": team("Billing East"),
            "billing_west": team("Billing West"),
            "tech_support": team("Tech Support"),
            "sales": team("Sales"),
            "retention": team("Retention"),
            "collections": team("Collections"),
            "general": team("Billing East", "Billing West", "Sales"),
            "approvals": [a for a in w.agents if a.role == "supervisor"] or any_agents,
        }
        # Catalog views by region.
        self.families = [f for f in dict.fromkeys(p.family for p in w.products.values())]
        self.reason_label = {code: label for code, label, _ in w.reasons}
        self.reason_category = {code: cat for code, _, cat in w.reasons}
        self.reason_picker = _Picker(
            [(code, _REASON_WEIGHTS.get(code, 1.0)) for code, _, cat in w.reasons
             if cat != "collections" and _REASON_WEIGHTS.get(code, 1.0) > 0]
            or [(w.reasons[0][0], 1.0)]
        )  # fmt: skip
        self.wrap_label = {code: label for code, label, _, _ in w.wrap_ups}
        self.wrap_resolved = {code: res for code, _, _, res in w.wrap_ups}
        self.wrap_pickers: dict[str, _Picker] = {}
        claims = {
            "PAYMENT-TAKEN", "ORDER-PLACED", "ADJUSTMENT-POSTED", "ADJUSTMENT-PENDING",
            "PROMISE-TO-PAY", "ARRANGEMENT-SET", "CANCEL-PROCESSED", "CASE-OPENED",
            "TRANSFERRED", "DROPPED-CALL",
        }  # fmt: skip
        for category in {cat for _, _, cat in w.reasons} | set(_WRAP_WEIGHTS):
            weights = [
                (code, wt)
                for code, wt in _WRAP_WEIGHTS.get(category, {}).items()
                if code in self.wrap_label
            ]
            if not weights:
                weights = [
                    (code, 1.0)
                    for code, _, cat, _ in w.wrap_ups
                    if cat in (category, "general") and code not in claims
                ] or [(w.wrap_ups[0][0], 1.0)]
            self.wrap_pickers[category] = _Picker(weights)
        self.adj_credit = [r for r in w.adjustment_reasons if r[2] in ("credit", "either")]
        self.adj_debit = [r for r in w.adjustment_reasons if r[2] in ("debit", "either")]
        self.case_cats = {code: (label, cat) for code, label, cat in w.case_categories}
        self.promos_by_sku: dict[str, list[dict[str, Any]]] = {}
        for promo in w.promotions:
            for sku in promo.get("applies_to", []):
                self.promos_by_sku.setdefault(sku, []).append(promo)

    def _wrap(self, code: str, fallback_category: str = "general") -> str:
        """A wrap-up code if the code list has it, else a plausible one from the list."""
        if code in self.wrap_label:
            return code
        return str(self.wrap_pickers[fallback_category].pick(self.rng))

    def _reason(self, code: str) -> str:
        return code if code in self.reason_label else self.w.reasons[-1][0]

    def _norm(self, text: str) -> str:
        n = self._norms.get(text)
        if n is None:
            n = normalize_name(text)
            self._norms[text] = n
        return n

    def _agent(self, queue: str, zone: str = _NY) -> _Agent:
        if queue == "billing":
            queue = "billing_east" if zone in (_NY, _CHI) else "billing_west"
        pool = self.pools.get(queue) or self.pools["general"]
        return pool[int(self.rng.random() * len(pool))]

    def _local_time(self, c: _Cust, day: int, hours: _Picker) -> int:
        """UTC epoch seconds of a random minute in a weighted hour, in the customer's zone."""
        secs = int(hours.pick(self.rng)) * 3600 + int(self.rng.random() * 3600)
        return _local_to_epoch(c.zone, day, secs)

    def _day(self, lo: int, hi: int) -> int:
        """A day in [lo, hi) weighted toward weekdays (contact centres are quieter on
        weekends)."""
        rng = self.rng
        if hi <= lo:
            return lo
        while True:
            d = lo + int(rng.random() * (hi - lo))
            if rng.random() < _WEEKDAY_WEIGHT[(d - 1) % 7]:
                return d

    # -- the customer ------------------------------------------------------------------

    def build(self, first_serial: int, count: int) -> None:
        for serial in range(first_serial, first_serial + count):
            self._customer(serial)

    def _customer(self, serial: int) -> None:
        rng, a, ids = self.rng, self.a, self.ids
        # State the steps below share about this one customer.
        self._pending_contacts: list[tuple[Any, ...]] = []
        self._ledger_credits: list[tuple[int, int]] = []
        self._adj_posted: list[tuple[int, int]] = []
        self._partial: tuple[str, int, int] | None = None
        # Per bill: (first line id seq, line id random hex, period start) and the charge
        # templates, so an adjustment can name a bill line without every id being built.
        self._bill_lines: list[tuple[int, str, int]] = []
        self._bill_templates: list[list[Any]] = []
        self._dpd = self._past_due = 0
        cid = ids.new()
        business = rng.random() < 0.07
        first, last = self.names.first(rng), self.names.last(rng)
        bname = self._business_name(last) if business else ""
        display = bname or f"{first} {last}"
        since = a - 3 - int(3650 * rng.random() ** 1.35)
        tenure = a - since
        u = rng.random()
        status, closed_on = "active", None
        if u < 0.04 and tenure > 180:
            status = "closed"
            closed_on = since + 90 + int(rng.random() * (tenure - 120))
        elif u < 0.062 and tenure > 180:
            status = "suspended"
        c = _Cust(
            id=cid, serial=serial, account=make_account_number(serial), business=business,
            first=first, last=last, display=display, since=since, status=status,
            closed_on=closed_on, zone="", state="", region="", address_id="", phones=[],
            email=None, methods=[], families=set(), end=closed_on or a,
        )  # fmt: skip
        self._address(c)
        since_epoch = self._local_time(c, since, _CALL_HOURS)
        created = _ts(since_epoch, int(rng.random() * 1e6))
        self._contacts(c, created)
        self._payment_methods(c, created)
        svcs = self._services(c)
        self._behavior(c)
        bills = self._bills(c, svcs)
        risk = self._customer_risk(c, bills)
        language = "es" if rng.random() < 0.07 else "en"
        touched = max(since, a - 1 - int(rng.random() * 400))
        updated = _ts(max(since_epoch, _day_epoch(touched) + 50000), int(rng.random() * 1e6))
        credit = "A" if risk < 25 else "B" if risk < 50 else "C" if risk < 75 else "D"
        self.rows["customers"].append(
            (
                cid, c.account, "business" if business else "consumer", first, last, bname,
                display, self._norm(first), self._norm(last), status, _ds(since), language,
                risk, credit, created, updated, 1,
            )
        )  # fmt: skip
        self._contact_history(c, svcs, bills)

    def _business_name(self, last: str) -> str:
        rng = self.rng
        industry = _INDUSTRIES[int(rng.random() * len(_INDUSTRIES))]
        suffix = _BUSINESS_SUFFIXES[int(rng.random() * len(_BUSINESS_SUFFIXES))]
        if rng.random() < 0.25:
            other = self.names.last(rng)
            name = f"{last} & {other} {industry}"
        else:
            name = f"{last} {industry}"
        return f"{name} {suffix}".strip()

    def _address(self, c: _Cust) -> None:
        rng = self.rng
        state = str(self.state_picker.pick(rng))
        _, zone, cities = _GEO[state]
        # The first city is the big one: give it twice the weight of the others.
        i = int(rng.random() * (len(cities) + 1))
        city, zip3, _, override = cities[max(0, i - 1)]
        c.zone = override or zone
        c.state = state
        c.region = self.w.state_region[state]
        number = (
            int(100 + rng.random() * 9800) if rng.random() < 0.9 else int(1 + rng.random() * 99)
        )
        street = _STREETS[int(rng.random() * len(_STREETS))]
        direction = f"{_DIRECTIONS[int(rng.random() * 4)]} " if rng.random() < 0.12 else ""
        line1 = f"{number} {direction}{street} {self.suffix_picker.pick(rng)}"
        line2 = ""
        r = rng.random()
        if c.business and r < 0.35:
            line2 = f"Suite {int(100 + rng.random() * 400)}"
        elif r < 0.2:
            line2 = f"Apt {int(1 + rng.random() * 30)}{'ABCDEF'[int(rng.random() * 6)]}"
        elif r < 0.26:
            line2 = f"Unit {int(1 + rng.random() * 300)}"
        postal = f"{zip3}{int(1 + rng.random() * 98):02d}"
        created = _ts(_day_epoch(c.since) + 55000, int(rng.random() * 1e6))
        c.address_id = self.ids.new()
        separate_billing = rng.random() < 0.06
        self.rows["addresses"].append(
            (
                c.address_id, c.id, "service" if separate_billing else "both", line1, line2,
                city, state, postal, "US", c.zone, c.region, normalize_street(line1),
                created, created, 1,
            )
        )  # fmt: skip
        if separate_billing:
            box = f"PO Box {int(100 + rng.random() * 9800)}"
            self.rows["addresses"].append(
                (
                    self.ids.new(), c.id, "billing", box, "", city, state, postal, "US", c.zone,
                    c.region, normalize_street(box), created, created, 1,
                )
            )  # fmt: skip

    def _phone(self, c: _Cust, elsewhere: bool) -> str:
        rng = self.rng
        if elsewhere:
            _, (_, _, codes, _) = self.all_cities[int(rng.random() * len(self.all_cities))]
        else:
            cities = _GEO[c.state][2]
            codes = next((x[2] for x in cities if x[0] == self._city_of(c)), cities[0][2])
        while True:
            area = codes[int(rng.random() * len(codes))]
            exchange = self.exchanges[int(rng.random() * len(self.exchanges))]
            number = f"+1{area}{exchange}{int(rng.random() * 10000):04d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def _city_of(self, c: _Cust) -> str:
        return str(self.rows["addresses"][-1][5]) if self.rows["addresses"] else ""

    def _contacts(self, c: _Cust, created: str) -> None:
        rng, rows = self.rng, self.rows["contact_points"]
        r = rng.random()
        line_type = "mobile" if r < 0.72 else "landline" if r < 0.92 else "voip"
        if c.business and line_type == "mobile" and rng.random() < 0.6:
            line_type = "landline"
        kinds = [
            (line_type, "work" if c.business else "mobile" if line_type == "mobile" else "home")
        ]
        if rng.random() < 0.36:
            second = "mobile" if line_type != "mobile" or rng.random() < 0.4 else "landline"
            kinds.append((second, "mobile" if second == "mobile" else "work"))
        for i, (lt, label) in enumerate(kinds):
            # Mobile numbers travel with people: some keep an area code from another state,
            # the case Regulation F's calling-hours rule worries about.
            number = self._phone(c, lt == "mobile" and rng.random() < 0.12)
            mobile = lt == "mobile"
            rows.append(
                (
                    self.ids.new(), c.id, "phone", number, label, lt, int(i == 0),
                    int(mobile and rng.random() < 0.42), int(mobile and rng.random() < 0.7),
                    1, int(rng.random() < 0.6), created, created, 1,
                )
            )  # fmt: skip
            c.phones.append((number, lt))
        if rng.random() < 0.87:
            email = self._email(c)
            c.email = email
            rows.append(
                (
                    self.ids.new(), c.id, "email", email, "work" if c.business else "home",
                    "unknown", 1, 0, 0, int(rng.random() < 0.93), int(rng.random() < 0.75),
                    created, created, 1,
                )
            )  # fmt: skip

    def _email(self, c: _Cust) -> str:
        rng = self.rng
        f = "".join(ch for ch in self._norm(c.first) if ch.isalnum())
        lst = "".join(ch for ch in self._norm(c.last) if ch.isalnum())
        if c.business:
            slug = "".join(ch for ch in normalize_name(c.display) if ch.isalnum())[:24]
            domain = f"{slug}.com"
            local = (f, f"{f}.{lst}", "office", "billing", "info")[int(rng.random() * 5)]
        else:
            domain = str(self.domain_picker.pick(rng))
            style = int(rng.random() * 5)
            local = (f"{f}.{lst}", f"{f}{lst}", f"{f[:1]}{lst}", f"{f}_{lst}", f"{lst}.{f}")[style]
        number = ""
        while True:
            candidate = f"{local}{number}@{domain}"
            if candidate not in self._emails:
                self._emails.add(candidate)
                return candidate
            r = rng.random()
            number = str(int(r * 99) + 1) if r < 0.5 else str(int(r * 900) + 100)

    def _payment_methods(self, c: _Cust, created: str) -> None:
        rng = self.rng
        if rng.random() >= 0.82:
            return
        count = 2 if rng.random() < 0.14 else 1
        a_month, _ = _month_index(self.a)
        for i in range(count):
            mid = self.ids.new()
            kind = "card" if (i > 0 or rng.random() < 0.72) else "ach"
            token = f"tok_{rng.getrandbits(96):024x}"
            last4 = f"{int(rng.random() * 10000):04d}"
            if kind == "card":
                expiry = a_month + int(rng.random() * 64) - 4
                brand, exp_m, exp_y, bank = (
                    str(self.brand_picker.pick(rng)),
                    expiry % 12 + 1,
                    expiry // 12,
                    "",
                )
            else:
                brand, exp_m, exp_y = "", None, None
                bank = _BANKS[int(rng.random() * len(_BANKS))]
            self.rows["payment_methods"].append(
                (
                    mid, c.id, kind, token, brand, last4, exp_m, exp_y, c.display, bank,
                    int(i == 0), "active", created, created, 1,
                )
            )  # fmt: skip
            c.methods.append((mid, kind))

    # -- services --------------------------------------------------------------------

    def _tiers(self, family: str, region: str) -> list[_Product]:
        key = (family, region)
        cache: dict[tuple[str, str], list[_Product]] = self.__dict__.setdefault("_tier_cache", {})
        found = cache.get(key)
        if found is None:
            found = sorted(
                (
                    p for p in self.w.products.values()
                    if p.family == family and p.tier is not None and p.sold_in(region)
                    and p.kind in ("recurring", "usage") and p.period in ("monthly", None)
                ),
                key=lambda p: (p.tier or 0, p.price),
            )  # fmt: skip
            cache[key] = found
        return found

    def _pick_tier(self, tiers: list[_Product], business: bool) -> _Product:
        # Middle tiers sell best; businesses lean to the top.
        n = len(tiers)
        center = (n - 1) * (0.75 if business else 0.55)
        weights = [math.exp(-((i - center) ** 2) / (2 * max(0.8, n / 3.5) ** 2)) for i in range(n)]
        r = self.rng.random() * sum(weights)
        for p, wt in zip(tiers, weights, strict=True):
            r -= wt
            if r <= 0:
                return p
        return tiers[-1]

    def _services(self, c: _Cust) -> list[_Svc]:
        rng, w, a = self.rng, self.w, self.a
        products, region = w.products, c.region
        chosen: dict[str, int] = {}  # sku -> quantity, in the order chosen
        bundle: tuple[str, str, tuple[str, ...], int, tuple[str, ...]] | None = None

        def add(sku: str, qty: int = 1) -> None:
            p = products.get(sku)
            if p is None or not p.sold_in(region) or sku in chosen:
                return
            for req in p.requires:
                add(req)
            chosen[sku] = qty

        bundles = [b for b in w.bundles if "*" in b[4] or region in b[4]]
        if bundles and rng.random() < 0.22:
            bundle = bundles[int(rng.random() * len(bundles))]
            for sku in bundle[2]:
                add(sku)
        family_p = (
            {"internet": 0.97, "phone": 0.55, "tv": 0.22, "mobile": 0.35, "security": 0.15}
            if c.business
            else {"internet": 0.9, "tv": 0.42, "phone": 0.2, "mobile": 0.28, "security": 0.08}
        )
        for family in self.families:
            if family == "equipment":
                continue
            owned = any(products[s].family == family for s in chosen)
            tiers = self._tiers(family, region)
            if not owned and tiers and rng.random() < family_p.get(family, 0.03):
                base = self._pick_tier(tiers, c.business)
                qty = 1
                if family == "mobile":
                    qty = (
                        int(2 + rng.random() * 7)
                        if c.business
                        else (1, 1, 2, 2, 3, 4)[int(rng.random() * 6)]
                    )
                elif family == "phone" and c.business:
                    qty = int(2 + rng.random() * 5)
                add(base.sku, qty)
                owned = True
            if owned:
                for p in products.values():
                    if (
                        p.family == family
                        and p.tier is None
                        and p.sold_in(region)
                        and p.sku not in chosen
                        and all(r in chosen for r in p.requires)
                        and (p.kind == "recurring" or (p.kind == "usage" and p.price == 0))
                        and rng.random() < (0.18 if p.kind == "recurring" else 0.1)
                    ):
                        lines = chosen.get(
                            next((s for s in chosen if products[s].family == family), ""), 1
                        )
                        add(p.sku, lines if family == "mobile" else 1)
        if not chosen:
            tiers = self._tiers("internet", region) or self._tiers(self.families[0], region)
            if tiers:
                add(self._pick_tier(tiers, c.business).sku)
        # Rented equipment goes with the service it serves.
        fams = {products[s].family for s in chosen}
        for sku, family, p_rent in (("EQ-GW", "internet", 0.6), ("EQ-TVBOX", "tv", 0.75)):
            if family in fams and sku in products and rng.random() < p_rent:
                add(sku, 1 if family == "internet" else (1, 1, 2, 2, 3)[int(rng.random() * 5)])
        for p in products.values():
            if (
                p.family == "equipment"
                and p.kind == "recurring"
                and p.sku not in chosen
                and p.sku not in ("EQ-GW", "EQ-TVBOX")
                and p.sold_in(region)
                and rng.random() < 0.05
            ):
                add(p.sku)

        # Timeline: everything starts when the customer joined, then a few changes.
        svcs: list[_Svc] = []
        in_bundle = set(bundle[2]) if bundle else set()
        for sku, qty in chosen.items():
            p = products[sku]
            svcs.append(
                _Svc(self.ids.new(), p, qty, c.since, _FOREVER, "active",
                     bundle=bundle[0] if bundle and sku in in_bundle else None)
            )  # fmt: skip
        c.families = {s.product.family for s in svcs}
        c.bundle = bundle
        window_lo = max(c.since + 45, a - 700)
        window_hi = (c.closed_on or a) - 5
        self._orders: list[tuple[str, list[_Svc], list[_Svc], int]] = []
        if window_hi > window_lo and c.status != "closed":
            r = rng.random()
            if r < 0.06:
                self._upgrade(c, svcs, window_lo, window_hi)
            elif r < 0.13:
                self._later_family(c, svcs, window_lo, window_hi)
            elif r < 0.19:
                addons = [
                    s for s in svcs if s.product.tier is None and s.product.family != "equipment"
                ]
                if addons:
                    s = addons[int(rng.random() * len(addons))]
                    s.end = window_lo + int(rng.random() * (window_hi - window_lo))
                    s.status = "cancelled"
        if c.status == "closed" and c.closed_on is not None:
            for s in svcs:
                if s.end > c.closed_on:
                    s.end, s.status = c.closed_on, "cancelled"
        elif c.status == "suspended":
            for s in svcs:
                if s.status == "active":
                    s.status = "suspended"
        r = rng.random()
        if c.status == "active" and r < 0.012:
            self._pending_order(c, svcs)
        elif c.status == "active" and r < 0.018:
            self._orders.append(("cancelled", [], [], a - 3 - int(rng.random() * 200)))
        elif c.status == "active" and r < 0.02:
            self._orders.append(("draft", [], [], a - 1 - int(rng.random() * 20)))
        self._promotions(c, svcs)
        for s in svcs:
            start_epoch = _day_epoch(s.start) + 43200 + int(rng.random() * 20000)
            ended = s.end if s.end != _FOREVER else None
            changed = _day_epoch(ended) + 43200 if ended else start_epoch
            self.rows["services"].append(
                (
                    s.id, c.id, c.address_id, s.product.sku, s.status, s.qty,
                    s.product.price, _ds(s.start), _ds(ended) if ended else None, s.bundle,
                    s.promo, _ds(s.promo_end) if s.promo_end else None,
                    _ts(start_epoch, int(rng.random() * 1e6)),
                    _ts(max(changed, start_epoch), int(rng.random() * 1e6)), 1,
                )
            )  # fmt: skip
        return svcs

    def _upgrade(self, c: _Cust, svcs: list[_Svc], lo: int, hi: int) -> None:
        """Move the customer up one tier in a family they have: an up-sell order."""
        rng = self.rng
        for s in svcs:
            tiers = self._tiers(s.product.family, c.region)
            if s.product in tiers and s.bundle is None and tiers.index(s.product) < len(tiers) - 1:
                new_product = tiers[tiers.index(s.product) + 1]
                day = lo + int(rng.random() * (hi - lo))
                s.end, s.status = day, "cancelled"
                new = _Svc(self.ids.new(), new_product, s.qty, day, _FOREVER, "active")
                svcs.append(new)
                self._orders.append(("completed", [new], [s], day))
                return

    def _later_family(self, c: _Cust, svcs: list[_Svc], lo: int, hi: int) -> None:
        """A family added after joining (TV, mobile...): a cross-sell order."""
        rng = self.rng
        missing = [
            f for f in self.families
            if f not in c.families and f != "equipment" and self._tiers(f, c.region)
        ]  # fmt: skip
        if not missing:
            return
        family = missing[int(rng.random() * len(missing))]
        product = self._pick_tier(self._tiers(family, c.region), c.business)
        day = lo + int(rng.random() * (hi - lo))
        added = []
        for sku in (*product.requires, product.sku):
            p = self.w.products.get(sku)
            if p is not None and all(s.product.sku != sku for s in svcs):
                qty = (1, 2, 2, 3)[int(rng.random() * 4)] if family == "mobile" else 1
                new = _Svc(self.ids.new(), p, qty, day, _FOREVER, "active")
                svcs.append(new)
                added.append(new)
        c.families.add(family)
        if added:
            self._orders.append(("completed", added, [], day))

    def _pending_order(self, c: _Cust, svcs: list[_Svc]) -> None:
        rng, a = self.rng, self.a
        missing = [f for f in self.families if f not in c.families and self._tiers(f, c.region)]
        if not missing:
            return
        family = missing[int(rng.random() * len(missing))]
        product = self._pick_tier(self._tiers(family, c.region), c.business)
        placed = a - int(rng.random() * 9)
        install = placed + 3 + int(rng.random() * 10)
        status = (
            "captured"
            if placed >= a - 1
            else ("submitted", "approved", "provisioning", "shipped")[int(rng.random() * 4)]
        )
        added = []
        for sku in (*product.requires, product.sku):
            p = self.w.products.get(sku)
            if p is not None and all(s.product.sku != sku for s in svcs):
                new = _Svc(self.ids.new(), p, 1, max(install, a + 1), _FOREVER, "pending")
                svcs.append(new)
                added.append(new)
        if added:
            self._orders.append((status, added, [], placed))

    def _promotions(self, c: _Cust, svcs: list[_Svc]) -> None:
        """Apply an eligible catalog promotion to some services that started while it ran.

        Promotions never stack with a bundle, which keeps every bill's subtotal >= 0.
        """
        rng = self.rng
        kind_of_payment = c.methods[0][1] if c.methods else "check"
        for s in svcs:
            if s.bundle is not None or s.status == "pending":
                continue
            for promo in self.promos_by_sku.get(s.product.sku, ()):
                start = date.fromisoformat(promo["valid_from"]).toordinal()
                stop = date.fromisoformat(promo["valid_to"]).toordinal()
                elig = promo.get("eligibility", {})
                regions = elig.get("regions", ["*"])
                if not start <= s.start <= stop or not ("*" in regions or c.region in regions):
                    continue
                if kind_of_payment not in elig.get("payment_methods", [kind_of_payment]):
                    continue
                if elig.get("autopay_required") and not c.methods:
                    continue
                if elig.get("new_customers_only") and s.start != c.since:
                    continue
                if (s.start - c.since) < 30.4 * int(elig.get("min_tenure_months", 0) or 0):
                    continue
                discount, months = self._promo_discount(promo, s, svcs)
                if discount <= 0 or rng.random() < 0.45:
                    continue
                s.promo, s.discount = promo["code"], discount
                m, d = _month_index(s.start)
                s.promo_end = _month_day(m + months, min(d, 28))
                break

    def _promo_discount(self, promo: dict[str, Any], s: _Svc, svcs: list[_Svc]) -> tuple[int, int]:
        value, kind = promo.get("value", {}), promo.get("kind")
        charge = s.product.price * s.qty
        if kind == "amount_off":
            return min(int(value.get("amount_cents", 0)), charge), 12
        if kind == "percent_off":
            pct = Decimal(str(value.get("percent", "0")))
            cents = (Decimal(charge) * pct / 100).quantize(Decimal(1), rounding="ROUND_HALF_UP")
            return min(int(cents), charge), 12
        if kind == "months_free":
            return charge, int(value.get("months", 1))
        if kind == "buy_get" and value.get("buy") == value.get("get") == s.product.sku:
            return (s.product.price if s.qty >= 2 else 0), 12
        if kind == "tiered_spend":
            applies = set(promo.get("applies_to", []))
            spend = sum(x.product.price * x.qty for x in svcs if x.product.sku in applies)
            best = 0
            for tier in value.get("tiers", []):
                if spend >= int(tier.get("min_monthly_cents", 0)):
                    best = max(best, int(tier.get("amount_off_cents", 0)))
            return min(best, charge), 12
        return 0, 0

    # -- bills, payments, adjustments --------------------------------------------------

    def _behavior(self, c: _Cust) -> None:
        """How the customer pays: autopay, on time, late, or stopped paying (and since when)."""
        rng = self.rng
        r = rng.random()
        if c.status == "closed":
            c.behavior = "delinquent:90+" if r < 0.3 else ("autopay" if c.methods else "ontime")
        elif c.status == "suspended":
            c.behavior = "delinquent:61-90" if r < 0.4 else "delinquent:90+"
        elif r < 0.024:
            c.behavior = "delinquent:1-30"
        elif r < 0.037:
            c.behavior = "delinquent:31-60"
        elif r < 0.044:
            c.behavior = "delinquent:61-90"
        elif r < 0.048:
            c.behavior = "delinquent:90+"
        elif r < 0.118:
            c.behavior = "late"
        elif c.methods and r < 0.66:
            c.behavior = "autopay"
        else:
            c.behavior = "ontime"

    def _templates(
        self, c: _Cust, svcs: list[_Svc], bill_day: int, first_bill: int, last_bill: int
    ) -> tuple[list[list[Any]], list[Any] | None]:
        """One row per charge that repeats on bills: [from, to, svc id, sku, kind, text,
        quantity, amount]; a line applies to a bill whose period starts in [from, to)."""
        rng, products = self.rng, self.w.products
        region = self.w.regions[c.region]
        out: list[list[Any]] = []
        usage: list[Any] | None = None
        billed = [s for s in svcs if s.status != "pending"]
        for s in billed:
            p = s.product
            if p.kind == "recurring" or (p.kind == "usage" and p.price > 0):
                name = (
                    p.name
                    if s.qty == 1
                    else f"{p.name} ({s.qty} lines)"
                    if p.family == "mobile"
                    else p.name
                )
                if p.period in (None, "monthly"):
                    out.append(
                        [s.start, s.end, s.id, p.sku, "recurring", name, s.qty, p.price * s.qty]
                    )
                else:
                    every = 3 if p.period == "quarterly" else 12
                    m, d = _month_index(s.start)
                    if d > bill_day:
                        m += 1
                    while True:
                        day = _month_day(m, bill_day)
                        if day > last_bill or day >= s.end:
                            break
                        if day >= first_bill:
                            text = f"{name} ({p.period})"
                            out.append(
                                [
                                    day,
                                    day + 1,
                                    s.id,
                                    p.sku,
                                    "recurring",
                                    text,
                                    s.qty,
                                    p.price * s.qty,
                                ]
                            )
                        m += every
            if p.kind == "usage" and usage is None and p.usage_price > 0:
                usage = [s.start, s.end, s.id, p.sku, "usage", f"{p.name}: usage", p]
            if s.discount:
                promo_end = min(s.end, s.promo_end or _FOREVER)
                out.append(
                    [
                        s.start,
                        promo_end,
                        s.id,
                        None,
                        "discount",
                        f"Promotion {s.promo}",
                        1,
                        -s.discount,
                    ]
                )
        bundle = c.bundle
        if bundle is not None:
            parts = [s for s in billed if s.bundle == bundle[0]]
            if parts:
                out.append([
                    max(s.start for s in parts), min(s.end for s in parts), None, None,
                    "discount", f"{bundle[1]} bundle discount", 1, -bundle[3],
                ])  # fmt: skip
        # One-time charges when a family first starts: installation or activation, and
        # sometimes a device.
        starts: dict[str, int] = {}
        for s in billed:
            f = s.product.family
            starts[f] = min(starts.get(f, _FOREVER), s.start)
        for family, start in starts.items():
            if start < first_bill - 31:
                continue
            m, d = _month_index(start)
            next_bill = _month_day(m + (1 if d > bill_day else 0), bill_day)
            options = [
                p for p in products.values()
                if p.family == family and p.kind == "one_time" and p.sold_in(c.region)
            ]  # fmt: skip
            services_ = [p for p in options if p.inventory_free]
            devices = [p for p in options if not p.inventory_free]
            picks = []
            if services_ and rng.random() < 0.8:
                picks.append(services_[int(rng.random() * len(services_))])
            if devices and rng.random() < 0.12:
                picks.append(devices[int(rng.random() * len(devices))])
            for p in picks:
                out.append([start, next_bill + 1, None, p.sku, "one_time", p.name, 1, p.price])
        for _code, name, amount, families in region.fees:
            related = [s for s in billed if s.product.family in families]
            if related and amount > 0:
                out.append([
                    min(s.start for s in related), max(s.end for s in related), None, None,
                    "fee", name, 1, amount,
                ])  # fmt: skip
        # Drop charges that no bill in the window can carry.
        out = [t for t in out if t[0] <= last_bill and t[1] > first_bill]
        if usage is not None and not (usage[0] <= last_bill and usage[1] > first_bill):
            usage = None
        return out, usage

    def _bills(self, c: _Cust, svcs: list[_Svc]) -> list[tuple[str, int, int, int]]:
        """Invoices, adjustments and payments; returns the bills (id, issued, due, total)."""
        rng, ids = self.rng, self.ids
        region = self.w.regions[c.region]
        bill_day = 1 + int(rng.random() * 28)
        m0, d0 = _month_index(c.since)
        first_m = m0 + (1 if d0 > bill_day else 0)
        me, de = _month_index(c.end)
        last_m = me - (1 if de < bill_day else 0)
        start_m = max(first_m, last_m - (_MONTHS_BILLED - 1))
        months = list(range(start_m, last_m + 1))
        if not months:
            return []
        first_bill, last_bill = _month_day(months[0], bill_day), _month_day(months[-1], bill_day)
        templates, usage = self._templates(c, svcs, bill_day, first_bill, last_bill)
        n_tmpl = len(templates) + (1 if usage is not None else 0) + 1  # + tax line
        cid = c.id
        for k, t in enumerate(templates):
            self.templates.append(
                (cid, k, _ds(t[0]), _ds(min(t[1], _FOREVER)), t[2], t[3], t[4], t[5], t[6], t[7])
            )
        k = len(templates)
        if usage is not None:
            self.templates.append(
                (cid, k, _ds(usage[0]), _ds(usage[1]), usage[2], usage[3], "usage", usage[5],
                 None, None)
            )  # fmt: skip
            k += 1
        self.templates.append(
            (cid, k, "0001-01-01", _ds(_FOREVER), None, None, "tax",
             f"Taxes ({region.name} {region.rate_text})", 1, None)
        )  # fmt: skip

        bills: list[tuple[str, int, int, int]] = []
        ranges = [(t[0], t[1], t[7]) for t in templates]
        for m in months:
            p = _month_day(m, bill_day)
            subtotal = 0
            for lo, hi, amount in ranges:
                if lo <= p < hi:
                    subtotal += amount
            usage_qty = usage_cents = None
            if usage is not None and usage[0] <= p < usage[1] and rng.random() < 0.35:
                product: _Product = usage[6]
                usage_qty = (
                    1 + int(rng.random() * 4)
                    if product.usage_price >= 300
                    else 20 + int(rng.random() * 280)
                )
                usage_cents = usage_qty * product.usage_price
                subtotal += usage_cents
            tax = _half_up_tax(subtotal, region.rate_ppm)
            total = subtotal + tax
            inv_id = ids.new()
            lseq, lrnd = ids.reserve(n_tmpl)
            created = _ts(_day_epoch(p) + 21600 + int(rng.random() * 7200), int(rng.random() * 1e6))
            number = f"{c.account}-{(m // 12) % 100:02d}{m % 12 + 1:02d}"
            period_end = _month_day(m + 1, bill_day) - 1
            self.invoices.append(
                (
                    inv_id, cid, number, _ds(p), _ds(period_end), _ds(p), _ds(p + _DUE_DAYS),
                    subtotal, tax, total, _USD, created, lseq, lrnd, usage_qty, usage_cents,
                )
            )  # fmt: skip
            bills.append((inv_id, p, p + _DUE_DAYS, total))
            self._bill_lines.append((lseq, lrnd, p))
        self._bill_templates = templates
        adjustments = self._adjustments(c, bills)
        self._adj_posted = adjustments
        self._payments(c, bills, adjustments)
        return bills

    def _adjustments(
        self, c: _Cust, bills: list[tuple[str, int, int, int]]
    ) -> list[tuple[int, int]]:
        """A few credits (and rarely debits); returns posted ones as (day, signed cents)."""
        rng, a = self.rng, self.a
        posted: list[tuple[int, int]] = []
        r = rng.random()
        if not bills or r >= 0.09:
            return posted
        j = int(rng.random() * len(bills))
        inv_id, issued, _, _ = bills[j]
        day = min(issued + 2 + int(rng.random() * 18), a - 1)
        requester = self._agent("billing", c.zone)
        line_id = None
        if r < 0.07 and self.adj_credit:
            direction = "credit"
            code, label, _ = self.adj_credit[int(rng.random() * len(self.adj_credit))]
            refs = self._recurring_lines(j)
            if code in ("BILLING-ERROR", "DUPLICATE-CHARGE", "PRORATION-CORRECTION") and refs:
                _, line_id, amount, text = refs[int(rng.random() * len(refs))]
                memo = f"{label}: {text}"
            else:
                amount = 25 * int(20 + rng.random() * 100)
                memo = label
        elif self.adj_debit:
            direction = "debit"
            code, label, _ = self.adj_debit[int(rng.random() * len(self.adj_debit))]
            amount = 25 * int(40 + rng.random() * 300)
            memo = label
        else:
            return posted
        if amount <= 0:
            return posted
        status, decided_by, decided_at, decision = "posted", None, None, ""
        decided_epoch: int | None = None
        epoch = self._local_time(c, day, _CALL_HOURS)
        if r < 0.006 and direction == "credit":
            # Waiting for a supervisor right now: above the agent's limit, made this week.
            amount = max(amount, 6000 + 500 * int(rng.random() * 20))
            day = a - 1 - int(rng.random() * 5)
            epoch = self._local_time(c, day, _CALL_HOURS)
            status = "pending_approval"
        elif amount > 5000:
            approver = self._agent("approvals")
            decided_by = approver.id
            decided_epoch = epoch + 600 + int(rng.random() * 20000)
            decided_at = _ts(decided_epoch, int(rng.random() * 1e6))
            if rng.random() < 0.12:
                status, decision = "rejected", "Not supported by the account history."
            else:
                decision = "Approved: verified against the account history."
        adj_id = self.ids.new()
        case_id = None
        if status != "posted" or decided_by is not None:
            case_id = self._approval_case(c, amount, memo, epoch, status, decided_by, decided_epoch)
        self.rows["adjustments"].append(
            (
                adj_id, c.id, inv_id, line_id, case_id, direction, amount, _USD, code, memo,
                status, requester.id, decided_by, decided_at, decision, _ds(day),
                _ts(epoch, int(rng.random() * 1e6)),
            )
        )  # fmt: skip
        self._pending_contacts.append(
            (epoch - 400, "billing", self._reason("BILL-QUESTION" if direction == "debit"
             else "BILL-DISPUTE"), self._wrap("ADJUSTMENT-PENDING" if status != "posted"
             else "ADJUSTMENT-POSTED", "billing"), requester, None)
        )  # fmt: skip
        if status == "posted":
            posted.append((day, -amount if direction == "credit" else amount))
        return posted

    def _recurring_lines(self, j: int) -> list[tuple[int, str, int, str]]:
        """(bill index, line id, amount, text) of bill ``j``'s recurring lines, if that bill
        is itemized in this store."""
        lseq, lrnd, p = self._bill_lines[j]
        if p < self.w.itemized_from:
            return []
        return [
            (j, _line_id(lseq, kk, lrnd), t[7], t[5])
            for kk, t in enumerate(self._bill_templates)
            if t[4] == "recurring" and t[0] <= p < t[1]
        ]

    def _payments(
        self, c: _Cust, bills: list[tuple[str, int, int, int]], adjustments: list[tuple[int, int]]
    ) -> None:
        rng, a = self.rng, self.a
        behavior = c.behavior
        stop_at = len(bills)
        if behavior.startswith("delinquent:"):
            bucket = behavior.split(":", 1)[1]
            lo, hi = {"1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90)}.get(bucket, (91, 400))
            candidates = [j for j, b in enumerate(bills) if lo <= a - b[2] <= hi]
            if not candidates:
                # Too new for that bucket: the oldest bill that is past due at all.
                candidates = [j for j, b in enumerate(bills) if a - b[2] >= 1][:1]
            stop_at = candidates[0] if candidates else len(bills)
        adjustments = sorted(adjustments)
        ai, carry = 0, 0
        paid_all = True
        for j, (inv_id, issued, due, total) in enumerate(bills):
            if j >= stop_at:
                paid_all = False
                break
            if behavior == "autopay":
                day = due - int(rng.random() * 2)
            elif behavior == "late":
                day = due + 2 + int(rng.random() * 24)
            else:
                day = due - int(rng.random() * 17)
            day = max(day, issued + 1)
            if day >= a:
                paid_all = False
                break
            while ai < len(adjustments) and adjustments[ai][0] <= day:
                carry += adjustments[ai][1]
                ai += 1
            owed = total + carry
            if owed <= 0:
                carry = owed
                continue
            amount, carry = owed, 0
            partial_p = 0.14 if behavior == "late" else 0.015 if behavior != "autopay" else 0.0
            if owed > 2000 and rng.random() < partial_p:
                amount = 100 * max(1, int(owed * (0.35 + rng.random() * 0.45) / 100))
                carry = owed - amount
            day = self._pay(c, behavior, inv_id, day, amount)
            if day < 0:
                paid_all = False
                break
        if behavior.startswith("delinquent:") and stop_at < len(bills) and rng.random() < 0.35:
            # A token payment after falling behind: smaller than the first unpaid bill, so
            # the account stays in its aging bucket.
            inv_id, _, due, total = bills[stop_at]
            room = a - 1 - (due + 5)
            amount = 100 * int(total * (0.15 + rng.random() * 0.4) / 100)
            if room > 0 and 0 < amount < total:
                day = due + 5 + int(rng.random() * min(room, 60))
                pid = self._payment_row(c, "manual", inv_id, day, amount, "settled")
                self._partial = (pid, day, amount)
        del paid_all

    def _pay(self, c: _Cust, behavior: str, inv_id: str, day: int, amount: int) -> int:
        """A payment on ``day`` (after a declined try now and then); -1 if not made yet."""
        rng = self.rng
        kind = "autopay" if behavior == "autopay" else "manual"
        if kind == "autopay" and c.methods[0][1] == "card" and rng.random() < 0.015:
            self._payment_row(c, kind, inv_id, day, amount, "declined")
            day += 1 + int(rng.random() * 5)
            if day >= self.a:
                return -1
        self._payment_row(c, kind, inv_id, day, amount, "settled")
        return day

    def _payment_row(
        self, c: _Cust, kind: str, inv_id: str, day: int, amount: int, status: str
    ) -> str:
        rng = self.rng
        pid = self.ids.new()
        method_id: str | None = None
        agent_id = interaction_id = None
        if kind == "autopay":
            method_id, method = c.methods[0]
            epoch = _day_epoch(day) + 32400 + int(rng.random() * 7200)
        else:
            r = rng.random()
            if r < 0.5 and c.methods:
                method_id, method = c.methods[int(rng.random() * len(c.methods))]
            else:
                method = "card" if r < 0.75 else "check"
            epoch = self._local_time(c, day, _CALL_HOURS)
            if method != "check" and rng.random() < 0.05:
                # Paid over the phone with an agent: the call is part of the history.
                agent = self._agent("billing", c.zone)
                agent_id = agent.id
                interaction_id = self.ids.new()
                self._pending_contacts.append(
                    (epoch - 240, "billing", self._reason("PAY-MAKE"),
                     self._wrap("PAYMENT-TAKEN", "payment"), agent, interaction_id)
                )  # fmt: skip
        if status == "settled":
            confirmation = f"P{int(rng.random() * 1e11):011d}"
            decline = ""
        else:
            confirmation = ""
            decline = ("card_declined", "insufficient_funds", "expired_card")[int(rng.random() * 3)]
        charge = (
            f"ch_{rng.getrandbits(96):024x}" if method == "card"
            else f"ach_{rng.getrandbits(80):020x}" if method == "ach" else ""
        )  # fmt: skip
        stamp = _ts(epoch, int(rng.random() * 1e6))
        self.rows["payments"].append(
            (
                pid, c.id, "payment", None, method_id, method, amount, _USD, status,
                confirmation, charge, decline, stamp, agent_id, interaction_id, inv_id, stamp,
            )
        )  # fmt: skip
        if status == "settled":
            self._ledger_credits.append((day, amount))
        return pid

    # -- aging and risk ----------------------------------------------------------------

    def _age(self, bills: list[tuple[str, int, int, int]]) -> tuple[int, int]:
        """(days past due of the oldest unpaid debit, past-due cents) as of ``as_of``:
        credits paid to the oldest debits first, as domain.billing.aging does."""
        a = self.a
        pool = sum(amount for _, amount in self._ledger_credits)
        debits = [(due, total) for _, _, due, total in bills]
        for day, signed in self._adj_posted:
            if signed < 0:
                pool -= signed
            else:
                debits.append((day, signed))
        debits.sort()
        oldest, past_due = 0, 0
        for due, amount in debits:
            applied = min(pool, amount)
            pool -= applied
            if amount > applied and due < a:
                past_due += amount - applied
                oldest = max(oldest, a - due)
        return oldest, past_due

    def _customer_risk(self, c: _Cust, bills: list[tuple[str, int, int, int]]) -> int:
        rng = self.rng
        dpd, past_due = self._age(bills)
        self._dpd, self._past_due = dpd, past_due
        if dpd > 0:
            bucket = (
                "1-30" if dpd <= 30 else "31-60" if dpd <= 60 else "61-90" if dpd <= 90 else "90+"
            )
            self.aging[bucket] += 1
        base = {"autopay": 8, "ontime": 18, "late": 38}.get(c.behavior, 60)
        risk = base + int(rng.random() * 22) + min(30, dpd // 4)
        return max(0, min(100, risk))

    # -- everything that happened between the customer and the contact centre ---------

    def _contact_history(
        self, c: _Cust, svcs: list[_Svc], bills: list[tuple[str, int, int, int]]
    ) -> None:
        rng, a = self.rng, self.a
        if self._dpd >= 31:
            self._collections(c)
        elif rng.random() < 0.015:
            self._preference_restriction(c)
        for status, added, removed, day in self._orders:
            self._order(c, status, added, removed, day)
        # Cases (approval requests were made with their adjustments).
        if rng.random() < 0.11:
            for _ in range(2 if rng.random() < 0.15 else 1):
                self._case(c, svcs, bills)
        if c.status == "closed" and c.closed_on is not None:
            epoch = self._local_time(c, c.closed_on - 1, _CALL_HOURS)
            self._pending_contacts.append(
                (epoch, "retention", self._reason("CANCEL-REQUEST"),
                 self._wrap("CANCEL-PROCESSED", "cancellation"), None, None)
            )  # fmt: skip
        for epoch, queue, reason, wrap, agent, iid in self._pending_contacts:
            self._interaction(
                c,
                epoch,
                "call",
                "inbound",
                queue,
                reason,
                wrap,
                agent=agent,
                iid=iid,
                abandon_ok=False,
            )
        # Everyday contacts: about four or five over two years, more for troubled accounts.
        lo = max(c.since, a - 730)
        hi = min(a, (c.closed_on or a) + 1)
        if hi - lo < 2:
            return
        lam = 3.6 * (hi - lo) / 730 + (1.2 if self._dpd > 0 else 0)
        for _ in range(_poisson(rng, lam)):
            self._random_contact(c, lo, hi)

    def _random_contact(self, c: _Cust, lo: int, hi: int) -> None:
        rng = self.rng
        reason = ""
        for _ in range(6):
            reason = str(self.reason_picker.pick(rng))
            family = _REASON_FAMILY.get(reason)
            if family is None or family in c.families:
                break
        if self._dpd > 0 and rng.random() < 0.25:
            reason = self._reason("COLL-PAST-DUE" if self._dpd > 30 else "PAY-ARRANGEMENT")
        category = self.reason_category.get(reason, "general")
        queue = _QUEUE_FOR_CATEGORY.get(category, "general")
        r = rng.random()
        channel = "call" if r < 0.8 else "chat" if r < 0.94 else "email"
        day = self._day(lo, hi - 1 if hi - 1 > lo else hi)
        hours = (
            _CALL_HOURS if channel == "call" else _CHAT_HOURS if channel == "chat" else _EMAIL_HOURS
        )
        epoch = self._local_time(c, day, hours)
        wrap = str(self.wrap_pickers[category].pick(rng))
        repeats = 0
        while True:
            _iid, resolved, abandoned = self._interaction(
                c, epoch, channel, "inbound", queue, reason, wrap
            )
            # Unresolved problems come back: the same customer and reason within days
            # (what first-contact resolution counts). Abandoned calls mostly retry soon.
            if abandoned:
                if rng.random() >= 0.6:
                    return
                epoch += 300 + int(rng.random() * 5400)
            else:
                p_repeat = 0.07 if resolved else 0.32
                if repeats >= 2 or rng.random() >= p_repeat:
                    return
                epoch += int(3600 * (2 + rng.random() * 140))
                wrap = str(self.wrap_pickers[category].pick(rng))
                channel = "call" if rng.random() < 0.85 else channel
            repeats += 1
            if epoch >= _day_epoch(self.a):
                return

    def _interaction(
        self,
        c: _Cust,
        epoch: int,
        channel: str,
        direction: str,
        queue: str,
        reason: str,
        wrap: str,
        *,
        agent: _Agent | None = None,
        iid: str | None = None,
        abandon_ok: bool = True,
        talk_seconds: int | None = None,
        survey: bool = True,
        summary: str | None = None,
    ) -> tuple[str, bool, bool]:
        """One contact; returns (id, resolved, abandoned)."""
        rng = self.rng
        iid = iid or self.ids.new()
        epoch = min(epoch, _day_epoch(self.a) - 600)
        abandoned = False
        dial = wait = talk = hold = acw = transfers = 0
        answered: int | None = None
        if direction == "outbound":
            dial = 6 + int(rng.random() * 20)
            answered = epoch + dial
        elif channel == "email":
            wait = int(1800 + rng.random() * 60000)
            answered = epoch + wait
        else:
            r = rng.random()
            if channel == "call" and abandon_ok and r < 0.055:
                abandoned = True
                wait = (
                    int(1 + rng.random() * 5) if rng.random() < 0.4 else int(5 + rng.random() * 290)
                )
            elif r < 0.72:
                wait = int(rng.expovariate(1 / 11))
            elif r < 0.93:
                wait = int(30 + rng.random() * 150)
            else:
                wait = int(180 + rng.random() * 420)
            if not abandoned:
                answered = epoch + wait
        if abandoned:
            agent = None
            ended = epoch + wait
            wrap = ""
            resolved = False
            if rng.random() < 0.3:
                reason = ""
        else:
            agent = agent or self._agent(queue, c.zone)
            if talk_seconds is not None:
                talk = talk_seconds
            elif channel == "email":
                talk = int(120 + rng.random() * 480)
            else:
                median = _TALK_MEDIAN.get(queue, 300) * (1.8 if channel == "chat" else 1.0)
                talk = max(25, min(5400, _lognormal(rng, median, 0.55)))
            if channel == "call" and direction == "inbound" and rng.random() >= 0.6:
                hold = int(20 + rng.random() * 220)
            acw = int(20 + rng.random() * 100) if channel != "email" else int(rng.random() * 60)
            if channel == "call" and direction == "inbound" and rng.random() < 0.08:
                transfers = 2 if rng.random() < 0.12 else 1
            assert answered is not None
            ended = answered + talk + hold
            resolved = self.wrap_resolved.get(wrap, False)
            if rng.random() < 0.08:
                resolved = not resolved
        csat = nps = None
        if survey and not abandoned and channel != "email" and direction == "inbound":
            r = rng.random()
            if r < 0.2:
                csat = (
                    (5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1)[int(rng.random() * 11)]
                    if resolved
                    else (5, 4, 4, 3, 3, 2, 2, 1, 1, 1)[int(rng.random() * 10)]
                )
            if rng.random() < 0.15:
                nps = (
                    (10, 10, 9, 9, 9, 8, 8, 7, 6, 4, 2)[int(rng.random() * 11)]
                    if resolved
                    else (10, 9, 8, 7, 6, 5, 4, 3, 2, 0)[int(rng.random() * 10)]
                )
        if summary is None:
            parts = [self.reason_label.get(reason, "")]
            if wrap:
                parts.append(self.wrap_label.get(wrap, wrap).lower())
            elif abandoned:
                parts.append("caller hung up in the queue")
            summary = ": ".join(p for p in parts if p) + "."
        caller = ""
        if channel == "call" and c.phones:
            caller = c.phones[0][0] if rng.random() < 0.85 else c.phones[-1][0]
        micro = int(rng.random() * 1e6)
        self.rows["interactions"].append(
            (
                iid, c.id, channel, direction, queue, agent.id if agent else None, caller,
                _ts(epoch, micro), _ts(answered, micro) if answered is not None else None,
                _ts(ended, micro), wait, dial, talk, hold, acw, transfers, int(abandoned),
                reason, wrap, int(resolved), csat, nps, summary, _ts(epoch, micro),
                _ts(ended + acw, micro), 1,
            )
        )  # fmt: skip
        if not abandoned and agent is not None:
            if (
                direction == "inbound"
                and queue in ("billing", "sales", "retention", "general")
                and rng.random() < 0.12
            ):
                self._offer(c, iid, agent, answered or epoch)
            if rng.random() < 0.07:
                self._note(c, ended + acw, agent, self.reason_category.get(reason, "general"), iid)
        return iid, resolved, abandoned

    # -- collections ---------------------------------------------------------------------

    def _collections(self, c: _Cust) -> None:
        """The collection account for a debt 31+ days past due, and how it was worked:
        calls within Regulation F's limits, promises, arrangements, restrictions."""
        rng, a, ids = self.rng, self.a, self.ids
        oldest_due = a - self._dpd
        opened = min(a - 1, oldest_due + 31 + int(rng.random() * 3))
        ca_id = ids.new()
        high_value = (a - c.since) > 5 * 365 and c.behavior != "late"
        r = rng.random()
        treatment = (
            "recovery" if c.status == "closed"
            else "gentle" if high_value and r < 0.7
            else "hardship" if r < 0.08 else "standard"
        )  # fmt: skip
        notice = min(a - 1, opened + int(rng.random() * 5))
        disputed = None
        if rng.random() < 0.04 and a - 1 > notice + 2:
            disputed = notice + 2 + int(rng.random() * min(28, a - 3 - notice))
        created = _ts(_day_epoch(opened) + 14400, int(rng.random() * 1e6))
        self.rows["collection_accounts"].append(
            (
                ca_id, c.id, _ds(opened), self._past_due, "open", treatment, _ds(notice),
                _ds(disputed) if disputed is not None else None, created, created, 1,
            )
        )  # fmt: skip

        phone = c.phones[0][0] if c.phones else ""
        last_day = (disputed if disputed is not None else a) - 1
        day = opened + int(rng.random() * 3)
        attempts = 0
        promise_made = arrangement_made = False
        stop_calls = False
        partial = self._partial
        forced_day = None
        if partial is not None and partial[1] > opened + 6:
            forced_day = partial[1] - 2 - int(rng.random() * 4)
        last_conversation = None
        while day <= last_day and attempts < 14 and not stop_calls:
            if forced_day is not None and forced_day - 8 < day < forced_day:
                day = forced_day
            epoch = _local_to_epoch(c.zone, day, 9 * 3600 + int(rng.random() * 11 * 3600))
            agent = self._agent("collections")
            if treatment == "gentle" and attempts < 2 and (c.email or len(c.phones)):
                channel = "email" if c.email and attempts == 0 else "text"
                dest = c.email if channel == "email" else phone
                if channel == "text" and not any(lt == "mobile" for _, lt in c.phones):
                    channel, dest = "email", c.email
                if dest:
                    self._attempt(c, ca_id, epoch, channel, dest or "", "sent", False, False,
                                  None, None,
                                  "Reminder with a self-service payment link.")  # fmt: skip
                attempts += 1
                day += 4 + int(rng.random() * 4)
                continue
            if day == forced_day and partial is not None:
                outcome = "promise_to_pay"
            else:
                outcome = str(_ATTEMPT_OUTCOMES.pick(rng))
                if outcome == "conversation":
                    outcome = str(_CONVERSATION_OUTCOMES.pick(rng))
            conversation = outcome not in (
                "no_answer",
                "voicemail",
                "busy",
                "not_connected",
                "wrong_number",
            )
            connected = outcome not in ("busy", "not_connected")
            iid = None
            if connected:
                wrap = {
                    "promise_to_pay": "PROMISE-TO-PAY", "payment_arrangement": "ARRANGEMENT-SET",
                    "wrong_number": "CALLER-NOT-VERIFIED",
                    "callback_requested": "CALLBACK-SCHEDULED",
                }.get(outcome, "INFO-PROVIDED")  # fmt: skip
                talk = (
                    _lognormal(rng, 260, 0.5) if conversation
                    else int(20 + rng.random() * 30) if outcome != "no_answer" else 0
                )  # fmt: skip
                iid, _, _ = self._interaction(
                    c,
                    epoch,
                    "call",
                    "outbound",
                    "collections",
                    self._reason("COLL-PAST-DUE"),
                    self._wrap(wrap, "collections"),
                    agent=agent,
                    talk_seconds=talk,
                    survey=False,
                    summary=f"Collections call: {outcome.replace('_', ' ')}.",
                )
            note = ""
            if outcome == "promise_to_pay":
                if day == forced_day and partial is not None:
                    pid, pay_day, amount = partial
                    self._promise(c, ca_id, amount, pay_day, "kept", agent, iid, pid, epoch)
                    partial, forced_day = None, None
                else:
                    amount = (
                        self._past_due
                        if rng.random() < 0.6
                        else 500 * max(1, int(self._past_due * (0.3 + rng.random() * 0.4) / 500))
                    )
                    promised = day + 2 + int(rng.random() * 12)
                    self._promise(c, ca_id, amount, promised, "open" if promised >= a else "broken",
                                  agent, iid, None, epoch)  # fmt: skip
                    promise_made = True
                    day = promised  # no calls while waiting for the promised payment
                note = "Promise to pay recorded."
            elif outcome == "payment_arrangement" and not arrangement_made:
                self._arrangement(c, ca_id, day, agent, epoch)
                arrangement_made = True
                note = "Payment arrangement set up."
            elif outcome == "dispute_raised":
                stop_calls = True
                note = "Customer disputes the debt; validation requested."
            self._attempt(c, ca_id, epoch, "call", phone, outcome, connected, conversation,
                          agent, iid, note)  # fmt: skip
            if conversation:
                last_conversation = epoch
                if rng.random() < 0.4:
                    self._note(c, epoch + 900, agent, "collections", iid)
                # Regulation F: no call within 7 days after a conversation about the debt.
                day += 8
            else:
                day += 1 + int(rng.random() * 4)
            attempts += 1
            if arrangement_made:
                break
        del promise_made
        if rng.random() < 0.22 or disputed is not None:
            self._collections_restriction(c, last_conversation, disputed)

    def _attempt(
        self,
        c: _Cust,
        ca_id: str,
        epoch: int,
        channel: str,
        dest: str,
        outcome: str,
        connected: bool,
        conversation: bool,
        agent: _Agent | None,
        iid: str | None,
        note: str,
    ) -> None:
        stamp = _ts(epoch, int(self.rng.random() * 1e6))
        self.rows["contact_attempts"].append(
            (
                self.ids.new(), c.id, ca_id, stamp, channel, dest, outcome, int(connected),
                int(conversation), agent.id if agent else None, iid, note, stamp,
            )
        )  # fmt: skip

    def _promise(
        self,
        c: _Cust,
        ca_id: str,
        amount: int,
        promised: int,
        status: str,
        agent: _Agent,
        iid: str | None,
        payment_id: str | None,
        epoch: int,
    ) -> None:
        created = _ts(epoch + 300, int(self.rng.random() * 1e6))
        updated = created if status == "open" else _ts(_day_epoch(promised + 1) + 7200)
        self.rows["promises_to_pay"].append(
            (
                self.ids.new(), c.id, ca_id, max(1, amount), _ds(promised), status, agent.id, iid,
                payment_id, created, updated, 1,
            )
        )  # fmt: skip

    def _arrangement(self, c: _Cust, ca_id: str, day: int, agent: _Agent, epoch: int) -> None:
        rng, a = self.rng, self.a
        parts = 3 + int(rng.random() * 4)
        first = day + 5 + int(rng.random() * 10)
        m, d = _month_index(first)
        dues = [_month_day(m + i, min(d, 28)) for i in range(parts)]
        missed = any(due < a for due in dues)
        arrangement_id = self.ids.new()
        created = _ts(epoch + 400, int(rng.random() * 1e6))
        self.rows["payment_arrangements"].append(
            (
                arrangement_id, c.id, ca_id, self._past_due, "broken" if missed else "active",
                agent.id, created, created, 1,
            )
        )  # fmt: skip
        for due, amount in zip(dues, _split_cents(self._past_due, parts), strict=True):
            self.rows["arrangement_installments"].append(
                (
                    self.ids.new(), arrangement_id, _ds(due), amount,
                    "missed" if due < a else "scheduled", None, created, created, 1,
                )
            )  # fmt: skip

    def _restriction(
        self, c: _Cust, kind: str, detail: dict[str, Any], epoch: int, source: str
    ) -> None:
        rng, a = self.rng, self.a
        active, ended = 1, None
        if rng.random() < 0.08 and epoch + 86400 * 10 < _day_epoch(a):
            active = 0
            ended = _ts(epoch + 86400 * (5 + int(rng.random() * 60)), 0)
        stamp = _ts(epoch, int(rng.random() * 1e6))
        self.rows["contact_restrictions"].append(
            (
                self.ids.new(), c.id, kind, json.dumps(detail), active, stamp, ended, source,
                stamp, ended or stamp, 1,
            )
        )  # fmt: skip

    def _collections_restriction(
        self, c: _Cust, last_conversation: int | None, disputed: int | None
    ) -> None:
        rng, a = self.rng, self.a
        if disputed is not None:
            self._restriction(c, "dispute_pending", {"reason": "debt disputed in writing"},
                              _day_epoch(disputed) + 50000, "letter")  # fmt: skip
            return
        kinds = (
            ("inconvenient_time", 30), ("no_calls_at_work", 14), ("stop_calling", 15),
            ("cease_communication", 10), ("attorney", 10), ("do_not_call", 9), ("no_text", 12),
        )  # fmt: skip
        kind = str(_Picker(kinds).pick(rng))
        epoch = (
            last_conversation + 600
            if last_conversation
            else _day_epoch(a - 1 - int(rng.random() * 20)) + 50000
        )
        phone = c.phones[-1][0] if c.phones else ""
        detail: dict[str, Any] = {}
        source = "agent"
        if kind == "inconvenient_time":
            start = (17, 18, 19)[int(rng.random() * 3)]
            detail = {"from": f"{start:02d}:00", "to": f"{start + 2:02d}:00"}
        elif kind == "no_calls_at_work":
            detail = {"phone": phone}
        elif kind == "no_text":
            detail = {"phone": c.phones[0][0] if c.phones else ""}
        elif kind == "attorney":
            detail = {
                "name": f"{self.names.first(rng)} {self.names.last(rng)}, Esq.",
                "phone": self._phone(c, False),
            }
            source = "letter"
        elif kind == "cease_communication":
            source = "letter"
        self._restriction(c, kind, detail, epoch, source)

    def _preference_restriction(self, c: _Cust) -> None:
        """Customers outside collections also set contact preferences."""
        rng, a = self.rng, self.a
        kind = ("do_not_call", "no_text", "no_email", "inconvenient_time", "no_calls_at_work")[
            int(rng.random() * 5)
        ]
        detail: dict[str, Any] = {}
        if kind == "inconvenient_time":
            detail = {"from": "18:00", "to": "20:00"}
        elif kind in ("no_text", "no_calls_at_work") and c.phones:
            detail = {"phone": c.phones[0][0]}
        elif kind == "no_email" and c.email:
            detail = {"address": c.email}
        day = max(c.since, a - 1 - int(rng.random() * 600))
        self._restriction(c, kind, detail, _day_epoch(day) + 60000, "customer")

    # -- cases ------------------------------------------------------------------------------

    _CASE_TYPES = _Picker(
        [("trouble_ticket", 38), ("inquiry", 26), ("dispute", 16), ("complaint", 12)]
    )
    _PRIORITIES = _Picker([("low", 15), ("normal", 58), ("high", 22), ("urgent", 5)])
    _QUEUE_FOR_CASE: ClassVar[dict[str, str]] = {
        "technical": "tech_support", "billing": "billing", "payment": "billing",
        "order": "sales", "equipment": "tech_support", "moving": "sales", "general": "general",
        "account": "general", "collections": "collections",
    }  # fmt: skip
    _CASE_REASON: ClassVar[dict[str, str]] = {
        "TECH-INTERNET": "TECH-NO-INTERNET", "TECH-TV": "TECH-TV", "TECH-PHONE": "TECH-PHONE",
        "TECH-MOBILE": "TECH-MOBILE", "TECH-SECURITY": "TECH-SECURITY",
        "BILLING-INQUIRY": "BILL-QUESTION", "BILLING-DISPUTE": "BILL-DISPUTE",
        "PAYMENT-ISSUE": "PAY-DECLINED", "ORDER-FOLLOW-UP": "ORDER-STATUS",
        "EQUIPMENT-RETURN": "EQUIP-RETURN", "MOVE": "MOVE-TRANSFER", "COMPLAINT": "COMPLAINT",
        "PRIVACY-REQUEST": "ACCOUNT-PRIVACY", "COLLECTIONS-DISPUTE": "COLL-DISPUTE-DEBT",
    }  # fmt: skip
    _ARTICLE_PRODUCT: ClassVar[dict[str, str | None]] = {
        "technical": None, "billing": "billing", "payment": "billing", "order": "general",
        "equipment": "equipment", "moving": "account", "general": "general",
        "account": "account", "collections": "billing",
    }  # fmt: skip

    def _case_category(self, c: _Cust, ctype: str) -> tuple[str, str | None]:
        """(case category code, family) for a case of ``ctype``."""
        rng = self.rng
        cats = self.case_cats
        if ctype == "trouble_ticket":
            fams = sorted(f for f in c.families if f != "equipment")
            fam = fams[int(rng.random() * len(fams))] if fams else "internet"
            code = f"TECH-{fam.upper()}"
            if code in cats:
                return code, fam
            tech = [k for k, (_, cat) in cats.items() if cat == "technical"]
            return (tech[0] if tech else next(iter(cats))), fam
        options = {
            "inquiry": ("BILLING-INQUIRY", "BILLING-INQUIRY", "ORDER-FOLLOW-UP", "MOVE",
                        "EQUIPMENT-RETURN", "PAYMENT-ISSUE", "PRIVACY-REQUEST"),
            "dispute": ("COLLECTIONS-DISPUTE",) if self._dpd > 30 and rng.random() < 0.5
            else ("BILLING-DISPUTE",),
            "complaint": ("COMPLAINT",),
        }.get(ctype, ())  # fmt: skip
        present = [o for o in options if o in cats]
        if present:
            return present[int(rng.random() * len(present))], None
        return sorted(cats)[int(rng.random() * len(cats))], None

    def _case(self, c: _Cust, svcs: list[_Svc], bills: list[tuple[str, int, int, int]]) -> None:
        rng, a = self.rng, self.a
        lo, hi = max(c.since, a - 730), c.end
        if hi - lo < 2:
            return
        day = max(lo, a - 1 - int(rng.random() * 21)) if rng.random() < 0.28 else self._day(lo, hi)
        ctype = str(self._CASE_TYPES.pick(rng))
        code, family = self._case_category(c, ctype)
        label, category = self.case_cats[code]
        queue = self._QUEUE_FOR_CASE.get(category, "general")
        if ctype == "complaint" and rng.random() < 0.5:
            queue = "retention"
        skill = {
            "billing": "billing", "tech_support": f"tech_{family or 'internet'}", "sales": "sales",
            "retention": "retention", "collections": "collections",
        }.get(queue, "")  # fmt: skip
        product = next((s.product for s in svcs if family and s.product.family == family), None)
        invoice_id = None
        if category in ("billing", "collections") and bills:
            near = [b for b in bills if b[1] <= day] or bills[:1]
            invoice_id = near[-1][0]
        texts = _CASE_TEXT.get(category) or _CASE_TEXT["general"]
        subject, description = texts[int(rng.random() * len(texts))]
        month = date.fromordinal(max(day - 10, c.since)).strftime("%B")
        fill = {"product": product.name if product else label.lower(), "month": month,
                "day": date.fromordinal(max(day - 5, c.since)).strftime("%B %d")}  # fmt: skip
        priority = str(self._PRIORITIES.pick(rng))
        if code == "TECH-INTERNET" and rng.random() < 0.3:
            priority = "high"
        opener = self._agent(queue, c.zone)
        opened = self._local_time(c, day, _CALL_HOURS)
        reason = self._reason(self._CASE_REASON.get(code, "GENERAL-INFO"))
        wrap = self._wrap("TECH-DISPATCHED" if category == "technical" and rng.random() < 0.5
                          else "CASE-OPENED", category)  # fmt: skip
        iid, _, _ = self._interaction(
            c, opened - 420, "call", "inbound", _QUEUE_FOR_CATEGORY.get(
                self.reason_category.get(reason, "general"), "general"), reason, wrap,
            agent=opener, abandon_ok=False,
        )  # fmt: skip
        age = a - day
        states: tuple[tuple[str, int], ...]
        if age <= 3:
            states = (("new", 30), ("open", 40), ("pending_customer", 10), ("pending_internal", 15),
                      ("resolved", 5))  # fmt: skip
        elif age <= 21:
            states = (("new", 4), ("open", 25), ("pending_customer", 20), ("pending_internal", 16),
                      ("resolved", 35))  # fmt: skip
        elif age <= 60:
            states = (("closed", 93), ("resolved", 2), ("pending_internal", 2), ("open", 3))
        else:  # a case left open for months is not what a working floor looks like
            states = (("closed", 100),)
        final = str(_Picker(states).pick(rng))
        assignee = self._agent(queue, c.zone) if final != "new" and rng.random() < 0.85 else None
        case_id = self._case_rows(
            c,
            "trouble_ticket" if ctype == "trouble_ticket" else ctype,
            final,
            priority,
            subject.format(**fill),
            description.format(**fill),
            code,
            product.sku if product else None,
            queue,
            skill,
            opener,
            assignee,
            opened,
            invoice_id=invoice_id,
        )
        if rng.random() < 0.3:
            article_product = self._ARTICLE_PRODUCT.get(category) or family or "general"
            pool = self.w.articles.get(article_product) or self.w.articles.get("general") or ()
            if pool:
                linker = assignee or opener
                self.rows["case_articles"].append(
                    (case_id, pool[int(rng.random() * len(pool))],
                     _ts(opened + 300 + int(rng.random() * 3000), int(rng.random() * 1e6)),
                     linker.id)
                )  # fmt: skip
        if rng.random() < 0.3:
            self._note(c, opened + 600, opener, category, iid, case_id)

    def _case_rows(
        self,
        c: _Cust,
        ctype: str,
        final: str,
        priority: str,
        subject: str,
        description: str,
        code: str,
        sku: str | None,
        queue: str,
        skill: str,
        opener: _Agent,
        assignee: _Agent | None,
        opened: int,
        *,
        invoice_id: str | None = None,
        decided_at: int | None = None,
        decision: str = "",
    ) -> str:
        """The case row and its events along new -> open -> pending -> resolved -> closed."""
        rng = self.rng
        now = _day_epoch(self.a) - 60
        path = ["new"]
        if final != "new":
            path.append("open")
            if final in ("pending_customer", "pending_internal"):
                path.append(final)
            elif rng.random() < 0.35:
                path += ["pending_customer" if rng.random() < 0.6 else "pending_internal", "open"]
            if final in ("resolved", "closed"):
                path.append("resolved")
            if final == "closed":
                path.append("closed")
        gaps = []
        for step in path[1:]:
            if step == "closed":
                gaps.append(86400 * (3 + rng.random() * 4))  # closes itself after a few days
            elif step == "open":
                gaps.append(300 + rng.random() * 7200)
            else:
                gaps.append(3600 + rng.expovariate(1 / 86400))
        if decided_at is not None and "resolved" in path:
            gaps[path.index("resolved") - 1] = max(
                60, decided_at - opened - sum(gaps[: path.index("resolved") - 1])
            )
        total = sum(gaps)
        if opened + total > now:
            scale = max(0.0, (now - opened) / total) if total else 0.0
            gaps = [g * scale for g in gaps]
        times = [opened]
        for g in gaps:
            times.append(times[-1] + int(g))
        case_id = self.ids.new()
        events: list[tuple[int, str, str, str, dict[str, Any], dict[str, Any], int, str | None]] = [
            (opened, "created", "internal", subject, {}, {"status": "new", "priority": priority,
             "queue": queue}, 0, opener.id)
        ]  # fmt: skip
        paused = 0
        resolved_at = closed_at = None
        for i, step in enumerate(path[1:], start=1):
            at = times[i]
            if step == "open" and i == 1 and assignee is not None:
                events.append((at, "assigned", "internal", "", {"assigned_agent_id": None},
                               {"assigned_agent_id": assignee.id}, 0, opener.id))  # fmt: skip
            body = ""
            if step == "resolved":
                body = decision or "Resolved: confirmed with the customer."
                resolved_at = at
            elif step == "closed":
                closed_at = at
            elif step == "pending_customer":
                body = "Waiting for the customer to confirm."
            if path[i - 1] == "pending_customer":
                paused += at - times[i - 1]
            actor = assignee or opener
            events.append((at, "status_changed", "customer" if step == "resolved" else "internal",
                           body, {"status": path[i - 1]}, {"status": step}, 0,
                           actor.id))  # fmt: skip
        for _ in range(int(rng.random() * 3)):
            at = opened + int(rng.random() * max(60, times[-1] - opened))
            author = assignee or opener
            events.append((at, "comment", "internal" if rng.random() < 0.7 else "customer",
                           "Called the customer back and updated them on progress.", {}, {},
                           60 + int(rng.random() * 840), author.id))  # fmt: skip
        events.sort(key=lambda e: e[0])
        for at, kind, visibility, body, before, after, spent, actor_id in events:
            stamp = _ts(at, int(rng.random() * 1e6))
            self.rows["case_events"].append(
                (self.ids.new(), case_id, stamp, actor_id, kind, visibility, body,
                 json.dumps(before), json.dumps(after), spent, stamp)
            )  # fmt: skip
        last = max(e[0] for e in events)
        self.rows["cases"].append(
            (
                case_id, "", c.id, ctype, final, priority, subject, description, code, sku,
                queue, skill, assignee.id if assignee else None, None, None, invoice_id, None,
                None, _ts(opened), _ts(opened + 3600 * _CASE_SLA_HOURS.get(priority, 72)), paused,
                _ts(resolved_at) if resolved_at else None, _ts(closed_at) if closed_at else None,
                _ts(opened), _ts(last), 1,
            )
        )  # fmt: skip
        return case_id

    def _approval_case(
        self,
        c: _Cust,
        amount: int,
        memo: str,
        epoch: int,
        status: str,
        decided_by: str | None,
        decided_at: int | None,
    ) -> str:
        code = (
            "ADJUSTMENT-APPROVAL"
            if "ADJUSTMENT-APPROVAL" in self.case_cats
            else sorted(self.case_cats)[0]
        )
        approver = next((a for a in self.w.agents if a.id == decided_by), None)
        requester = self._agent("billing", c.zone)
        if status == "pending_approval":
            final = "new" if self.rng.random() < 0.4 else "pending_internal"
            decision = ""
        else:
            final = "closed"
            decision = (
                "Approved." if status == "posted" else "Rejected: not supported by the history."
            )
        return self._case_rows(
            c,
            "approval_request",
            final,
            "normal",
            f"Approve a credit of ${amount / 100:,.2f}",
            memo,
            code,
            None,
            "approvals",
            "approvals",
            requester,
            approver,
            epoch + 120,
            decided_at=decided_at,
            decision=decision,
        )

    # -- orders, offers, notes -----------------------------------------------------------

    def _order(
        self, c: _Cust, status: str, added: list[_Svc], removed: list[_Svc], day: int
    ) -> None:
        """An order and its lines: an up-sell (tier change), a cross-sell (new family), or
        one still moving through captured -> ... -> completed."""
        rng = self.rng
        oid = self.ids.new()
        agent = self._agent("sales", c.zone)
        epoch = self._local_time(c, min(day, self.a - 1), _CALL_HOURS)
        iid: str | None = None
        if status != "draft":
            iid, _, _ = self._interaction(
                c,
                epoch - 420,
                "call",
                "inbound",
                "sales",
                self._reason("ORDER-UPGRADE" if removed else "ORDER-NEW"),
                self._wrap("ORDER-PLACED", "order"),
                agent=agent,
                abandon_ok=False,
            )
        created = _ts(epoch, int(rng.random() * 1e6))
        monthly = one_time = 0
        for svc in added:
            recurring = svc.product.kind != "one_time"
            price = svc.product.price * svc.qty
            if recurring:
                monthly += price - svc.discount
            else:
                one_time += price
            self.rows["order_lines"].append(
                (
                    self.ids.new(), oid, svc.product.sku, svc.product.name,
                    "change" if removed else "add", svc.qty, svc.product.price, svc.discount,
                    svc.promo, int(recurring), svc.id, created,
                )
            )  # fmt: skip
        for svc in removed:
            self.rows["order_lines"].append(
                (
                    self.ids.new(), oid, svc.product.sku, svc.product.name, "remove", svc.qty,
                    svc.product.price, 0, None, 1, svc.id, created,
                )
            )  # fmt: skip
        if not added and not removed and status in ("cancelled", "draft"):
            tiers = self._tiers("internet", c.region)
            if tiers:
                p = tiers[min(len(tiers) - 1, int(rng.random() * len(tiers)))]
                monthly = p.price
                self.rows["order_lines"].append(
                    (self.ids.new(), oid, p.sku, p.name, "add", 1, p.price, 0, None, 1, None,
                     created)
                )  # fmt: skip
        region = self.w.regions[c.region]
        tax = _half_up_tax(monthly + one_time, region.rate_ppm)
        install = day + 3 + int(rng.random() * 8)
        quote = json.dumps(
            {"monthly_cents": monthly, "one_time_cents": one_time, "tax_cents": tax,
             "valid_until": _ds(day + 30)}, sort_keys=True,
        )  # fmt: skip
        placed = None if status == "draft" else created
        completed = _ts(_day_epoch(install) + 50000) if status == "completed" else None
        updated = completed or created
        self.rows["orders"].append(
            (
                oid, c.id, "", status, agent.id, iid, c.address_id, quote, one_time, monthly,
                tax, _USD, placed, _ds(install) if added else None, completed, created,
                updated, 1,
            )
        )  # fmt: skip

    def _offer(self, c: _Cust, iid: str, agent: _Agent, epoch: int) -> None:
        """An up-sell or cross-sell shown during a call, with the customer's answer."""
        rng = self.rng
        internet = self._tiers("internet", c.region)
        offer: tuple[str, str, str] | None = None
        if "internet" in c.families and internet and rng.random() < 0.6:
            top = internet[-1]
            offer = (
                top.sku,
                "upsell",
                f"Faster internet is available at your address: "
                f"{top.name} for ${top.price / 100:,.2f} a month.",
            )
        else:
            missing = [
                f
                for f in ("tv", "mobile", "security", "phone")
                if f not in c.families and self._tiers(f, c.region)
            ]
            if missing:
                family = missing[int(rng.random() * len(missing))]
                p = self._tiers(family, c.region)[0]
                offer = (
                    p.sku,
                    "cross_sell",
                    f"Add {p.name} to your account for ${p.price / 100:,.2f} a month.",
                )
        if offer is None:
            return
        r = rng.random()
        response = "accepted" if r < 0.14 else "declined" if r < 0.7 else "not_now"
        shown = _ts(epoch + 120, int(rng.random() * 1e6))
        answered = _ts(epoch + 150 + int(rng.random() * 60), int(rng.random() * 1e6))
        self.rows["offers_shown"].append(
            (self.ids.new(), c.id, iid, agent.id, offer[0], offer[1], offer[2], shown,
             response, answered, shown, answered, 1)
        )  # fmt: skip

    def _note(
        self,
        c: _Cust,
        epoch: int,
        agent: _Agent,
        category: str,
        iid: str | None,
        case_id: str | None = None,
    ) -> None:
        texts = _NOTE_TEXT.get(category) or _NOTE_TEXT["general"]
        body = texts[int(self.rng.random() * len(texts))]
        epoch = min(epoch, _day_epoch(self.a) - 60)
        self.rows["notes"].append(
            (self.ids.new(), c.id, case_id, iid, agent.id, agent.display_name, body,
             _ts(epoch, int(self.rng.random() * 1e6)))
        )  # fmt: skip


# =========================================================================================
# Writing: chunks are built (in a worker process for big stores) and copied into the store.
# =========================================================================================

_TABLE_ORDER: Final = (
    "customers", "addresses", "contact_points", "payment_methods", "services", "invoices",
    "payments", "collection_accounts", "cases", "adjustments", "case_events",
    "case_articles", "interactions", "contact_attempts", "promises_to_pay",
    "payment_arrangements", "arrangement_installments", "contact_restrictions", "orders",
    "order_lines", "offers_shown", "notes",
)  # fmt: skip


@dataclass
class _Chunk:
    rows: dict[str, list[tuple[Any, ...]]]
    invoices: list[tuple[Any, ...]]
    templates: list[tuple[Any, ...]]
    aging: dict[str, int]


def _build_chunk(world: _World, chunk_no: int, first_serial: int, count: int) -> _Chunk:
    builder = _ChunkBuilder(world, chunk_no)
    builder.build(first_serial, count)
    return _Chunk(builder.rows, builder.invoices, builder.templates, builder.aging)


class _Writer:
    """Copies chunks into the store file with plain sqlite3 (shared/MEASURED.md)."""

    def __init__(self, conn: sqlite3.Connection, lines_from: str) -> None:
        self.conn = conn
        self.lines_from = lines_from
        self.case_no = 0
        self.order_no = 0
        self.sql = {
            t: f"INSERT INTO main.{t} ({', '.join(cols)}) VALUES "
               f"({', '.join('?' * len(cols))})"
            for t, cols in _COLS.items() if t != "invoices"
        }  # fmt: skip
        inv = (*_COLS["invoices"], *_INVOICE_EXTRA)
        conn.execute("ATTACH DATABASE ':memory:' AS s")
        conn.execute(f"CREATE TABLE s.invoices ({', '.join(inv)})")
        conn.execute(f"CREATE TABLE s.inv_tmpl ({', '.join(_TEMPLATE_COLS)})")
        conn.execute("CREATE INDEX s.inv_tmpl_customer ON inv_tmpl (customer_id, k)")
        self.stage_invoices = f"INSERT INTO s.invoices VALUES ({', '.join('?' * len(inv))})"
        self.stage_templates = (
            f"INSERT INTO s.inv_tmpl VALUES ({', '.join('?' * len(_TEMPLATE_COLS))})"
        )
        cols = ", ".join(_COLS["invoices"])
        self.copy_invoices = f"INSERT INTO main.invoices ({cols}) SELECT {cols} FROM s.invoices"

    def write(self, chunk: _Chunk) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute("DELETE FROM s.invoices")
        conn.execute("DELETE FROM s.inv_tmpl")
        conn.executemany(self.stage_invoices, chunk.invoices)
        conn.executemany(self.stage_templates, chunk.templates)
        for table in _TABLE_ORDER:
            rows = chunk.rows[table]
            if table == "invoices":
                conn.execute(self.copy_invoices)
                conn.execute(_LINES_SQL, (self.lines_from,))
                continue
            if table == "cases":
                rows = [self._number(r, 1, "CS-%07d", "case") for r in rows]
            elif table == "orders":
                rows = [self._number(r, 2, "ORD-%07d", "order") for r in rows]
            if rows:
                conn.executemany(self.sql[table], rows)
        conn.execute("COMMIT")

    def _number(self, row: tuple[Any, ...], at: int, fmt: str, kind: str) -> tuple[Any, ...]:
        if kind == "case":
            self.case_no += 1
            number = fmt % self.case_no
        else:
            self.order_no += 1
            number = fmt % self.order_no
        return (*row[:at], number, *row[at + 1 :])


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def generate(
    out: Path | str,
    customers: int,
    seed: int,
    as_of: date | None = None,
    progress: ProgressCallback | None = None,
    *,
    overwrite: bool = False,
    resources: Path | None = None,
    itemized_months: int = _MONTHS_BILLED,
) -> GenerationReport:
    """Create a new demo store at ``out`` with ``customers`` customers (see module doc).

    Every bill of the last 24 months is made with its total; ``itemized_months`` says
    how many recent months of bills also get their itemized lines (all by default; the
    million-customer benchmark store keeps 3, as billing systems archive old detail, which
    keeps that file at a size a laptop holds).
    """
    from sqlalchemy import create_engine

    from agent_desktop.storage.reference import load_reference_data, resources_dir
    from agent_desktop.storage.store import open_store

    out = Path(out)
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it")
    as_of = as_of or date.today()
    report_progress = progress or (lambda _stage, _fraction: None)
    started = time.perf_counter()
    stages: dict[str, float] = {}
    partial = out.with_name(out.name + ".partial")
    _remove(partial)
    resources = resources or resources_dir()

    # The schema through the real migrations, then the reference data through the ORM.
    open_store(partial).close()
    engine = create_engine(f"sqlite:///{partial}")
    with engine.begin() as connection:
        load_reference_data(connection, resources)
    engine.dispose()
    stages["schema"] = time.perf_counter() - started

    m, _ = _month_index(as_of.toordinal())
    itemized_from = _month_day(m - itemized_months, 1)
    world = _build_world(seed, as_of, resources, itemized_from)
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    conn.execute("PRAGMA temp_store = MEMORY")
    # CHECK constraints cost more than the insert itself on wide tables (payments: 0.6 s
    # of 1.0 s per 5,000 customers). The rows come from this code alone, and
    # tests/storage/test_demo_data.py runs PRAGMA integrity_check, which verifies every
    # CHECK constraint, on stores it makes.
    conn.execute("PRAGMA ignore_check_constraints = ON")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    agent_cols = (
        "id", "username", "display_name", "role", "team", "skills", "adjustment_limit_cents",
        "daily_adjustment_limit_cents", "refund_limit_cents", "active", "created_at",
        "updated_at", "version",
    )  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO agents ({', '.join(agent_cols)}) VALUES ({', '.join('?' * 13)})",
        _agent_rows(world, as_of),
    )
    conn.execute("COMMIT")

    writer = _Writer(conn, _ds(itemized_from))
    chunks = [
        (n, n * CHUNK, min(CHUNK, customers - n * CHUNK))
        for n in range((customers + CHUNK - 1) // CHUNK)
    ]
    aging = {"1-30": 0, "31-60": 0, "61-90": 0, "90+": 0}
    t = time.perf_counter()

    def consume(chunk: _Chunk, done: int) -> None:
        writer.write(chunk)
        for k, v in chunk.aging.items():
            aging[k] += v
        report_progress("customers", done / len(chunks))

    if customers < _WORKER_THRESHOLD:
        for i, (n, first, count) in enumerate(chunks):
            consume(_build_chunk(world, n, first, count), i + 1)
    else:
        # Worker processes build the next chunks while this process writes one. Building
        # costs ~1.5x writing, so two builders and the writer share the two cores.
        ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            pending: deque[Future[_Chunk]] = deque()
            queue = iter(chunks)
            for job in (next(queue, None), next(queue, None), next(queue, None)):
                if job is not None:
                    pending.append(pool.submit(_build_chunk, world, *job))
            done = 0
            while pending:
                chunk = pending.popleft().result()
                job = next(queue, None)
                if job is not None:
                    pending.append(pool.submit(_build_chunk, world, *job))
                done += 1
                consume(chunk, done)
    stages["rows"] = time.perf_counter() - t

    t = time.perf_counter()
    report_progress("indexes", 0.0)
    for i, (_, sql) in enumerate(indexes):
        conn.execute(sql)
        report_progress("indexes", (i + 1) / len(indexes))
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO name_tokens (token, customers) SELECT token, COUNT(*) FROM ("
        " SELECT first_norm AS token FROM customers WHERE first_norm <> ''"
        " UNION ALL SELECT last_norm FROM customers WHERE last_norm <> '') GROUP BY token"
    )
    conn.execute(_BACKFILL_PENDING_SINCE)
    conn.executemany(
        "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
        [
            ("store_kind", "demo"),
            ("demo_seed", str(seed)),
            ("demo_as_of", as_of.isoformat()),
            ("demo_customers", str(customers)),
        ],
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA ignore_check_constraints = OFF")
    stages["indexes"] = time.perf_counter() - t
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name <> 'alembic_version' ORDER BY name"
        )
    ]
    counts = {
        name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in tables
    }
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    if overwrite:
        _remove(out)
    os.replace(partial, out)
    report_progress("done", 1.0)
    return GenerationReport(
        path=out,
        customers=customers,
        seed=seed,
        as_of=as_of,
        counts=counts,
        seconds=time.perf_counter() - started,
        stage_seconds=stages,
        file_bytes=out.stat().st_size,
        past_due_customers=aging,
    )
