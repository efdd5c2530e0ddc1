"""Who paid and what for: DESIGN.md's matching rules 1-3, and ranked suggestions.

Everything a statement needs is read up front for all its receipts in a bounded
number of queries (`MatchContext.load`); deciding one receipt is then pure Python.

Rules (binding, DESIGN.md): the payer is known by an account recorded on exactly
one customer, else by a normalised name or alias of exactly one customer. A known
payer's receipt is applied when (a) the memo names open items of the customer
whose open amounts sum to it, or (b) it equals the open amount of exactly one
open item, or (c) it equals the sum of the oldest open items (due date, then
number); "equals" is within the tolerance. Anything else is suggested or
unmatched, with ranked candidates and their reasons (kind + params).
"""

import itertools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from banking.models import BankReceipt, CustomerAlias, CustomerPayerAccount, ReceiptApplication
from banking.normalise import text_normalise
from banking.selectors.open_items import CHUNK, OpenItem, open_items_for_customers
from core.money import money_quantize, money_str
from receivables.models import Customer, Invoice

ZERO = Decimal("0.00")
# A bank fee or short payment worth suggesting: at most this much, or 1 % of the items.
FEE_LIMIT = Decimal("200.00")
FEE_SHARE = Decimal("0.01")
# The subset-sum looks at the oldest items only, combining up to this many.
SUBSET_ITEMS = 16
SUBSET_SIZE = 4
MAX_SUGGESTIONS = 3

APPLIED = BankReceipt.Status.APPLIED
SUGGESTED = BankReceipt.Status.SUGGESTED
UNMATCHED = BankReceipt.Status.UNMATCHED

_COMPANY_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "分公司",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd.",
    "co.ltd",
    "coltd",
    "co.",
    "ltd.",
    "ltd",
    "limited",
    "inc.",
    "inc",
    "corp.",
    "corporation",
    "company",
)
_PUNCTUATION = re.compile(
    r"[()\[\]{}\u3010\u3011\u300a\u300b<>.,\u3002\u3001:;'\"\u201c\u201d\u2018\u2019\u00b7\-_/\\&]+"
)
_MEMO_TOKEN = re.compile(r"([a-z]{1,8})[^a-z0-9\u4e00-\u9fff]{0,3}(\d[\d\-_/. ]{0,20}\d|\d)")


def fuzzy_name_key(name: str) -> str:
    """A looser form than rule 1's: brackets, punctuation and company-form words removed."""
    key = _PUNCTUATION.sub("", text_normalise(name))
    changed = True
    while changed:
        changed = False
        for suffix in _COMPANY_SUFFIXES:
            stripped = _PUNCTUATION.sub("", suffix)
            if stripped and key.endswith(stripped) and len(key) > len(stripped):
                key = key[: -len(stripped)]
                changed = True
    return key


def number_key(number: str) -> str:
    """An invoice number without separators and case: "INV-1042" and "inv 1042" alike."""
    return re.sub(r"[^0-9a-z]", "", text_normalise(number))


def memo_strict_names(memo: str, label: str) -> bool:
    """Whether the memo names the number exactly (any case), not as part of a longer one."""
    # NFKC and case only: the spaces between two numbers are what separates them.
    haystack = unicodedata.normalize("NFKC", memo or "").casefold()
    needle = unicodedata.normalize("NFKC", label or "").casefold()
    start = haystack.find(needle)
    while needle and start >= 0:
        before = haystack[start - 1] if start else " "
        end = start + len(needle)
        after = haystack[end] if end < len(haystack) else " "
        if not (before.isascii() and before.isalnum()) and not (
            after.isascii() and after.isalnum()
        ):
            return True
        start = haystack.find(needle, start + 1)
    return False


def memo_loose_names(memo: str, label: str) -> bool:
    """Whether the memo names the number despite separators and case ("inv1042", "INV 1042")."""
    haystack = re.sub(r"[^0-9a-z]", "", text_normalise(memo))
    needle = number_key(label.split("#")[0])
    if not needle:
        return False
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        after = haystack[end] if end < len(haystack) else ""
        before = haystack[start - 1] if start else ""
        if not (needle[-1].isdigit() and after.isdigit()) and not (
            needle[0].isalpha() and before.isalpha()
        ):
            return True
        start = haystack.find(needle, start + 1)
    return False


