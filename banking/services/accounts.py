"""Our bank accounts, and the payer accounts and aliases recorded on customers."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from banking.models import BankAccount, CustomerAlias, CustomerPayerAccount
from banking.normalise import account_normalise, text_normalise
from core.exceptions import BusinessRuleError
from receivables.currencies import is_iso_4217
from receivables.models import Customer


@transaction.atomic
def bank_account_record(
    *, code: str, number: str, currency: str, name: str = ""
) -> tuple[BankAccount, bool]:
    """Create or update the bank account with this code; return it and whether it is new."""
    code = (code or "").strip()
    number = (number or "").strip()
    currency = (currency or "").strip().upper()
    if not code:
        raise BusinessRuleError(_("Give the account a code."), field="code")
    if not number:
        raise BusinessRuleError(_("Give the account number."), field="number")
    if not is_iso_4217(currency):
        raise BusinessRuleError(
            _("%(currency)s is not an ISO 4217 currency code (e.g. CNY, USD).")
            % {"currency": currency or "''"},
            field="currency",
        )
    account, created = BankAccount.objects.select_for_update().get_or_create(
        code=code, defaults={"number": number, "currency": currency, "name": name.strip()}
    )
    if not created:
        changed = {"number": number, "currency": currency}
        if name.strip():
            changed["name"] = name.strip()
        if any(getattr(account, field) != value for field, value in changed.items()):
            for field, value in changed.items():
                setattr(account, field, value)
            account.save(update_fields=list(changed))
    return account, created


def customer_payer_account_record(*, customer: Customer, account: str) -> bool:
    """Record a bank account the customer pays from; return whether it is new."""
    key = account_normalise(account)
    if not key:
        return False
    _row, created = CustomerPayerAccount.objects.get_or_create(
        customer=customer, account_key=key, defaults={"account": account.strip()[:64]}
    )
    return created


def customer_alias_record(*, customer: Customer, alias: str) -> bool:
    """Record a name the customer pays under, unless it is its own name; return whether new."""
    key = text_normalise(alias)
    if not key or key == text_normalise(customer.name):
        return False
    _row, created = CustomerAlias.objects.get_or_create(
        customer=customer, alias_key=key[:200], defaults={"alias": alias.strip()[:200]}
    )
    return created


def payer_record(
    *, customer: Customer, payer_account: str, payer_name: str, actor: AbstractBaseUser | None
) -> dict[str, str]:
    """Remember the payer of a confirmed receipt on the customer, so the next one is known:
    its account, or, without one, its name as an alias. Return what was recorded."""
    recorded: dict[str, str] = {}
    if payer_account and customer_payer_account_record(customer=customer, account=payer_account):
        recorded["payer_account"] = payer_account
    if payer_name and customer_alias_record(customer=customer, alias=payer_name):
        recorded["alias"] = payer_name
    return recorded
