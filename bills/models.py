"""Acceptance bills (承兑汇票): a customer pays with a bill that turns into cash at maturity.

A received bill is recorded as a payment (method `acceptance_bill`) through the
receivables payment service, so its invoices are settled for dunning and ageing
at once; the bill itself says whether the money is still "collected, not yet
cash" (held) or has left our hands (endorsed, discounted, collected) or never
came (dishonoured: the payment is reversed and the invoices reopen).
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.models import Customer, Payment

MONEY = {"max_digits": 14, "decimal_places": 2}


class AcceptanceBill(models.Model):
    """A bank or commercial acceptance bill received from a customer, until it is settled."""

    scope_owner_path = "customer__sales_rep"

    class Kind(models.TextChoices):
        BANK = "bank", _("Bank acceptance bill")
        COMMERCIAL = "commercial", _("Commercial acceptance bill")

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        ENDORSED = "endorsed", _("Endorsed")
        DISCOUNTED = "discounted", _("Discounted")
        COLLECTED = "collected", _("Collected")
        DISHONOURED = "dishonoured", _("Dishonoured")

    number = models.CharField(_("bill number"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    acceptor = models.CharField(
        _("acceptor"), max_length=200, help_text=_("The bank or company that accepted the bill.")
    )
    drawer = models.CharField(
        _("drawer"), max_length=200, help_text=_("Who drew the bill (出票人).")
    )
    issue_date = models.DateField(_("issue date"))
    maturity_date = models.DateField(_("maturity date"))
    face_amount = models.DecimalField(_("face amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="acceptance_bills",
    )
    received_on = models.DateField(_("received on"))
    payment = models.OneToOneField(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="acceptance_bill",
        help_text=_("The payment that settles the bill's invoices."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.HELD
    )
    settled_on = models.DateField(
        _("settled on"),
        null=True,
        blank=True,
        help_text=_("The day the bill was endorsed, discounted, collected or dishonoured."),
    )
    endorsee = models.CharField(_("endorsed to"), max_length=200, blank=True)
    discount_amount = models.DecimalField(
        _("discount"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("The discount the bank kept: a financing expense."),
    )
    dishonour_reason = models.CharField(_("dishonour reason"), max_length=200, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("acceptance bill")
        verbose_name_plural = _("acceptance bills")
        ordering = ["maturity_date", "number"]
        indexes = [
            # The desk and the dashboard read the bills in hand by maturity.
            models.Index(
                fields=["maturity_date", "currency", "face_amount"],
                condition=Q(status="held"),
                name="bill_held_maturity_idx",
            ),
            models.Index(fields=["customer", "maturity_date"], name="bill_customer_maturity_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(face_amount__gt=0), name="bill_face_positive"),
            models.CheckConstraint(
                condition=Q(maturity_date__gte=F("issue_date")),
                name="bill_maturity_not_before_issue",
            ),
            models.CheckConstraint(
                condition=Q(discount_amount__isnull=True)
                | (Q(discount_amount__gt=0) & Q(discount_amount__lt=F("face_amount"))),
                name="bill_discount_below_face",
            ),
            models.CheckConstraint(
                condition=Q(status="held", settled_on__isnull=True)
                | (~Q(status="held") & Q(settled_on__isnull=False)),
                name="bill_settled_on_unless_held",
            ),
            models.CheckConstraint(
                condition=Q(status="discounted", discount_amount__isnull=False)
                | ~Q(status="discounted"),
                name="bill_discounted_has_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("bills:bill_detail", kwargs={"pk": self.pk})

    @property
    def cash_received(self) -> Decimal | None:
        """The cash the bill brought: its face when collected, face less discount when
        discounted, nothing otherwise (an endorsed bill paid a supplier, not us)."""
        if self.status == self.Status.COLLECTED:
            return self.face_amount
        if self.status == self.Status.DISCOUNTED:
            return self.face_amount - self.discount_amount
        return None

    def days_to_maturity(self, *, as_of: date) -> int:
        """Days until the maturity date; negative once it has passed."""
        return (self.maturity_date - as_of).days