def memo_number_candidates(memo: str) -> set[str]:
    """Spellings of the invoice numbers a memo may name, to look them up by number."""
    text = unicodedata.normalize("NFKC", memo or "").casefold()
    found = set()
    for letters, digits in _MEMO_TOKEN.findall(text):
        digits = re.sub(r"[^0-9]", "-", digits.strip())
        plain = digits.replace("-", "")
        # "payinv1042": the number's own prefix is a tail of the letters.
        for start in range(len(letters)):
            prefix = letters[start:]
            for body in {digits, plain}:
                for separator in ("-", "", "_", "/"):
                    found.add(f"{prefix.upper()}{separator}{body}")
                    found.add(f"{prefix}{separator}{body}")
    return found


@dataclass
class Candidate:
    """A suggested destination: a customer and the items, with reasons and a score."""

    customer_id: int
    items: list[OpenItem]
    score: int
    reasons: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "customer_id": self.customer_id,
            "items": [
                {
                    "kind": item.kind,
                    "pk": item.pk,
                    "label": item.label,
                    "amount": money_str(item.open_amount),
                    "invoice_ids": [invoice_id for invoice_id, _value in item.invoices],
                }
                for item in self.items
            ],
            "score": self.score,
            "reasons": self.reasons,
        }


@dataclass
class Decision:
    status: str
    customer_id: int | None = None
    items: list[OpenItem] = field(default_factory=list)
    rule: str = ""
    candidates: list[Candidate] = field(default_factory=list)


def _within(amount: Decimal, total: Decimal, tolerance: Decimal) -> bool:
    return abs(amount - total) <= tolerance


def _total(items: Iterable[OpenItem]) -> Decimal:
    return money_quantize(sum((item.open_amount for item in items), ZERO))


def _labels(items: Sequence[OpenItem]) -> list[str]:
    return [item.label for item in items]


def apply_rule(
    *, amount: Decimal, memo: str, items: list[OpenItem], tolerance: Decimal
) -> tuple[str, list[OpenItem]] | None:
    """Rule 2: the rule that applies a known payer's receipt, and its items, or None."""
    if not items:
        return None
    named = [item for item in items if memo and memo_strict_names(memo, item.label)]
    if named and _within(amount, _total(named), tolerance):
        return "memo", named
    equal = [item for item in items if _within(amount, item.open_amount, tolerance)]
    if len(equal) == 1:
        return "amount", equal
    running = ZERO
    best: tuple[Decimal, int] | None = None
    for count, item in enumerate(items, start=1):
        running += item.open_amount
        if _within(amount, running, tolerance):
            gap = abs(amount - running)
            if best is None or gap < best[0]:
                best = (gap, count)
        if running - amount > tolerance:
            break
    if best is not None:
        return "oldest", items[: best[1]]
    return None


def _subset_matches(
    amount: Decimal, items: list[OpenItem], tolerance: Decimal
) -> tuple[list[OpenItem], Decimal] | None:
    """The oldest-first combination (fewest items first) whose sum is the amount or just over
    it by a bank fee: (items, shortfall)."""
    pool = [item for item in items[:SUBSET_ITEMS] if item.open_amount <= amount + FEE_LIMIT]
    best = None
    for size in range(1, min(SUBSET_SIZE, len(pool)) + 1):
        for combination in itertools.combinations(pool, size):
            total = _total(combination)
            short = total - amount
            if _within(amount, total, tolerance):
                return list(combination), ZERO
            fee_room = min(FEE_LIMIT, money_quantize(total * FEE_SHARE))
            if best is None and tolerance < short <= max(fee_room, tolerance):
                best = (list(combination), short)
    return best


