"""Import invoices and payments from CSV, all or nothing (DESIGN.md `import_receivables`).

invoices: customer_code,customer_name,invoice_number,issue_date,due_date,amount,currency
          [,sales_rep][,contract_number]
payments: customer_code,payment_date,amount,currency,reference[,invoice_number]

Columns may come in any order; dates are ISO `YYYY-MM-DD`, amounts plain
decimals with `.`. Files are at most `RECEIVABLES_IMPORT_MAX_BYTES`, in any
encoding `core.textfiles` reads (UTF-8 with or without a byte-order mark,
GB18030/GBK, UTF-16 with a byte-order mark), comma-separated, or tab-separated
as Excel's "Unicode text"; blank lines are skipped. Unknown customers are
created from the invoices file. A payment without an invoice number is
allocated oldest due first; the rest stays as customer credit.

Every row goes through the same services as the UI. Any bad row rolls the
whole import back, and every bad row is reported as `line N: reason`.
Re-importing a file creates nothing: invoices are recognised by number,
payments by (customer, reference, date, amount).
"""

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.exceptions import BusinessRuleError
from core.money import money_quantize
from core.roles import Role, has_role
from core.textfiles import TextFileError, csv_delimiter, text_file_decode
from receivables.currencies import is_iso_4217
from receivables.models import Customer, Invoice, Payment
from receivables.services.invoices import invoice_issue, money_positive
from receivables.services.payments import payment_record

