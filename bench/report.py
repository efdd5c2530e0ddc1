"""The bench's tables: each figure beside its bare-SQL reference and the ratio."""

from bench.measure import PAGE_LABELS, log, seconds_text

ORDER = (
    "dashboard",
    "drilldown_90",
    "finance_desk",
    "rep_home",
    "customer_list",
    "customer_page",
    "api_invoices",
    "api_invoices_open",
    "api_customers",
    "api_payments",
    "ageing",
    "run_day",
    "run_first",
    "run_rerun",
    "load",
    "statement_run",
    "statement_send",
    "statement_rerun",
)


def seconds(value: float | None) -> str:
    return "-" if value is None else seconds_text(value)


def figure(result: dict) -> tuple[str, str]:
    if result["capped"] and not result["samples"]:
        return result["note"].split(" (")[0], ""
    if result["p50"] is None:
        return "error", ""
    return seconds(result["p50"]), seconds(result["p95"])


def ratio(result: dict) -> str:
    if result["bare"] is None or result["p50"] is None or result["key"] == "load":
        return "-"
    return f"{result['p50'] / result['bare']:,.1f}x"


def line(result: dict) -> str:
    p50, p95 = figure(result)
    queries = "" if result["queries"] is None else f", {result['queries']} queries"
    peak = "" if result["peak_mb"] is None else f", peak {result['peak_mb']:,.0f} MB"
    floor = f"; every write bare {seconds(result['floor'])}" if result.get("floor") else ""
    return (
        f"{result['label']}: p50 {p50} p95 {p95}{queries}{peak}; bare SQL "
        f"{seconds(result['bare'])}, ratio {ratio(result)}{floor}; {result['note']}"
    )


def _rows(results: list[dict], size: str) -> list[dict]:
    mine = {result["key"]: result for result in results if result["size"] == size}
    return [mine[key] for key in ORDER if key in mine]


def print_size(results: list[dict], size: str) -> None:
    header = ("measurement", "p50", "p95", "queries", "peak MB", "bare SQL", "ratio", "notes")
    rows = []
    for result in _rows(results, size):
        p50, p95 = figure(result)
        rows.append(
            (
                result["label"],
                p50,
                p95,
                "" if result["queries"] is None else str(result["queries"]),
                "" if result["peak_mb"] is None else f"{result['peak_mb']:,.0f}",
                seconds(result["bare"]),
                ratio(result),
                result["note"],
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    log(f"\n{size} invoices")
    for row in (header, tuple("-" * width for width in widths), *rows):
        log("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    log("")


def print_summary(results: list[dict], sizes: list[str]) -> None:
    """A markdown table, one column per size: p50 (p95), queries, bare SQL and ratio."""
    log("| page or job | " + " | ".join(f"{size} invoices" for size in sizes) + " |")
    log("|---|" + "---|" * len(sizes))
    by_key: dict[str, dict[str, dict]] = {}
    for result in results:
        by_key.setdefault(result["key"], {})[result["size"]] = result
    for key in ORDER:
        if key not in by_key:
            continue
        cells = []
        for size in sizes:
            result = by_key[key].get(size)
            if result is None:
                cells.append("")
                continue
            p50, p95 = figure(result)
            parts = [f"{p50} (p95 {p95})" if p95 else p50]
            if result["queries"] is not None:
                parts.append(f"{result['queries']} q")
            if result["peak_mb"] is not None and key != "load":
                parts.append(f"{result['peak_mb']:,.0f} MB")
            if result["bare"] is not None and key != "load":
                parts.append(f"bare {seconds(result['bare'])}, {ratio(result)}")
            if result.get("floor") and result["p50"] is not None:
                every = result["p50"] / result["floor"]
                parts.append(f"every write bare {seconds(result['floor'])}, {every:,.1f}x")
            if key == "load" or result["errors"]:
                parts.append(result["note"])
            cells.append("; ".join(parts))
        label = by_key[key][next(iter(by_key[key]))]["label"] or PAGE_LABELS[key]
        log(f"| {label} | " + " | ".join(cells) + " |")
