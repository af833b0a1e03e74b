"""Summary facts from sums of spend and sales per group: deterministic, so confidence 1.

ROAS is always a ratio of sums (total sales / total spend), never a mean of daily or per-group
ratios. Spend and sales must be in the same currency unit (AMC's spend is in microcents:
divide by 100,000,000 first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from dashboards.insights.model import METHOD, SUMMARY, VERSION, Finding

TOP = 3


@dataclass(frozen=True)
class GroupTotals:
    spend: float = 0.0
    sales: float = 0.0


def roas(spend: float, sales: float) -> float | None:
    """Sales per unit of spend; None when nothing was spent."""
    return sales / spend if spend > 0 else None


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _span(period: tuple[date, date] | None) -> str:
    if period is None:
        return ""
    return f" from {period[0].strftime('%-d %b')} to {period[1].strftime('%-d %b %Y')}"


def summary_findings(
    groups: Mapping[str, GroupTotals],
    *,
    previous: Mapping[str, GroupTotals] | None = None,
    period: tuple[date, date] | None = None,
    context: dict | None = None,
) -> list[Finding]:
    """Totals and ROAS, the top contributors to spend and sales, and the biggest movers
    against the previous period of the same length (when `previous` is given)."""
    total_spend = sum(g.spend for g in groups.values())
    total_sales = sum(g.sales for g in groups.values())
    base = {
        "method": METHOD,
        "version": VERSION,
        **(context or {}),
        "window": [period[0].isoformat(), period[1].isoformat()] if period else None,
        "n": len(groups),
    }
    value = roas(total_spend, total_sales)
    roas_text = f", ROAS {value:.2f} (sales / spend)" if value is not None else ""
    findings = [
        Finding(
            insight_type=SUMMARY,
            text=f"Spend {_amount(total_spend)} and sales {_amount(total_sales)}"
            f"{roas_text}{_span(period)}.",
            confidence=1.0,
            window=period,
            source_data={
                **base,
                "fact": "totals",
                "spend": total_spend,
                "sales": total_sales,
                "roas": value,
            },
        )
    ]
    for measure in ("spend", "sales"):
        total = total_spend if measure == "spend" else total_sales
        if total <= 0 or len(groups) < 2:
            continue
        top = sorted(groups.items(), key=lambda kv: (-getattr(kv[1], measure), kv[0]))[:TOP]
        shares = [(name, getattr(g, measure) / total) for name, g in top]
        findings.append(
            Finding(
                insight_type=SUMMARY,
                text=f"Top contributors to {measure}{_span(period)}: "
                + ", ".join(f"{name} ({share * 100:.0f}%)" for name, share in shares)
                + ".",
                confidence=1.0,
                window=period,
                source_data={
                    **base,
                    "fact": f"top_{measure}",
                    "top": [{"group": n, "share": round(s, 6)} for n, s in shares],
                },
            )
        )
    if previous:
        measure = "sales" if total_sales > 0 else "spend"
        moves = []
        for name in sorted(set(groups) | set(previous)):
            now = getattr(groups.get(name, GroupTotals()), measure)
            before = getattr(previous.get(name, GroupTotals()), measure)
            if now != before:
                moves.append((name, now - before, now, before))
        moves.sort(key=lambda m: (-abs(m[1]), m[0]))
        if moves:
            parts = []
            for name, delta, now, before in moves[:TOP]:
                relative = f", {(now / before - 1) * 100:+.0f}%" if before > 0 else ""
                parts.append(f"{name} ({'+' if delta > 0 else '-'}{_amount(abs(delta))}{relative})")
            findings.append(
                Finding(
                    insight_type=SUMMARY,
                    text=f"Biggest movers in {measure} against the previous period: "
                    + ", ".join(parts)
                    + ".",
                    confidence=1.0,
                    window=period,
                    source_data={
                        **base,
                        "fact": f"movers_{measure}",
                        "movers": [
                            {"group": n, "change": d, "current": c, "previous": b}
                            for n, d, c, b in moves[:TOP]
                        ],
                    },
                )
            )
    return findings
