"""Bank accounts, statement imports, bank receipts, claims and what is known about payers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from receivables.models import Customer, Invoice, Payment

MONEY = {"max_digits": 14, "decimal_places": 2}


class BankAccount(models.Model):
    """One of the company's own bank accounts, into which customers pay."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    number = models.CharField(_("account number"), max_length=64)
    currency = models.CharField(_("currency"), max_length=3)
    name = models.CharField(_("name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.number})"


class ColumnProfile(models.Model):
    """The column headers of one bank's online-banking export (CSV or XLSX).

    A header field may list alternatives separated by `|`; the memo takes every
    listed column that is present, joined by spaces.
    """

    name = models.CharField(_("name"), max_length=64, unique=True)
    date_column = models.CharField(_("date column"), max_length=200)
    date_format = models.CharField(_("date format"), max_length=64, default="%Y-%m-%d")
    payer_name_column = models.CharField(_("counterparty name column"), max_length=200)
    payer_account_column = models.CharField(_("counterparty account column"), max_length=200)
    credit_column = models.CharField(_("credit amount column"), max_length=200)
    debit_column = models.CharField(_("debit amount column"), max_length=200, blank=True)
    balance_column = models.CharField(_("balance column"), max_length=200, blank=True)
    memo_columns = models.CharField(_("memo columns"), max_length=200, blank=True)
    transaction_id_column = models.CharField(_("transaction id column"), max_length=200)
    currency_column = models.CharField(_("currency column"), max_length=200, blank=True)
    is_builtin = models.BooleanField(_("built in"), default=False)

    class Meta:
        verbose_name = _("column profile")
        verbose_name_plural = _("column profiles")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BankStatementImport(models.Model):
    """One committed statement file: who loaded it, when, and what it held."""

    bank_account = models.ForeignKey(
        BankAccount,
        verbose_name=_("bank account"),
        on_delete=models.PROTECT,
        related_name="imports",
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_format = models.CharField(_("format"), max_length=64)
    receipts = models.PositiveIntegerField(_("receipts"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    applied = models.PositiveIntegerField(_("applied"), default=0)
    suggested = models.PositiveIntegerField(_("suggested"), default=0)
    unmatched = models.PositiveIntegerField(_("unmatched"), default=0)

    class Meta:
        verbose_name = _("statement import")
        verbose_name_plural = _("statement imports")
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.bank_account.code} {self.file_name}"


class BankReceipt(models.Model):
    """Money received on one of our accounts, as the bank reported it, and where it went."""

    # A receipt placed with a customer is that customer's rep's; an unmatched one is
    # nobody's (offered to every rep through `receipt_list_claimable`, public fields only).
    scope_owner_path = "customer__sales_rep"

    class Status(models.TextChoices):
        UNMATCHED = "unmatched", _("Unmatched")
        SUGGESTED = "suggested", _("Suggested")
        APPLIED = "applied", _("Applied")
        CLAIMED = "claimed", _("Claimed")
        NOT_CUSTOMER = "not_customer", _("Not a customer receipt")

    bank_account = models.ForeignKey(
        BankAccount,
        verbose_name=_("bank account"),
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    statement_import = models.ForeignKey(
        BankStatementImport,
        verbose_name=_("statement import"),
        on_delete=models.SET_NULL,
        related_name="receipt_rows",
        null=True,
        blank=True,
    )
    transaction_id = models.CharField(_("transaction id"), max_length=100)
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    payer_name = models.CharField(_("payer name"), max_length=200, blank=True)
    payer_name_key = models.CharField(_("payer name (normalised)"), max_length=200, blank=True)
    payer_account = models.CharField(_("payer account"), max_length=64, blank=True)
    payer_account_key = models.CharField(_("payer account (normalised)"), max_length=64, blank=True)
    memo = models.CharField(_("memo"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.UNMATCHED
    )
    # The customer: matched by rule 1 (known payer), or chosen by finance or a claim.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="bank_receipts",
        null=True,
        blank=True,
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="bank_receipts",
        null=True,
        blank=True,
    )
    # Ranked candidates: [{"customer_id", "items": [{"label", "invoice_ids", "amount"}],
    # "score", "reasons": [{"kind", "params"}]}], best first.
    suggestions = models.JSONField(_("suggestions"), default=list, blank=True)
    applied_automatically = models.BooleanField(_("applied automatically"), default=False)
    applied_rule = models.CharField(_("rule"), max_length=16, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    dismiss_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank receipt")
        verbose_name_plural = _("bank receipts")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "transaction_id"], name="bank_receipt_transaction_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="bank_receipt_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "date"], name="bank_receipt_status_date_idx"),
            models.Index(fields=["payer_account_key"], name="bank_receipt_payer_acct_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.amount} {self.currency}"


class ReceiptApplication(models.Model):
    """The part of a receipt paid to one customer (a split receipt has several)."""

    scope_owner_path = "customer__sales_rep"

    receipt = models.ForeignKey(
        BankReceipt,
        verbose_name=_("receipt"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True)

    class Meta:
        verbose_name = _("receipt application")
        verbose_name_plural = _("receipt applications")
        ordering = ["receipt", "id"]

    def __str__(self) -> str:
        return f"{self.receipt} → {self.customer.code}"


class ReceiptClaim(models.Model):
    """A sales rep's claim (认领) that an unmatched receipt is one of their customers'."""

    scope_owner_path = "claimed_by"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    receipt = models.ForeignKey(
        BankReceipt, verbose_name=_("receipt"), on_delete=models.PROTECT, related_name="claims"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    invoices = models.ManyToManyField(
        Invoice, verbose_name=_("invoices"), related_name="+", blank=True
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("claimed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("receipt claim")
        verbose_name_plural = _("receipt claims")
        ordering = ["-claimed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt"],
                condition=Q(status="pending"),
                name="receipt_claim_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("claimed_by")),
                name="receipt_claim_not_self_decided",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt} ← {self.customer.code}"


class CustomerPayerAccount(models.Model):
    """A bank account a customer pays from; known accounts identify the payer (rule 1)."""

    scope_owner_path = "customer__sales_rep"

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="payer_accounts",
    )
    account = models.CharField(_("account number"), max_length=64)
    account_key = models.CharField(_("account (normalised)"), max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payer account")
        verbose_name_plural = _("payer accounts")
        ordering = ["customer", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "account_key"], name="customer_payer_account_unique"
            )
        ]

    def __str__(self) -> str:
        return self.account


class CustomerAlias(models.Model):
    """Another name a customer pays under (a trading name, an old name, an abbreviation)."""

    scope_owner_path = "customer__sales_rep"

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="aliases"
    )
    alias = models.CharField(_("alias"), max_length=200)
    alias_key = models.CharField(_("alias (normalised)"), max_length=200, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer alias")
        verbose_name_plural = _("customer aliases")
        ordering = ["customer", "alias"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "alias_key"], name="customer_alias_unique")
        ]

    def __str__(self) -> str:
        return self.alias