MAX_BYTES = getattr(settings, "RECEIVABLES_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
# Owner of customers created by an import that names no sales rep, until
# finance hands them to one. It cannot log in.
UNASSIGNED_USERNAME = "unassigned"

INVOICE_COLUMNS = (
    "customer_code",
    "customer_name",
    "invoice_number",
    "issue_date",
    "due_date",
    "amount",
    "currency",
)
INVOICE_OPTIONAL_COLUMNS = ("sales_rep", "contract_number")
PAYMENT_COLUMNS = ("customer_code", "payment_date", "amount", "currency", "reference")
PAYMENT_OPTIONAL_COLUMNS = ("invoice_number",)

INVOICES = "invoices"
PAYMENTS = "payments"

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PLAIN_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
PROGRESS_EVERY = 500
LOOKUP_CHUNK = 500

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LineError:
    """One refused row (or the whole file, when `line` is None)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        label = "" if self.file == INVOICES else _("payments file: ")
        if self.line is None:
            return f"{self.file} file: {self.message}"
        return f"line {self.line}: {label}{self.message}"


@dataclass
class ImportResult:
    """What an import did, or would do on a dry run, or why it wrote nothing."""

    dry_run: bool
    errors: list[LineError] = field(default_factory=list)
    invoices_created: int = 0
    invoices_skipped: int = 0
    payments_created: int = 0
    payments_skipped: int = 0
    customers_created: list[str] = field(default_factory=list)
    unassigned_customers: list[str] = field(default_factory=list)
    amount_allocated: Decimal = Decimal("0.00")
    amount_left_as_credit: Decimal = Decimal("0.00")

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def nothing_new(self) -> bool:
        return self.ok and not (self.invoices_created or self.payments_created)

    def summary(self) -> list[str]:
        """Sentences for the user: what was (or would be) written, or that nothing was."""
        if not self.ok:
            return [
                ngettext(
                    "%(count)d error: nothing was imported.",
                    "%(count)d errors: nothing was imported.",
                    len(self.errors),
                )
                % {"count": len(self.errors)}
            ]
        lines = []
        skipped = self.invoices_skipped + self.payments_skipped
        if self.nothing_new:
            lines.append(
                _(
                    "Nothing new: %(invoices)s and %(payments)s were already imported; "
                    "nothing was written."
                )
                % {
                    "invoices": _invoices_phrase(self.invoices_skipped),
                    "payments": _payments_phrase(self.payments_skipped),
                }
            )
            return lines
        created = _(
            "%(invoices)s (%(customers)s), %(payments)s "
            "(%(allocated)s allocated, %(credit)s left as customer credit)."
        ) % {
            "invoices": _invoices_phrase(self.invoices_created),
            "customers": ngettext(
                "%(count)d new customer", "%(count)d new customers", len(self.customers_created)
            )
            % {"count": len(self.customers_created)},
            "payments": _payments_phrase(self.payments_created),
            "allocated": f"{self.amount_allocated:.2f}",
            "credit": f"{self.amount_left_as_credit:.2f}",
        }
        if self.dry_run:
            lines.append(
                _("Dry run, nothing was written. It would import: %(what)s") % {"what": created}
            )
        else:
            lines.append(_("Imported: %(what)s") % {"what": created})
        if skipped:
            lines.append(
                _("Already imported and skipped: %(invoices)s, %(payments)s.")
                % {
                    "invoices": _invoices_phrase(self.invoices_skipped),
                    "payments": _payments_phrase(self.payments_skipped),
                }
            )
        if self.unassigned_customers:
            lines.append(
                _(
                    "No sales rep was given for %(codes)s: they belong to '%(user)s' until "
                    "finance hands them to a rep."
                )
                % {"codes": ", ".join(self.unassigned_customers), "user": UNASSIGNED_USERNAME}
            )
        return lines


def _invoices_phrase(count: int) -> str:
    return ngettext("%(count)d invoice", "%(count)d invoices", count) % {"count": count}


def _payments_phrase(count: int) -> str:
    return ngettext("%(count)d payment", "%(count)d payments", count) % {"count": count}


class RowError(Exception):
    """A row cannot be imported; the message is for the user."""


@dataclass
class InvoiceRow:
    line: int
    customer_code: str
    customer_name: str
    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    sales_rep: str
    contract_number: str


@dataclass
class PaymentRow:
    line: int
    customer_code: str
    payment_date: date
    amount: Decimal
    currency: str
    reference: str
    invoice_number: str


# --- Reading the files ---------------------------------------------------------


def _read_limited(file: BinaryIO, *, name: str, errors: list[LineError]) -> bytes | None:
    data = file.read(MAX_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        errors.append(
            LineError(
                name,
                None,
                _("the file is larger than the %(limit)s limit; split it into smaller files.")
                % {"limit": filesizeformat(MAX_BYTES)},
            )
        )
        return None
    return data


def _decode(data: bytes, *, name: str, errors: list[LineError]) -> str | None:
    try:
        return text_file_decode(data=data).text
    except TextFileError as error:
        errors.append(LineError(name, error.line, error.message))
        return None


def _rows(
    text: str,
    *,
    name: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    errors: list[LineError],
) -> list[tuple[int, dict[str, str]]] | None:
    """Parse the CSV into (line, {column: value}) rows, skipping blank lines."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=csv_delimiter(text=text), strict=True
    )
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    last_line = 0
    try:
        for cells in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                if not _header_ok(
                    header,
                    line=line,
                    name=name,
                    required=required,
                    optional=optional,
                    errors=errors,
                ):
                    return None
                continue
            if len(cells) != len(header):
                errors.append(
                    LineError(
                        name,
                        line,
                        _("expected %(expected)d fields like the header, found %(found)d.")
                        % {"expected": len(header), "found": len(cells)},
                    )
                )
                continue
            rows.append(
                (line, {column: cell.strip() for column, cell in zip(header, cells, strict=True)})
            )
    except csv.Error as error:
        errors.append(
            LineError(name, last_line + 1, _("malformed CSV (%(error)s).") % {"error": error})
        )
        return None
    if header is None:
        errors.append(
            LineError(
                name,
                1,
                _("the file is empty; the first line must be the header %(header)s.")
                % {"header": ",".join(required)},
            )
        )
        return None
    return rows


def _header_ok(
    header: list[str],
    *,
    line: int,
    name: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    errors: list[LineError],
) -> bool:
    problems = []
    missing = [column for column in required if column not in header]
    if missing:
        problems.append(_("missing column(s) %(columns)s") % {"columns": ", ".join(missing)})
    unknown = [column for column in header if column not in required + optional]
    if unknown:
        problems.append(
            _("unknown column(s) %(columns)s") % {"columns": ", ".join(c or "''" for c in unknown)}
        )
    repeated = sorted({column for column in header if header.count(column) > 1})
    if repeated:
        problems.append(_("repeated column(s) %(columns)s") % {"columns": ", ".join(repeated)})
    if problems:
        errors.append(
            LineError(
                name,
                line,
                _("wrong header: %(problems)s. Expected %(required)s, optionally %(optional)s.")
                % {
                    "problems": "; ".join(problems),
                    "required": ",".join(required),
                    "optional": ",".join(optional),
                },
            )
        )
        return False
    return True