def rank_items(
    *, amount: Decimal, memo: str, items: list[OpenItem], tolerance: Decimal
) -> list[tuple[int, list[OpenItem], list[dict]]]:
    """Ranked item sets for one customer: (score, items, reasons), best first."""
    ranked: list[tuple[int, list[OpenItem], list[dict]]] = []
    seen: set[tuple[str, ...]] = set()

    def add(score: int, chosen: list[OpenItem], reasons: list[dict]) -> None:
        key = tuple(item.key for item in chosen)
        if chosen and key not in seen:
            seen.add(key)
            ranked.append((score, chosen, reasons))

    if not items:
        return ranked
    named = [item for item in items if memo and memo_loose_names(memo, item.label)]
    if named:
        total = _total(named)
        reason = {"kind": "memo_names", "params": {"items": _labels(named)}}
        if _within(amount, total, tolerance):
            add(
                100, named, [reason, {"kind": "amount_equals", "params": {"items": _labels(named)}}]
            )
        elif amount < total and total - amount <= max(
            min(FEE_LIMIT, money_quantize(total * FEE_SHARE)), tolerance
        ):
            add(
                95,
                named,
                [reason, {"kind": "bank_fee", "params": {"shortfall": money_str(total - amount)}}],
            )
        elif amount < total:
            add(
                90,
                named,
                [reason, {"kind": "partial_payment", "params": {"open": money_str(total)}}],
            )
        else:
            add(
                80,
                named,
                [
                    reason,
                    {"kind": "leaves_credit", "params": {"credit": money_str(amount - total)}},
                ],
            )
    subset = _subset_matches(amount, items, tolerance)
    if subset is not None:
        chosen, short = subset
        if short == ZERO:
            add(85, chosen, [{"kind": "amount_equals", "params": {"items": _labels(chosen)}}])
        else:
            add(
                75,
                chosen,
                [
                    {
                        "kind": "bank_fee",
                        "params": {"items": _labels(chosen), "shortfall": money_str(short)},
                    }
                ],
            )
    total_open = _total(items)
    if amount > total_open + tolerance:
        add(
            50,
            list(items),
            [{"kind": "leaves_credit", "params": {"credit": money_str(amount - total_open)}}],
        )
    # Oldest first: the items the amount reaches, the last one perhaps in part.
    running, reached = ZERO, []
    for item in items:
        if running >= amount:
            break
        reached.append(item)
        running += item.open_amount
    if reached and running > amount:
        add(
            40,
            reached,
            [
                {"kind": "partial_payment", "params": {"open": money_str(running)}},
                {"kind": "oldest_first", "params": {"items": _labels(reached)}},
            ],
        )
    elif reached:
        add(30, reached, [{"kind": "oldest_first", "params": {"items": _labels(reached)}}])
    ranked.sort(key=lambda entry: -entry[0])
    return ranked


