"""Cash application on a generated book: a realistic statement with known answers.

    python -m bench cash [--size 100k] [--receipts 10000] [--rebuild]
    (make bench BENCH_ARGS="cash --size 100k --receipts 10000")

`statement_generate` writes a canonical CSV statement against the book and the
answer expected for every receipt: applied (with the customer and items),
suggested (with the right items, to score the suggestions) or unmatched. It
simulates the open items as the receipts pay them, so a customer can pay several
times in one file. `statement_evaluate` compares an import with the answers:
straight-through rate against what the rules could apply, wrong automatic
applications (must be 0), top-1 accuracy of the suggestions, and the times of
the import and of the re-import (which must create nothing).
"""

import csv
import io
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal

CITIES = ("上海", "北京", "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "天津")
TRADES = ("华信", "宏达", "鑫源", "恒泰", "瑞丰", "永昌", "金桥", "东方", "新世纪", "国泰")
KINDS = ("贸易", "科技", "机械", "电子", "实业", "物流")
FULL_WIDTH = {
    ord(c): ord(c) + 0xFEE0
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
}
FULL_WIDTH[ord(" ")] = 0x3000


@dataclass
class Answer:
    transaction_id: str
    kind: str  # the case generated: exact_name, memo, oldest, account, combo, ...
    status: str  # applied, suggested, unmatched
    customer_code: str = ""
    invoices: list[str] = field(default_factory=list)


@dataclass
class Generated:
    csv: bytes
    answers: dict[str, Answer]


@dataclass
class Evaluation:
    receipts: int
    expected_applied: int
    applied_right: int
    wrong_automatic: int
    straight_through_share: float
    suggested_scored: int
    top1_right: int
    top1_accuracy: float
    import_seconds: float
    reimport_seconds: float
    reimport_new: int
    by_kind: dict


def _chinese_name(number: int) -> str:
    return (
        f"{CITIES[number % 10]}{TRADES[(number // 10) % 10]}{KINDS[(number // 100) % 6]}"
        f"{number}号有限公司"
    )


def _typo(number: str, rng: random.Random) -> str:
    digits = [i for i, c in enumerate(number) if c.isdigit()]
    if len(digits) < 2:
        return number + "9"
    i = rng.choice(digits[:-1])
    chars = list(number)
    chars[i], chars[i + 1] = chars[i + 1], chars[i]
    if chars == list(number):
        chars[digits[-1]] = str((int(chars[digits[-1]]) + 1) % 10)
    return "".join(chars)


def statement_generate(
    *, receipts: int, seed: int = 7, account_code: str = "BENCH-CNY"
) -> Generated:
    """Prepare the book (a bank account, Chinese names and known payer accounts for some
    customers) and write a statement of `receipts` receipts with their answers."""
    from django.db import transaction
    from django.utils import timezone

    from banking.models import CustomerPayerAccount
    from banking.selectors.open_items import open_items_for_customers
    from banking.services.accounts import bank_account_record
    from contracts.models import SupplementaryAgreement
    from dunning.policy import policy_tolerance
    from receivables.models import Customer

    rng = random.Random(seed)
    today = timezone.localdate()
    tolerance = policy_tolerance()
    bank_account_record(code=account_code, number="6222020200112233", currency="CNY")
    planned = set(SupplementaryAgreement.objects.values_list("customer_id", flat=True).distinct())
    customers = list(
        Customer.objects.filter(currency="CNY")
        .exclude(pk__in=planned)
        .order_by("pk")
        .values_list("pk", "code", "name")
    )
    with transaction.atomic():
        # A third of the customers get Chinese company names; a quarter a known account.
        renamed = []
        for pk, _code, _name in customers:
            if pk % 3 == 0:
                renamed.append(Customer(pk=pk, name=_chinese_name(pk)))
        Customer.objects.bulk_update(renamed, ["name"], batch_size=1000)
        names = {pk: name for pk, _code, name in customers} | {c.pk: c.name for c in renamed}
        accounts = {pk: f"6217{pk:012d}" for pk, _code, _name in customers if pk % 4 == 1}
        CustomerPayerAccount.objects.bulk_create(
            [
                CustomerPayerAccount(customer_id=pk, account=number, account_key=number)
                for pk, number in accounts.items()
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
    codes = {pk: code for pk, code, _name in customers}
    state = open_items_for_customers(customer_ids=codes, tolerance=tolerance)
    state = {pk: [i for i in items if i.kind == "invoice"] for pk, items in state.items() if items}
    with_items = [pk for pk in codes if state.get(pk)]

    def within(a: Decimal, b: Decimal) -> bool:
        return abs(a - b) <= tolerance

    def rules_apply(pk: int, amount: Decimal, named: list) -> bool:
        items = state[pk]
        if named and within(amount, sum(i.open_amount for i in named)):
            return True
        if sum(1 for i in items if within(amount, i.open_amount)) == 1:
            return True
        running = Decimal("0")
        for item in items:
            running += item.open_amount
            if within(amount, running):
                return True
        return False

    def unique_amount(pk: int, item) -> bool:
        return sum(1 for i in state[pk] if within(i.open_amount, item.open_amount)) == 1

    def pay(pk: int, items: list) -> None:
        paid = {i.pk for i in items}
        state[pk] = [i for i in state[pk] if i.pk not in paid]

    rows, answers = [], {}
    kinds = (
        ["exact_name"] * 30
        + ["account"] * 15
        + ["memo"] * 12
        + ["oldest"] * 10
        + ["typo"] * 6
        + ["combo"] * 8
        + ["partial"] * 5
        + ["fee"] * 6
        + ["similar_name"] * 3
        + ["unknown"] * 5
    )
    attempts = 0
    while len(rows) < receipts and attempts < receipts * 20:
        attempts += 1
        number = len(rows) + 1
        tid = f"BK{seed:02d}{number:07d}"
        kind = rng.choice(kinds)
        day = today - timedelta(days=rng.randint(0, 20))
        if kind == "unknown":
            rows.append(
                [
                    tid,
                    day,
                    f"{rng.randint(10, 99999)}.{rng.randint(0, 99):02d}",
                    f"{rng.choice(CITIES)}个人{number}",
                    f"62{rng.randint(10**14, 10**15)}",
                    "往来款",
                ]
            )
            answers[tid] = Answer(tid, kind, "unmatched")
            continue
        if not with_items:
            break
        pk = rng.choice(with_items)
        items = state.get(pk) or []
        if not items:
            continue
        name = names[pk]
        payer_account = ""
        memo = rng.choice(["货款", "payment", "", "往来款"])
        if kind in {"exact_name", "account", "typo"}:
            item = rng.choice(items[:6])
            if not unique_amount(pk, item):
                continue
            amount = item.open_amount
            if kind == "account":
                if pk not in accounts:
                    continue
                payer_account = accounts[pk]
                name = rng.choice(["", "财务部", name[:4]])
            elif kind == "exact_name":
                name = rng.choice(
                    [
                        name.upper(),
                        name.translate(FULL_WIDTH),
                        f" {name} ",
                        name.replace("有限公司", "有 限 公 司"),
                    ]
                )
            else:
                memo = f"发票 {_typo(item.label, rng)}"
                if any(i.label.casefold() in memo.casefold() for i in items):
                    continue
            rows.append([tid, day, amount, name, payer_account, memo])
            answers[tid] = Answer(tid, kind, "applied", codes[pk], [item.label])
            pay(pk, [item])
        elif kind == "memo":
            chosen = sorted(
                rng.sample(items[:8], min(len(items[:8]), rng.randint(1, 2))),
                key=lambda i: (i.due_date, i.label),
            )
            amount = sum(i.open_amount for i in chosen)
            memo = "付 " + " ".join(i.label for i in chosen)
            rows.append([tid, day, amount, name, "", memo])
            answers[tid] = Answer(tid, kind, "applied", codes[pk], [i.label for i in chosen])
            pay(pk, chosen)
        elif kind == "oldest":
            count = rng.randint(2, min(4, len(items))) if len(items) >= 2 else 1
            chosen = items[:count]
            amount = sum(i.open_amount for i in chosen)
            if sum(1 for i in items if within(amount, i.open_amount)) == 1:
                continue
            running, prefixes = Decimal("0"), 0
            for item in items:
                running += item.open_amount
                prefixes += within(amount, running)
            if prefixes != 1:
                continue
            rows.append([tid, day, amount, name, "", memo])
            answers[tid] = Answer(tid, kind, "applied", codes[pk], [i.label for i in chosen])
            pay(pk, chosen)
        elif kind in {"combo", "partial", "fee", "similar_name"}:
            if kind == "combo":
                if len(items) < 3:
                    continue
                first, second = sorted(rng.sample(range(1, min(len(items), 10)), 2))
                chosen = (
                    [items[0], items[second]]
                    if rng.random() < 0.5
                    else [items[first], items[second]]
                )
                chosen = sorted(
                    {i.pk: i for i in chosen}.values(), key=lambda i: (i.due_date, i.label)
                )
                amount = sum(i.open_amount for i in chosen)
            elif kind == "partial":
                item = rng.choice(items[:6])
                chosen = [item]
                amount = (item.open_amount * Decimal(rng.choice(["0.3", "0.5", "0.6"]))).quantize(
                    Decimal("0.01")
                )
                memo = f"{item.label.lower().replace('-', '')} 部分付款"
            elif kind == "fee":
                item = rng.choice(items[:6])
                chosen = [item]
                amount = item.open_amount - Decimal(rng.choice(["5.00", "10.00", "15.50"]))
            else:
                item = rng.choice(items[:6])
                if not unique_amount(pk, item) or pk % 3 != 0:
                    continue
                chosen = [item]
                amount = item.open_amount
                name = name.replace("有限公司", "有限责任公司").replace(
                    str(pk), f"\uff08{pk}\uff09"
                )
            if amount <= 0 or (kind != "similar_name" and rules_apply(pk, amount, [])):
                continue
            # The suggestion is scored only when the right items are the only answer.
            rows.append([tid, day, amount, name, "", memo])
            status = "unmatched" if kind == "similar_name" else "suggested"
            answers[tid] = Answer(tid, kind, status, codes[pk], [i.label for i in chosen])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["transaction_id", "date", "amount", "currency", "payer_name", "payer_account", "memo"]
    )
    for tid, day, amount, name, payer_account, memo in rows:
        writer.writerow(
            [tid, day.isoformat(), f"{Decimal(amount):.2f}", "CNY", name, payer_account, memo]
        )
    return Generated(csv=out.getvalue().encode("utf-8"), answers=answers)


def statement_evaluate(*, generated: Generated, account_code: str = "BENCH-CNY") -> Evaluation:
    """Import the statement twice and score the outcome against the answers."""
    from banking.models import BankAccount, BankReceipt
    from banking.services.receipts import bank_statement_import
    from receivables.models import Customer

    account = BankAccount.objects.get(code=account_code)
    started = time.perf_counter()
    result = bank_statement_import(account=account, data=generated.csv, file_name="bench.csv")
    import_seconds = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError("; ".join(str(error) for error in result.errors[:5]))
    started = time.perf_counter()
    again = bank_statement_import(account=account, data=generated.csv, file_name="bench.csv")
    reimport_seconds = time.perf_counter() - started
    applied = {row["transaction_id"]: row for row in result.applied}
    answers = generated.answers
    by_kind: dict[str, dict[str, int]] = {}
    expected_applied = applied_right = wrong = 0
    for tid, answer in answers.items():
        stats = by_kind.setdefault(
            answer.kind, {"receipts": 0, "applied": 0, "right": 0, "wrong": 0}
        )
        stats["receipts"] += 1
        got = applied.get(tid)
        if got:
            stats["applied"] += 1
        if answer.status == "applied":
            expected_applied += 1
            if (
                got
                and got["customer_code"] == answer.customer_code
                and sorted(got["invoices"]) == sorted(answer.invoices)
            ):
                applied_right += 1
                stats["right"] += 1
            elif got:
                wrong += 1
                stats["wrong"] += 1
        elif got:
            wrong += 1
            stats["wrong"] += 1
    scored = [
        a for a in answers.values() if a.status in {"suggested", "unmatched"} and a.customer_code
    ]
    receipts = BankReceipt.objects.filter(
        bank_account=account, transaction_id__in=[a.transaction_id for a in scored]
    ).values_list("transaction_id", "suggestions")
    codes = dict(Customer.objects.values_list("pk", "code"))
    top1 = 0
    for tid, suggestions in receipts:
        answer = answers[tid]
        if suggestions:
            top = suggestions[0]
            labels = sorted(item["label"] for item in top["items"])
            if codes.get(top["customer_id"]) == answer.customer_code and labels == sorted(
                answer.invoices
            ):
                top1 += 1
                by_kind[answer.kind]["right"] += 1
    return Evaluation(
        receipts=len(answers),
        expected_applied=expected_applied,
        applied_right=applied_right,
        wrong_automatic=wrong,
        straight_through_share=round(applied_right / expected_applied, 4)
        if expected_applied
        else 1.0,
        suggested_scored=len(scored),
        top1_right=top1,
        top1_accuracy=round(top1 / len(scored), 4) if scored else 1.0,
        import_seconds=round(import_seconds, 2),
        reimport_seconds=round(reimport_seconds, 2),
        reimport_new=again.new,
        by_kind=by_kind,
    )


def report(evaluation: Evaluation) -> str:
    e = evaluation
    share, top1 = f"{e.straight_through_share:.1%}", f"{e.top1_accuracy:.1%}"
    lines = [
        f"receipts                      {e.receipts}",
        f"straight-through              {e.applied_right}/{e.expected_applied} = {share} "
        "of what the rules could apply (goal >= 90 %)",
        f"wrong automatic applications  {e.wrong_automatic} (goal 0)",
        f"suggestion top-1              {e.top1_right}/{e.suggested_scored} = {top1} "
        "(goal >= 95 %)",
        f"import                        {e.import_seconds:.1f} s (goal <= 30 s)",
        f"re-import                     {e.reimport_seconds:.1f} s, {e.reimport_new} new "
        "(goal <= 5 s, 0 new)",
        "by case: " + ", ".join(f"{kind} {stats}" for kind, stats in sorted(e.by_kind.items())),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import argparse
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    from bench import book
    from bench.__main__ import DEFAULT_URL, _child_env, build_if_needed

    parser = argparse.ArgumentParser(
        prog="python -m bench cash", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", default="100k")
    parser.add_argument("--receipts", type=int, default=10_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    size = book.parse_size(arguments.size, url=url)
    build_if_needed(url, size, rebuild=arguments.rebuild, page_cap=60)
    work = f"{size.book_name}_cash"
    book.create_database(url, work, template=size.book_name)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "cash.json"
        subprocess.run(
            [sys.executable, "-m", "bench", "_cash", str(arguments.receipts), str(output)],
            cwd=book.ROOT,
            env=_child_env(book.server_url(url, work), page_cap=600),
            check=True,
        )
        evaluation = Evaluation(**json.loads(output.read_text()))
    print(f"cash application on the {size.label} book")
    print(report(evaluation))
    if arguments.json:
        arguments.json.write_text(json.dumps(asdict(evaluation), indent=1))
    book.drop_database(url, work)


def child_main(receipts: int, output: str) -> None:
    import django

    django.setup()
    from pathlib import Path

    generated = statement_generate(receipts=receipts)
    evaluation = statement_evaluate(generated=generated)
    Path(output).write_text(json.dumps(asdict(evaluation)))