# --- Checking one row ------------------------------------------------------------


def _text(values: dict[str, str], column: str, *, max_length: int, required: bool) -> str:
    value = values.get(column, "")
    if required and not value:
        raise RowError(_("%(column)s is empty.") % {"column": column})
    if len(value) > max_length:
        raise RowError(
            _("%(column)s is longer than %(max)d characters.")
            % {"column": column, "max": max_length}
        )
    return value


def _date(values: dict[str, str], column: str) -> date:
    value = values.get(column, "")
    if not ISO_DATE.fullmatch(value):
        raise RowError(
            _("%(column)s %(value)s is not a date written YYYY-MM-DD.")
            % {"column": column, "value": repr(value)}
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(
            _("%(column)s %(value)s is not a real date.") % {"column": column, "value": repr(value)}
        ) from None


def _amount(values: dict[str, str], column: str = "amount") -> Decimal:
    value = values.get(column, "")
    if not PLAIN_DECIMAL.fullmatch(value):
        if "," in value:
            raise RowError(
                _(
                    "%(column)s %(value)s has a comma; write plain decimals with a dot and no "
                    "thousands separator, e.g. 1000.00."
                )
                % {"column": column, "value": repr(value)}
            )
        raise RowError(
            _("%(column)s %(value)s is not a plain decimal such as 1000.00.")
            % {"column": column, "value": repr(value)}
        )
    try:
        return money_positive(value, field=column)
    except BusinessRuleError as error:
        raise RowError(f"{column}: {error.message}") from None


def _currency(values: dict[str, str]) -> str:
    value = values.get("currency", "").upper()
    if not is_iso_4217(value):
        raise RowError(
            _("currency %(value)s is not an ISO 4217 code (e.g. CNY, USD).")
            % {"value": repr(values.get("currency", ""))}
        )
    return value


def _invoice_row(line: int, values: dict[str, str]) -> InvoiceRow:
    problems = []
    parsed: dict[str, object] = {}
    checks = {
        "customer_code": lambda: _text(values, "customer_code", max_length=32, required=True),
        "customer_name": lambda: _text(values, "customer_name", max_length=200, required=False),
        "number": lambda: _text(values, "invoice_number", max_length=64, required=True),
        "issue_date": lambda: _date(values, "issue_date"),
        "due_date": lambda: _date(values, "due_date"),
        "amount": lambda: _amount(values),
        "currency": lambda: _currency(values),
        "sales_rep": lambda: _text(values, "sales_rep", max_length=150, required=False),
        "contract_number": lambda: _text(values, "contract_number", max_length=64, required=False),
    }
    for key, check in checks.items():
        try:
            parsed[key] = check()
        except RowError as error:
            problems.append(str(error))
    if not problems and parsed["due_date"] < parsed["issue_date"]:
        problems.append(
            _("due_date %(due)s is before issue_date %(issue)s.")
            % {"due": parsed["due_date"].isoformat(), "issue": parsed["issue_date"].isoformat()}
        )
    if problems:
        raise RowError("; ".join(problems))
    return InvoiceRow(line=line, **parsed)


def _payment_row(line: int, values: dict[str, str]) -> PaymentRow:
    problems = []
    parsed: dict[str, object] = {}
    checks = {
        "customer_code": lambda: _text(values, "customer_code", max_length=32, required=True),
        "payment_date": lambda: _date(values, "payment_date"),
        "amount": lambda: _amount(values),
        "currency": lambda: _currency(values),
        "reference": lambda: _text(values, "reference", max_length=120, required=False),
        "invoice_number": lambda: _text(values, "invoice_number", max_length=64, required=False),
    }
    for key, check in checks.items():
        try:
            parsed[key] = check()
        except RowError as error:
            problems.append(str(error))
    if problems:
        raise RowError("; ".join(problems))
    return PaymentRow(line=line, **parsed)


# --- The import ------------------------------------------------------------------


@dataclass
class ParsedFile:
    rows: list = field(default_factory=list)
    # The file as a whole was refused (size, encoding, header): no row is read.
    refused: bool = False
    # (line, values) of the rows refused before reaching the database.
    refused_rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _parse_file(
    file: BinaryIO | None,
    *,
    name: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    row_parser: Callable,
    errors: list[LineError],
) -> ParsedFile:
    parsed = ParsedFile()
    if file is None:
        return parsed
    data = _read_limited(file, name=name, errors=errors)
    text = None if data is None else _decode(data, name=name, errors=errors)
    rows = (
        None
        if text is None
        else _rows(text, name=name, required=required, optional=optional, errors=errors)
    )
    if rows is None:
        parsed.refused = True
        return parsed
    for line, values in rows:
        try:
            parsed.rows.append(row_parser(line, values))
        except RowError as error:
            errors.append(LineError(name, line, str(error)))
            parsed.refused_rows.append((line, values))
    return parsed


def _chunks(values: list, size: int = LOOKUP_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _existing_customers(codes: set[str]) -> dict[str, Customer]:
    """Existing customers by upper-cased code (codes are unique regardless of case)."""
    found: dict[str, Customer] = {}
    for chunk in _chunks(sorted({code.upper() for code in codes})):
        for customer in Customer.objects.annotate(code_upper=Upper("code")).filter(
            code_upper__in=chunk
        ):
            found[customer.code.upper()] = customer
    return found


def _existing_invoices(numbers: set[str]) -> dict[str, Invoice]:
    found: dict[str, Invoice] = {}
    for chunk in _chunks(sorted(numbers)):
        for invoice in Invoice.objects.filter(number__in=chunk).select_related("customer"):
            found[invoice.number] = invoice
    return found


def _unassigned_owner() -> AbstractBaseUser:
    user, created = get_user_model().objects.get_or_create(
        username=UNASSIGNED_USERNAME,
        defaults={"is_active": False, "first_name": "Unassigned"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class _Importer:
    def __init__(
        self, *, actor: AbstractBaseUser | None, result: ImportResult, progress: Progress | None
    ) -> None:
        self.actor = actor
        self.result = result
        self.progress = progress
        self.customers: dict[str, Customer] = {}
        self.new_customer_lines: dict[str, InvoiceRow] = {}
        self.invoices: dict[str, Invoice] = {}
        self.invoice_lines: dict[str, int] = {}
        self.failed_invoice_lines: dict[str, int] = {}
        self.failed_customer_lines: dict[str, int] = {}
        self.reps: dict[str, AbstractBaseUser | None] = {}

    def invoice_failed(self, customer_code: str, number: str, line: int) -> None:
        """Remember a refused invoice row, to explain payments that depend on it."""
        if number:
            self.failed_invoice_lines.setdefault(number, line)
        if customer_code and customer_code.upper() not in self.customers:
            self.failed_customer_lines.setdefault(customer_code.upper(), line)

    def error(self, name: str, line: int, message: str) -> None:
        self.result.errors.append(LineError(name, line, message))

    def _tick(self, stage: str, done: int, total: int) -> None:
        if self.progress and (done % PROGRESS_EVERY == 0 or done == total):
            self.progress(stage, done, total)

    def _rep(self, username: str) -> AbstractBaseUser | None:
        if username not in self.reps:
            user = get_user_model().objects.filter(username=username, is_active=True).first()
            self.reps[username] = user if user and has_role(user, Role.SALES_REP) else None
        return self.reps[username]

    def _customer_for_invoice(self, row: InvoiceRow) -> Customer:
        key = row.customer_code.upper()
        customer = self.customers.get(key)
        if customer is not None:
            first = self.new_customer_lines.get(key)
            if first is not None:
                self._same_new_customer(row, first)
            elif row.sales_rep and customer.sales_rep.get_username() != row.sales_rep:
                raise RowError(
                    _("customer %(code)s belongs to sales rep %(owner)s, not %(rep)s.")
                    % {
                        "code": customer.code,
                        "owner": customer.sales_rep.get_username(),
                        "rep": row.sales_rep,
                    }
                )
            return customer
        return self._customer_create(row)

    def _same_new_customer(self, row: InvoiceRow, first: InvoiceRow) -> None:
        for column, mine, theirs in (
            ("customer_name", row.customer_name, first.customer_name),
            ("currency", row.currency, first.currency),
            ("sales_rep", row.sales_rep, first.sales_rep),
        ):
            if mine and mine != theirs:
                raise RowError(
                    _(
                        "new customer %(code)s has %(column)s %(theirs)s on line %(line)d "
                        "but %(mine)s here."
                    )
                    % {
                        "code": row.customer_code,
                        "column": column,
                        "theirs": repr(theirs),
                        "line": first.line,
                        "mine": repr(mine),
                    }
                )

    def _customer_create(self, row: InvoiceRow) -> Customer:
        if not row.customer_name:
            raise RowError(
                _("customer %(code)s does not exist; give its customer_name to create it.")
                % {"code": row.customer_code}
            )
        if row.sales_rep:
            owner = self._rep(row.sales_rep)
            if owner is None:
                raise RowError(
                    _("sales_rep %(rep)s is not an active sales rep.") % {"rep": row.sales_rep}
                )
        else:
            owner = _unassigned_owner()
            self.result.unassigned_customers.append(row.customer_code)
        customer = Customer(
            code=row.customer_code,
            name=row.customer_name,
            currency=row.currency,
            sales_rep=owner,
            credit_limit=0,
            payment_terms_days=0,
            is_new=True,
        )
        try:
            customer.full_clean()
        except ValidationError as error:
            raise RowError("; ".join(error.messages)) from None
        customer._history_user = self.actor
        customer._change_reason = "import"
        customer.save()
        key = row.customer_code.upper()
        self.customers[key] = customer
        self.new_customer_lines[key] = row
        self.result.customers_created.append(customer.code)
        return customer

    def import_invoices(self, rows: list[InvoiceRow]) -> None:
        self.invoices = _existing_invoices({row.number for row in rows})
        for done, row in enumerate(rows, start=1):
            self._tick(INVOICES, done, len(rows))
            first_line = self.invoice_lines.get(row.number) or self.failed_invoice_lines.get(
                row.number
            )
            if first_line is not None:
                self.error(
                    INVOICES,
                    row.line,
                    _("invoice number %(number)s is already on line %(line)d.")
                    % {"number": row.number, "line": first_line},
                )
                continue
            try:
                self._import_invoice(row)
            except RowError as error:
                self.invoice_failed(row.customer_code, row.number, row.line)
                self.error(INVOICES, row.line, str(error))
            else:
                self.invoice_lines[row.number] = row.line

    def _import_invoice(self, row: InvoiceRow) -> None:
        existing = self.invoices.get(row.number)
        if existing is not None:
            same = (
                existing.customer.code.upper() == row.customer_code.upper()
                and existing.issue_date == row.issue_date
                and existing.due_date == row.due_date
                and money_quantize(existing.amount) == row.amount
                and existing.currency == row.currency
            )
            if not same:
                raise RowError(
                    _(
                        "invoice number %(number)s already exists with other data "
                        "(customer %(customer)s, issued %(issue)s, due %(due)s, "
                        "%(currency)s %(amount)s)."
                    )
                    % {
                        "number": existing.number,
                        "customer": existing.customer.code,
                        "issue": existing.issue_date.isoformat(),
                        "due": existing.due_date.isoformat(),
                        "currency": existing.currency,
                        "amount": f"{existing.amount:.2f}",
                    }
                )
            self.result.invoices_skipped += 1
            return
        customer = self._customer_for_invoice(row)
        try:
            invoice = invoice_issue(
                customer=customer,
                number=row.number,
                issue_date=row.issue_date,
                due_date=row.due_date,
                amount=row.amount,
                currency=row.currency,
                actor=self.actor,
                # Imported invoices are history already incurred, not new
                # exposure to approve: the credit check does not apply.
                check_credit=False,
                contract_number=row.contract_number,
            )
        except BusinessRuleError as error:
            raise RowError(error.message) from None
        self.invoices[invoice.number] = invoice
        self.result.invoices_created += 1

    def import_payments(self, rows: list[PaymentRow]) -> None:
        extra_numbers = {row.invoice_number for row in rows if row.invoice_number} - set(
            self.invoices
        )
        self.invoices.update(_existing_invoices(extra_numbers))
        seen: dict[tuple, int] = {}
        for done, row in enumerate(rows, start=1):
            self._tick(PAYMENTS, done, len(rows))
            try:
                self._import_payment(row, seen)
            except RowError as error:
                self.error(PAYMENTS, row.line, str(error))

    def _import_payment(self, row: PaymentRow, seen: dict[tuple, int]) -> None:
        customer = self.customers.get(row.customer_code.upper())
        failed_line = self.failed_customer_lines.get(row.customer_code.upper())
        if customer is None and failed_line is not None:
            raise RowError(
                _("customer %(code)s could not be created (invoices line %(line)d).")
                % {"code": row.customer_code, "line": failed_line}
            )
        if customer is None:
            raise RowError(
                _(
                    "customer %(code)s does not exist; add it through the invoices file "
                    "or create it first."
                )
                % {"code": row.customer_code}
            )
        key = (customer.pk, row.reference, row.payment_date, row.amount)
        if key in seen:
            raise RowError(
                _(
                    "the same payment (customer, date, amount and reference) is already on "
                    "line %(line)d; give each payment its own reference."
                )
                % {"line": seen[key]}
            )
        seen[key] = row.line
        if Payment.objects.filter(
            customer=customer,
            reference=row.reference,
            payment_date=row.payment_date,
            amount=row.amount,
        ).exists():
            self.result.payments_skipped += 1
            return
        allocations = None
        if row.invoice_number:
            invoice = self.invoices.get(row.invoice_number)
            if invoice is None:
                failed_line = self.failed_invoice_lines.get(row.invoice_number)
                if failed_line is not None:
                    raise RowError(
                        _("invoice %(number)s could not be imported (invoices line %(line)d).")
                        % {"number": row.invoice_number, "line": failed_line}
                    )
                raise RowError(
                    _("invoice %(number)s does not exist.") % {"number": row.invoice_number}
                )
            if invoice.customer_id != customer.pk:
                raise RowError(
                    _("invoice %(number)s belongs to customer %(owner)s, not %(code)s.")
                    % {
                        "number": invoice.number,
                        "owner": invoice.customer.code,
                        "code": customer.code,
                    }
                )
            allocations = [(invoice, row.amount)]
        try:
            payment = payment_record(
                customer=customer,
                payment_date=row.payment_date,
                amount=row.amount,
                currency=row.currency,
                reference=row.reference,
                actor=self.actor,
                allocations=allocations,
            )
        except BusinessRuleError as error:
            raise RowError(error.message) from None
        allocated = money_quantize(
            sum((allocation.amount for allocation in payment.allocations.all()), Decimal(0))
        )
        self.result.payments_created += 1
        self.result.amount_allocated += allocated
        self.result.amount_left_as_credit += payment.amount - allocated


def receivables_import(
    *,
    invoices_file: BinaryIO | None,
    payments_file: BinaryIO | None = None,
    dry_run: bool = False,
    actor: AbstractBaseUser | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the invoices, then the payments: all rows or none, each bad row reported.

    A dry run checks every row against the database exactly like a real run
    and then rolls everything back.
    """
    result = ImportResult(dry_run=dry_run)
    invoices = _parse_file(
        invoices_file,
        name=INVOICES,
        required=INVOICE_COLUMNS,
        optional=INVOICE_OPTIONAL_COLUMNS,
        row_parser=_invoice_row,
        errors=result.errors,
    )
    payments = _parse_file(
        payments_file,
        name=PAYMENTS,
        required=PAYMENT_COLUMNS,
        optional=PAYMENT_OPTIONAL_COLUMNS,
        row_parser=_payment_row,
        errors=result.errors,
    )
    # A refused file leaves nothing to check rows against: its errors say it all.
    if not (invoices.refused or payments.refused):
        with transaction.atomic():
            importer = _Importer(actor=actor, result=result, progress=progress)
            importer.customers = _existing_customers(
                {row.customer_code for row in [*invoices.rows, *payments.rows]}
            )
            for line, values in invoices.refused_rows:
                importer.invoice_failed(
                    values.get("customer_code", ""), values.get("invoice_number", ""), line
                )
            importer.import_invoices(invoices.rows)
            importer.import_payments(payments.rows)
            if result.errors or dry_run:
                transaction.set_rollback(True)
    result.errors.sort(key=lambda error: (error.file != INVOICES, error.line or 0))
    return result
