"""What the contract services share: who may act, the lock helpers, history."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext as _

from contracts.models import Contract, PaymentMilestone
from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from receivables.models import Customer

# simple_history keeps the change reason in a CharField(max_length=100).
CHANGE_REASON_MAX = 100


def user_may_draft_for(*, user: AbstractBaseUser, customer: Customer) -> bool:
    """Finance drafts for anyone; a sales rep only for the customers they own."""
    if has_role(user, Role.FINANCE):
        return True
    return has_role(user, Role.SALES_REP) and customer.sales_rep_id == user.pk


def require_may_draft(*, user: AbstractBaseUser, customer: Customer) -> None:
    if not user_may_draft_for(user=user, customer=customer):
        raise PermissionDenied(
            _("Only finance or the customer's own sales rep can draft its contracts.")
        )


def require_may_record(*, user: AbstractBaseUser, customer: Customer) -> None:
    """Events under a contract are recorded by finance or the customer's own sales rep."""
    if not user_may_draft_for(user=user, customer=customer):
        raise PermissionDenied(
            _("Only finance or the customer's own sales rep can record events of its contracts.")
        )


def require_finance(*, user: AbstractBaseUser) -> None:
    if not has_role(user, Role.FINANCE):
        raise PermissionDenied(_("Only finance can do this."))


# The history reasons of the changes that make a user one of a contract's drafters.
DRAFTING_CHANGES = ("created", "draft changed", "submitted for review")


def contract_drafted_by(*, contract: Contract, user: AbstractBaseUser) -> bool:
    """Whether the user created, changed or submitted the contract's draft at any time."""
    if contract.created_by_id == user.pk:
        return True
    return contract.history.filter(
        history_user_id=user.pk, history_change_reason__in=DRAFTING_CHANGES
    ).exists()


def require_not_drafter(*, contract: Contract, user: AbstractBaseUser) -> None:
    """Segregation of duties: whoever drafted a contract never reviews it."""
    if contract_drafted_by(contract=contract, user=user):
        raise BusinessRuleError(
            _(
                "You drafted or submitted this contract, so you cannot review it: "
                "another finance user must approve it or send it back."
            )
        )


def contract_lock(*, contract: Contract) -> Contract:
    """Re-read the contract under a row lock; every transition starts here."""
    return Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)


def milestones_lock(*, contract: Contract) -> list[PaymentMilestone]:
    """Lock the contract's milestones in sequence order (one order: no deadlocks)."""
    return list(
        PaymentMilestone.objects.select_for_update().filter(contract=contract).order_by("sequence")
    )


def save_with_history(
    instance: models.Model,
    *,
    actor: AbstractBaseUser | None,
    reason: str,
    update_fields: list[str] | None = None,
) -> None:
    """Save and let simple_history record who did it and why."""
    instance._history_user = actor
    instance._change_reason = reason[:CHANGE_REASON_MAX]
    try:
        instance.save(update_fields=update_fields)
    finally:
        # A later save of the same object must not inherit this actor and reason.
        instance.__dict__.pop("_history_user", None)
        instance.__dict__.pop("_change_reason", None)