@dataclass
class MatchContext:
    """What matching a batch of receipts needs, read in a bounded number of queries."""

    tolerance: Decimal
    by_account: dict[str, set[int]]
    by_name: dict[str, set[int]]
    by_fuzzy: dict[str, set[int]]
    items: dict[int, list[OpenItem]]
    account_history: dict[str, Counter]
    memo_invoices: dict[str, int]
    codes: dict[int, str]
    # The customers' open items as they were at the last checkpoint, copied on first use.
    saved: dict[int, list[OpenItem]] | None = None

    @classmethod
    def load(cls, *, receipts: Sequence[BankReceipt], tolerance: Decimal) -> "MatchContext":
        account_keys = {
            receipt.payer_account_key for receipt in receipts if receipt.payer_account_key
        }
        by_account: dict[str, set[int]] = defaultdict(set)
        keys = sorted(account_keys)
        for start in range(0, len(keys), CHUNK):
            for key, customer_id in CustomerPayerAccount.objects.filter(
                account_key__in=keys[start : start + CHUNK]
            ).values_list("account_key", "customer_id"):
                by_account[key].add(customer_id)
        # Rule 1 compares normalised names: the normal form is computed in Python (NFKC),
        # so every customer's name is read once (one query), and aliases by key.
        by_name: dict[str, set[int]] = defaultdict(set)
        by_fuzzy: dict[str, set[int]] = defaultdict(set)
        codes: dict[int, str] = {}
        for customer_id, code, name in Customer.objects.values_list("pk", "code", "name").iterator(
            chunk_size=5000
        ):
            codes[customer_id] = code
            by_name[text_normalise(name)].add(customer_id)
            by_fuzzy[fuzzy_name_key(name)].add(customer_id)
        for customer_id, alias_key, alias in CustomerAlias.objects.values_list(
            "customer_id", "alias_key", "alias"
        ).iterator(chunk_size=5000):
            by_name[alias_key].add(customer_id)
            by_fuzzy[fuzzy_name_key(alias)].add(customer_id)
        history: dict[str, Counter] = defaultdict(Counter)
        for start in range(0, len(keys), CHUNK):
            for key, customer_id in ReceiptApplication.objects.filter(
                receipt__payer_account_key__in=keys[start : start + CHUNK]
            ).values_list("receipt__payer_account_key", "customer_id"):
                history[key][customer_id] += 1
        spellings = set()
        for receipt in receipts:
            if receipt.memo:
                spellings |= memo_number_candidates(receipt.memo)
        memo_invoices: dict[str, int] = {}
        spelled = sorted(spellings)
        for start in range(0, len(spelled), CHUNK):
            for number, customer_id in Invoice.objects.filter(
                number__in=spelled[start : start + CHUNK], status=Invoice.Status.OPEN
            ).values_list("number", "customer_id"):
                memo_invoices[number] = customer_id
        context = cls(
            tolerance=tolerance,
            by_account=by_account,
            by_name=by_name,
            by_fuzzy=by_fuzzy,
            items={},
            account_history=history,
            memo_invoices=memo_invoices,
            codes=codes,
        )
        wanted: set[int] = set()
        for receipt in receipts:
            wanted |= set(context.customers_to_consider(receipt))
        context.items = dict(open_items_for_customers(customer_ids=wanted, tolerance=tolerance))
        return context

    def known_payer(self, receipt: BankReceipt) -> tuple[int, str] | None:
        """Rule 1: the customer and how it is known, or None."""
        owners = self.by_account.get(receipt.payer_account_key, set())
        if receipt.payer_account_key and len(owners) == 1:
            return next(iter(owners)), "account"
        owners = self.by_name.get(receipt.payer_name_key, set())
        if receipt.payer_name_key and len(owners) == 1:
            return next(iter(owners)), "name"
        return None

    def customers_to_consider(self, receipt: BankReceipt) -> dict[int, list[dict]]:
        """Candidate customers of a receipt with the reasons that point at each."""
        found: dict[int, list[dict]] = defaultdict(list)
        for customer_id in (
            self.by_account.get(receipt.payer_account_key, set())
            if receipt.payer_account_key
            else ()
        ):
            found[customer_id].append({"kind": "payer_account_recorded", "params": {}})
        if receipt.payer_name_key:
            for customer_id in self.by_name.get(receipt.payer_name_key, set()):
                found[customer_id].append({"kind": "payer_name_equal", "params": {}})
            fuzzy = fuzzy_name_key(receipt.payer_name)
            if fuzzy:
                for customer_id in self.by_fuzzy.get(fuzzy, set()):
                    if customer_id not in found:
                        found[customer_id].append(
                            {
                                "kind": "payer_name_similar",
                                "params": {"payer_name": receipt.payer_name},
                            }
                        )
        history = (
            self.account_history.get(receipt.payer_account_key)
            if receipt.payer_account_key
            else None
        )
        for customer_id, count in (history or {}).items():
            found[customer_id].append({"kind": "payer_account_seen", "params": {"count": count}})
        if receipt.memo:
            for spelling in memo_number_candidates(receipt.memo):
                customer_id = self.memo_invoices.get(spelling)
                if customer_id is not None and not any(
                    reason["kind"] == "memo_invoice_of_customer" for reason in found[customer_id]
                ):
                    found[customer_id].append(
                        {"kind": "memo_invoice_of_customer", "params": {"invoice": spelling}}
                    )
        return found

    def items_for(self, customer_id: int, currency: str) -> list[OpenItem]:
        return [
            item
            for item in self.items.get(customer_id, [])
            if item.currency == currency and item.open_amount > ZERO
        ]

    def decide(self, receipt: BankReceipt) -> Decision:
        """Apply rules 1-3 to one receipt; rank candidates for what is not applied."""
        known = self.known_payer(receipt)
        if known is not None:
            customer_id, _how = known
            items = self.items_for(customer_id, receipt.currency)
            matched = apply_rule(
                amount=receipt.amount, memo=receipt.memo, items=items, tolerance=self.tolerance
            )
            if matched is not None:
                rule, chosen = matched
                return Decision(APPLIED, customer_id, chosen, rule)
        candidates = self.suggest(receipt, known=known)
        if known is not None:
            return Decision(SUGGESTED, known[0], candidates=candidates)
        return Decision(UNMATCHED, candidates=candidates)

    def suggest(self, receipt: BankReceipt, *, known: tuple[int, str] | None) -> list[Candidate]:
        candidates = []
        considered = self.customers_to_consider(receipt)
        if known is not None:
            considered = {
                known[0]: considered.get(known[0], []) or [{"kind": "payer_known", "params": {}}]
            }
        for customer_id, customer_reasons in considered.items():
            bonus = 0
            kinds = {reason["kind"] for reason in customer_reasons}
            if kinds & {"payer_account_recorded", "payer_name_equal", "payer_known"}:
                bonus = 30
            elif kinds & {"payer_account_seen", "memo_invoice_of_customer"}:
                bonus = 20
            elif "payer_name_similar" in kinds:
                bonus = 10
            ranked = rank_items(
                amount=receipt.amount,
                memo=receipt.memo,
                items=self.items_for(customer_id, receipt.currency),
                tolerance=self.tolerance,
            )
            if not ranked:
                candidates.append(Candidate(customer_id, [], bonus, customer_reasons))
                continue
            for score, chosen, reasons in ranked[:MAX_SUGGESTIONS]:
                candidates.append(
                    Candidate(customer_id, chosen, score + bonus, customer_reasons + reasons)
                )
        candidates.sort(key=lambda candidate: (-candidate.score, candidate.customer_id))
        return candidates[: MAX_SUGGESTIONS * 2]

    def checkpoint(self) -> None:
        """Remember the open items from here on, so that `rollback` can return to them."""
        self.saved = {}

    def rollback(self) -> None:
        """Put back the open items that `consume` lowered since the last checkpoint."""
        for customer_id, items in (self.saved or {}).items():
            self.items[customer_id] = items
        self.saved = {}

    def consume(
        self, customer_id: int, items: list[OpenItem], amount: Decimal
    ) -> list[tuple[int, Decimal]]:
        """Allocate the amount over the items in order; lower their open amounts in memory
        (so a later receipt in the same file sees them paid). Return (invoice id, amount)."""
        if self.saved is not None and customer_id not in self.saved:
            self.saved[customer_id] = [
                replace(item, invoices=list(item.invoices))
                for item in self.items.get(customer_id, [])
            ]
        remaining = amount
        by_invoice: dict[int, Decimal] = defaultdict(lambda: ZERO)
        invoice_open: dict[int, Decimal] = {}
        for item in self.items.get(customer_id, []):
            for invoice_id, value in item.invoices:
                invoice_open.setdefault(invoice_id, value)
        for item in items:
            take = min(remaining, item.open_amount)
            if take <= 0:
                break
            item_left = take
            for invoice_id, _value in item.invoices:
                available = invoice_open.get(invoice_id, ZERO) - by_invoice[invoice_id]
                part = min(item_left, available)
                if part > 0:
                    by_invoice[invoice_id] += part
                    item_left -= part
                if item_left <= 0:
                    break
            used = take - item_left
            item.open_amount = money_quantize(item.open_amount - used)
            remaining -= used
        for other in self.items.get(customer_id, []):
            for index, (invoice_id, value) in enumerate(other.invoices):
                if by_invoice.get(invoice_id):
                    other.invoices[index] = (
                        invoice_id,
                        money_quantize(value - by_invoice[invoice_id]),
                    )
        return [
            (invoice_id, money_quantize(value))
            for invoice_id, value in sorted(by_invoice.items())
            if value > 0
        ]
