"""Reference data that ships in resources/: the catalog, the code lists, knowledge articles.

``load_reference_data`` upserts the catalog (regions, families, products, bundles,
promotions) and the knowledge articles into a store by their natural keys, so running it
again on an existing store brings it up to date without touching customer data. Pure
file reading and SQL: no Qt.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from agent_desktop.storage.models import (
    Bundle,
    BundleComponent,
    KnowledgeArticle,
    Product,
    ProductFamily,
    Promotion,
    Region,
)

__all__ = [
    "ARTICLE_NAMESPACE",
    "ArticleSource",
    "article_id",
    "load_reference_data",
    "read_articles",
    "read_catalog",
    "read_codes",
    "reference_counts",
    "resources_dir",
]

# Article ids are derived from their codes so every store (and every demo store built
# from the same resources) gives an article the same id, which keeps links from cases
# to articles stable across stores and syncs.
ARTICLE_NAMESPACE = uuid.UUID("6f1d3c2a-8e47-5b9a-9c1e-2d4f7a6b8c90")

_CODE_LISTS = (
    "contact_reasons",
    "wrap_up_codes",
    "adjustment_reasons",
    "not_ready_reasons",
    "cancellation_reasons",
    "case_categories",
)


def resources_dir() -> Path:
    """The resources/ folder: under PyInstaller's bundle dir, else next to the package."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        candidate = Path(bundle) / "resources"
        if candidate.is_dir():
            return candidate
    # agent_desktop/storage/reference.py -> the repository checkout's root.
    return Path(__file__).resolve().parents[2] / "resources"


def read_catalog(resources: Path) -> dict[str, Any]:
    """catalog.json as a dict, with its top-level keys checked."""
    data = _read_json(resources / "catalog.json")
    for key in ("currency", "regions", "families", "products", "bundles", "promotions"):
        if key not in data:
            raise ValueError(f"{resources / 'catalog.json'} has no {key!r}")
    return data


def read_codes(resources: Path) -> dict[str, list[dict[str, Any]]]:
    """codes.json: each code list (contact reasons, wrap-up codes...) as a list of dicts."""
    data = _read_json(resources / "codes.json")
    missing = [key for key in _CODE_LISTS if key not in data]
    if missing:
        raise ValueError(f"{resources / 'codes.json'} has no {', '.join(missing)}")
    return {key: list(value) for key, value in data.items()}


def _read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


@dataclass(frozen=True, slots=True)
class ArticleSource:
    """One knowledge article as written in resources/knowledge/*.md."""

    code: str
    title: str
    product: str
    tags: tuple[str, ...]
    version: int
    updated: date
    body_md: str


def article_id(code: str) -> str:
    """The store id (32 hex) of the shipped article with this code."""
    return uuid.uuid5(ARTICLE_NAMESPACE, code).hex


def read_articles(resources: Path) -> list[ArticleSource]:
    """Every resources/knowledge/*.md article, ordered by code."""
    articles = [_parse_article(path) for path in sorted((resources / "knowledge").glob("*.md"))]
    codes = [a.code for a in articles]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError(f"knowledge articles share codes: {', '.join(duplicates)}")
    return sorted(articles, key=lambda a: a.code)


def _parse_article(path: Path) -> ArticleSource:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{path}: no front matter (the first line must be ---)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ValueError(f"{path}: front matter is not closed by ---") from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{path}: front matter line without a colon: {line!r}")
        meta[key.strip()] = value.strip()
    for key in ("id", "title", "product"):
        if not meta.get(key):
            raise ValueError(f"{path}: front matter has no {key}")
    try:
        version = int(meta.get("version", "1"))
        updated = date.fromisoformat(meta["updated"]) if meta.get("updated") else date(2026, 1, 1)
    except ValueError as exc:
        raise ValueError(f"{path}: bad version or updated date: {exc}") from exc
    tags = tuple(tag.strip() for tag in meta.get("tags", "").split(",") if tag.strip())
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"
    return ArticleSource(
        code=meta["id"],
        title=meta["title"],
        product=meta["product"],
        tags=tags,
        version=version,
        updated=updated,
        body_md=body,
    )


# -- loading ------------------------------------------------------------------------------


