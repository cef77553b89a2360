"""The catalog read from resources/catalog.json as frozen values."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from agent_desktop.domain.catalog import Catalog, CatalogError, ProductKind

CATALOG = json.loads((Path(__file__).parents[2] / "resources" / "catalog.json").read_text())


def test_the_resources_catalog_reads_with_tiers_regions_and_bundles() -> None:
    catalog = Catalog.from_dict(CATALOG)
    assert [p.sku for p in catalog.family_tiers("internet")][:3] == ["INT-6", "INT-18",
                                                                     "INT-100"]
    ne = catalog.region_of_state(" ny ")
    assert ne is not None and ne.code == "NE" and ne.tax_rate == Decimal("0.0663")
    assert catalog.region_of_state("ZZ") is None
    assert catalog.product("INT-INSTALL").kind == ProductKind.ONE_TIME
    assert catalog.product("SEC-MON-ANNUAL").period_months == 12
    assert not catalog.product("INT-2000").sold_in("SE")
    assert [b.code for b in catalog.bundles_with(["INT-18", "TV-BASIC"])] == ["DUO-INT-TV"]
    assert "FAST3FREE" in [p.code for p in catalog.promotions_for("INT-100")]


def test_a_malformed_catalog_is_refused_plainly() -> None:
    broken = {**CATALOG, "bundles": [{"code": "X", "name": "X", "components": ["NOPE"],
                                      "discount_cents": 100}]}
    with pytest.raises(CatalogError, match="unknown products"):
        Catalog.from_dict(broken)
    with pytest.raises(CatalogError, match="malformed"):
        Catalog.from_dict({**CATALOG, "products": [{"sku": "A"}]})
    with pytest.raises(CatalogError, match="unknown product"):
        Catalog.from_dict(CATALOG).product("NOPE")
