"""Markdown renderings of the three reports: for people, CI job summaries and `finops-mcp demo`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from finops_mcp.models import AuditReport, BudgetReport, CostReport, ScopeError
from finops_mcp.money import money
from finops_mcp.paging import PAGE_NOTE_TAIL

STATUS_ICON = {"exceeded": "🔴", "forecast_exceeded": "🟠", "warning": "🟡", "ok": "🟢"}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}%"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    marks = [("---:" if (align[i : i + 1] == "r") else "---") for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _errors(errors: Sequence[ScopeError]) -> str:
    if not errors:
        return ""
    rows = [(e.provider, e.scope, e.code, e.message) for e in errors]
    return "\n\n**Scopes that failed** (partial result):\n\n" + table(
        ["provider", "scope", "code", "message"], rows
    )


def _notes(notes: Sequence[str]) -> str:
    return "".join(f"\n> {n}" for n in notes) + ("\n" if notes else "")


def cost_markdown(report: CostReport, title: str = "Cloud cost") -> str:
    c = report.currency
    out = [f"## {title}: {report.period.start} to {report.period.end}\n"]
    line = f"**Total ({report.cost_type}):** {money(report.total, c)}"
    if report.previous_period is not None:
        line += (
            f" · previous period {report.previous_period.start} to {report.previous_period.end}: "
            f"{money(report.previous_total, c)} ({pct(report.change_pct)})"
        )
    out.append(line)
    if report.forecast:
        f = report.forecast
        out.append(
            f"\n**Forecast** {f.period.start} to {f.period.end}: {money(f.amount, f.currency)} ({f.method})"
        )
    for other in report.other_currencies:
        out.append(f"\nAlso {money(other.total, other.currency)} (not added to the total).")
    dims = report.group_by
    headers = ([] if report.granularity == "total" else ["period"]) + list(dims) + ["cost"]
    align = ("" if report.granularity == "total" else "l") + "l" * len(dims) + "r"
    if report.granularity == "total" and report.previous_period is not None:
        headers += ["previous", "change"]
        align += "rr"
    rows = []
    for r in report.rows:
        row = [] if report.granularity == "total" else [str(r.period_start)]
        row += [r.keys.get(d, "") for d in dims] + [money(r.cost, r.currency)]
        if report.granularity == "total" and report.previous_period is not None:
            row += [money(r.previous_cost, r.currency), pct(r.change_pct)]
        rows.append(row)
    out.append("\n" + table(headers, rows, align) if rows else "\nNo cost in this period.")
    out.append(_drivers(report))
    out.append(_errors(report.errors))
    out.append(_notes(report.meta.notes))
    return "\n".join(p for p in out if p)


def _drivers(report: CostReport) -> str:
    if report.drivers is None:
        return ""
    if not report.drivers:
        return "\n**What changed:** nothing moved between the two periods."
    rows = []
    for d in report.drivers:
        where = ", ".join(f"{k} {v}" for k, v in d.within.items())
        split = (
            f"volume {money(d.volume_effect, d.currency)}, rate {money(d.rate_effect, d.currency)}"
            if d.volume_effect is not None and d.rate_effect is not None
            else ""
        )
        rows.append(
            [f"{d.dimension} {d.key}" + (f" ({where})" if where else ""), d.kind,
             money(d.previous_cost, d.currency), money(d.cost, d.currency), money(d.change, d.currency),
             pct(d.change_pct), split]
        )  # fmt: skip
    share = (
        ""
        if report.drivers_explained_pct is None
        else f" ({report.drivers_explained_pct:.0f}% of the movement)"
    )
    return f"\n**What changed**{share}:\n\n" + table(
        ["driver", "kind", "previous", "cost", "change", "%", "volume / rate"], rows, "llrrrrl"
    )


def audit_markdown(report: AuditReport, limit: int = 25, title: str = "Waste audit") -> str:
    s = report.summary
    out = [
        f"## {title}\n",
        f"**{s.findings} findings** · estimated waste "
        f"**{money(s.estimated_monthly_waste, s.currency)} per month** · {s.scopes_scanned} scope(s), "
        f"{s.regions_scanned} region(s) · checks: {', '.join(report.checks_run)}",
    ]
    if s.by_check:
        totals = [
            (cid, t.category, str(t.count), money(t.estimated_monthly_cost, s.currency))
            for cid, t in s.by_check.items()
        ]
        out.append("\n" + table(["check", "category", "findings", "per month"], totals, "llrr"))
        out.append(
            "\nEstimated waste counts `waste` checks only; `anomaly` (spikes), `governance` (untagged "
            "spend) and `commitment` (purchase recommendations, coverage) amounts are shown for context, "
            "not counted as savings."
        )
    if report.findings:
        rows = [
            (
                f.severity,
                f.check,
                f.resource_name or f.resource_id,
                f.scope + (f" / {f.region}" if f.region else ""),
                money(f.estimated_monthly_cost, f.currency),
                f.cost_basis,
                f.detail,
            )
            for f in report.findings[:limit]
        ]
        out.append(f"\n**Top findings** ({len(rows)} of {s.findings}):\n")
        out.append(
            table(["sev", "check", "resource", "where", "per month", "basis", "detail"], rows, "llllrll")
        )
        if len(rows) < s.findings:
            out.append(
                f"\n{s.findings - len(rows)} more findings: raise --limit, or use --format json for all."
            )
    out.append(_errors(report.errors))
    out.append(_notes([n for n in report.meta.notes if PAGE_NOTE_TAIL not in n]))  # Markdown says it
    return "\n".join(p for p in out if p)


def budget_markdown(report: BudgetReport, title: str = "Budgets") -> str:
    s = report.summary
    out = [
        f"## {title}\n",
        f"{s.total} budgets: {s.exceeded} exceeded, {s.forecast_exceeded} forecast to exceed, "
        f"{s.warning} warning, {s.ok} ok",
    ]
    if report.budgets:
        rows = [
            (
                f"{STATUS_ICON[b.status]} {b.status}",
                b.name,
                f"{b.period} {b.period_start}..{b.period_end}",
                money(b.limit, b.currency),
                money(b.actual, b.currency),
                "–" if b.percent_used is None else f"{b.percent_used:.0f}%",
                money(b.forecast, b.currency),
                "–" if b.forecast_percent is None else f"{b.forecast_percent:.0f}%",
            )
            for b in report.budgets
        ]
        out.append(
            "\n"
            + table(
                ["status", "budget", "period", "limit", "actual", "used", "forecast", "fcst"],
                rows,
                "lllrrrrr",
            )
        )
    out.append(_errors(report.errors))
    out.append(_notes(report.meta.notes))
    return "\n".join(p for p in out if p)