def load_reference_data(connection: Connection, resources: Path) -> None:
    """Upsert the catalog and the knowledge articles from ``resources`` into the store.

    Runs inside the caller's transaction (pass ``engine.begin()``'s connection). Rows are
    matched by their keys (region, family and bundle codes, SKUs, promotion codes, article
    codes), so a second run updates in place. Products no longer in the catalog are
    marked inactive rather than deleted, because services and orders still point at them.
    An article's ``version`` goes up only when its content actually changed.
    """
    catalog = read_catalog(resources)
    articles = read_articles(resources)

    _upsert(
        connection,
        Region.__table__,  # type: ignore[arg-type]
        ["code"],
        [
            {
                "code": r["code"],
                "name": r["name"],
                "states": list(r.get("states", [])),
                "tax_rate": str(r["tax_rate"]),
                "fees": list(r.get("fees", [])),
            }
            for r in catalog["regions"]
        ],
    )
    _upsert(
        connection,
        ProductFamily.__table__,  # type: ignore[arg-type]
        ["code"],
        [{"code": f["code"], "name": f["name"]} for f in catalog["families"]],
    )
    products = [_product_row(p) for p in catalog["products"]]
    _upsert(connection, Product.__table__, ["sku"], products)  # type: ignore[arg-type]
    skus = [p["sku"] for p in products]
    connection.execute(
        update(Product)
        .where(Product.sku.not_in(skus), Product.active.is_(True))
        .values(active=False)
    )
    _upsert(
        connection,
        Bundle.__table__,  # type: ignore[arg-type]
        ["code"],
        [
            {
                "code": b["code"],
                "name": b["name"],
                "discount_cents": int(b["discount_cents"]),
                "regions": list(b.get("regions", ["*"])),
                "description": b.get("description", ""),
            }
            for b in catalog["bundles"]
        ],
    )
    bundle_codes = [b["code"] for b in catalog["bundles"]]
    if bundle_codes:
        # Components are a pure association: replace them wholesale for shipped bundles.
        connection.execute(
            delete(BundleComponent).where(BundleComponent.bundle_code.in_(bundle_codes))
        )
        components = [
            {"bundle_code": b["code"], "sku": sku}
            for b in catalog["bundles"]
            for sku in dict.fromkeys(b["components"])
        ]
        if components:
            connection.execute(insert(BundleComponent), components)
    _upsert(
        connection,
        Promotion.__table__,  # type: ignore[arg-type]
        ["code"],
        [
            {
                "code": p["code"],
                "name": p["name"],
                "kind": p["kind"],
                "value": dict(p.get("value", {})),
                "applies_to": list(p.get("applies_to", [])),
                "eligibility": dict(p.get("eligibility", {})),
                "valid_from": date.fromisoformat(p["valid_from"]),
                "valid_to": date.fromisoformat(p["valid_to"]),
                "description": p.get("description", ""),
            }
            for p in catalog["promotions"]
        ],
    )
    _upsert_articles(connection, articles)


def _product_row(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sku": p["sku"],
        "family_code": p["family"],
        "name": p["name"],
        "kind": p["kind"],
        "billing_period": p.get("billing_period"),
        "price_cents": int(p["price_cents"]),
        "tier": p.get("tier"),
        "usage_unit": p.get("usage_unit"),
        "usage_price_cents": p.get("usage_price_cents"),
        "included_units": p.get("included_units"),
        "inventory": p.get("inventory"),
        "regions": list(p.get("regions", ["*"])),
        "requires": list(p.get("requires", [])),
        "description": p.get("description", ""),
        "active": True,
    }


def _insert_for(connection: Connection, table: Table) -> Any:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"reference data upsert is not written for {dialect}")


def _upsert(
    connection: Connection, table: Table, keys: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    if not rows:
        return
    stmt = _insert_for(connection, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: stmt.excluded[c] for c in rows[0] if c not in keys},
    )
    connection.execute(stmt, list(rows))


_ARTICLE_FIELDS = ("title", "product", "tags", "body_md", "article_version")


def _upsert_articles(connection: Connection, articles: Sequence[ArticleSource]) -> None:
    if not articles:
        return
    table: Table = KnowledgeArticle.__table__  # type: ignore[assignment]
    rows = []
    for a in articles:
        stamp = datetime(a.updated.year, a.updated.month, a.updated.day, tzinfo=UTC)
        rows.append(
            {
                "id": article_id(a.code),
                "code": a.code,
                "title": a.title,
                "product": a.product,
                "tags": list(a.tags),
                "body_md": a.body_md,
                "article_version": a.version,
                "status": "published",
                "helpful_count": 0,
                "not_helpful_count": 0,
                "created_at": stamp,
                "updated_at": stamp,
                "version": 1,
            }
        )
    stmt = _insert_for(connection, table)
    excluded = stmt.excluded
    changed = or_(
        *(table.c[f].is_distinct_from(excluded[f]) for f in _ARTICLE_FIELDS if f != "tags"),
        # JSON has no equality operator on PostgreSQL; compare its text.
        cast(table.c.tags, Text).is_distinct_from(cast(excluded.tags, Text)),
        table.c.status != "published",
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"],
        set_={
            **{f: excluded[f] for f in _ARTICLE_FIELDS},
            "status": "published",
            "updated_at": excluded.updated_at,
            "version": table.c.version + 1,
        },
        where=and_(changed),
    )
    connection.execute(stmt, rows)


def reference_counts(connection: Connection) -> dict[str, int]:
    """How many rows each reference table holds (for reports and checks)."""
    counts: dict[str, int] = {}
    for model in (
        Region,
        ProductFamily,
        Product,
        Bundle,
        BundleComponent,
        Promotion,
        KnowledgeArticle,
    ):
        table: Table = model.__table__  # type: ignore[assignment]
        counts[table.name] = int(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
        )
    return counts
