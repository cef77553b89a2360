"""Pricing a quote: ``domain.quote.price_quote`` on a 20-line cart.

    python bench/quote_bench.py [--runs 5000]

The catalog is resources/catalog.json, read once (as the app holds it). The cart is what
an agent builds for a new household in Central (CEN): internet, a triple-play bundle
named on its lines (TRIO-GIG), mobile lines, security, equipment and installs, with six
promotions of every kind (amount off with autopay, percent off, tiered by spend, buy one
get one on mobile lines, buy a kit get a camera, first month free) and a mid-cycle change
(proration). Three rows:

- ``clean``: the cart above; the bench checks it prices with no problem.
- ``with problems``: the same cart, priced in Mountain (MTN), with five kinds of mistake
  (an expired promotion, a product not sold in the region, a quantity above stock, a
  missing required product, a typo in a sku): each problem computes its suggestion
  (other promotions, nearest tier, close skus).
- ``cart order shuffled``: the clean cart in a new random order each run (same totals).

Goal: p95 <= 5 ms per quote (the order wizard reprices on every change).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_desktop.domain.catalog import Catalog
from agent_desktop.domain.quote import BillingCycle, CartLine, QuoteContext, price_quote
from bench.common import report, timed

ROOT = Path(__file__).resolve().parents[1]
GOAL_P95_MS = 5.0

CART = (
    CartLine("INT-1000", promotion_code="AUTOPAY10", bundle_code="TRIO-GIG"),
    CartLine("TV-BASIC", promotion_code="SPEND-SAVE", bundle_code="TRIO-GIG"),
    CartLine("TV-PREF", promotion_code="TVNEW20", bundle_code="TRIO-GIG"),
    CartLine("PH-UNLTD", bundle_code="TRIO-GIG"),
    CartLine("MOB-UNLTD", 2, promotion_code="LINE2FREE"),
    CartLine("MOB-PROTECT", 2),
    CartLine("MOB-ACT", 2),
    CartLine("MOB-PHONE-A", 2),
    CartLine("SEC-MON", promotion_code="SECMON1FREE"),
    CartLine("SEC-KIT", promotion_code="CAMFREE"),
    CartLine("SEC-CAM", 2),
    CartLine("SEC-INSTALL"),
    CartLine("EQ-GW"),
    CartLine("EQ-TVBOX", 3),
    CartLine("EQ-EXT"),
    CartLine("EQ-BATT"),
    CartLine("EQ-CARE"),
    CartLine("TV-DVR"),
    CartLine("TV-MOVIES"),
    CartLine("INT-INSTALL"),
)

WITH_PROBLEMS = (  # priced in MTN
    *CART[:3],
    *CART[4:16],  # without PH-UNLTD
    CartLine("TV-ELITE", promotion_code="SPRING26"),  # ended May 31
    CartLine("INT-2000"),  # not sold in MTN
    CartLine("MOB-PHONE-B", 20),  # 12 in stock
    CartLine("PH-WORLD300"),  # requires PH-UNLTD
    CartLine("SEC-CAMM"),  # typo
)

CONTEXT = QuoteContext(
    today=date(2026, 7, 15), region_code="CEN", is_new_customer=True,
    payment_method="card", autopay=True,
    cycle=BillingCycle(date(2026, 7, 1), date(2026, 8, 1), date(2026, 7, 15)))
PROBLEM_CONTEXT = dataclasses.replace(CONTEXT, region_code="MTN")
EXPECTED = {"promotion_expired", "not_sold_here", "out_of_stock", "requires",
            "unknown_product"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t = time.perf_counter()
    catalog = Catalog.from_dict(json.loads((ROOT / "resources" / "catalog.json").read_text()))
    print(f"catalog: {len(catalog.products)} products, {len(catalog.promotions)} promotions, "
          f"{len(catalog.bundles)} bundles, read in {(time.perf_counter() - t) * 1000:.1f} ms")

    clean = price_quote(catalog, CART, CONTEXT)
    assert len(CART) == len(WITH_PROBLEMS) == 20
    assert clean.ok, clean.problems
    assert sum(1 for ln in clean.lines if ln.promotion_code) >= 6
    assert any(ln.kind == "bundle_discount" for ln in clean.lines)
    problems = price_quote(catalog, WITH_PROBLEMS, PROBLEM_CONTEXT)
    assert {p.code for p in problems.problems} == EXPECTED, problems.problems
    print(f"clean quote: {len(clean.lines)} lines; monthly {clean.monthly_cents / 100:.2f} "
          f"+ tax {clean.monthly_tax_cents / 100:.2f}, due today "
          f"{clean.due_today_cents / 100:.2f}, proration {clean.proration_cents / 100:.2f}")
    print(f"with problems: {len(problems.problems)} "
          f"({', '.join(sorted({p.code for p in problems.problems}))})")

    rng = random.Random(a.seed)
    shuffled = [tuple(rng.sample(CART, len(CART))) for _ in range(a.runs)]
    for _ in range(200):  # warm up
        price_quote(catalog, CART, CONTEXT)
        price_quote(catalog, WITH_PROBLEMS, PROBLEM_CONTEXT)

    def shuffled_run() -> None:
        q = price_quote(catalog, shuffled.pop(), CONTEXT)
        assert q.monthly_cents == clean.monthly_cents

    rows = {
        "price_quote, 20 lines, clean": timed(
            lambda: price_quote(catalog, CART, CONTEXT), a.runs),
        "price_quote, 20 lines, with problems": timed(
            lambda: price_quote(catalog, WITH_PROBLEMS, PROBLEM_CONTEXT), a.runs),
        "price_quote, 20 lines, cart order shuffled": timed(shuffled_run, a.runs),
    }
    worst = max(report(name, samples)["p95"] for name, samples in rows.items())
    print(f"goal p95 <= {GOAL_P95_MS:.0f} ms: {'met' if worst <= GOAL_P95_MS else 'MISSED'} "
          f"(worst p95 {worst:.3f} ms)")


if __name__ == "__main__":
    main()
