from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.roles import Role, has_role, user_roles


def navigation(request: HttpRequest) -> dict[str, object]:
    """Offer each user the sections their role can use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_items": [],
            "nav_primary": [],
            "nav_queues": [],
            "nav_cash": [],
            "nav_account": [],
            "user_role_names": [],
        }
    items = [
        (_("Home"), reverse("core:home")),
        (_("Customers"), reverse("receivables:customer_list")),
        (_("Contracts"), reverse("contracts:contract_list")),
        (_("Invoices"), reverse("receivables:invoice_list")),
        (_("Acceptance bills"), reverse("bills:bill_list")),
        (_("Collections"), reverse("dunning:case_list")),
    ]
    if has_role(user, Role.FINANCE):
        items.append((_("Credit approvals"), reverse("receivables:credit_assessment_queue")))
        items.append((_("Import"), reverse("receivables:receivables_import")))
    if has_role(user, Role.MANAGER, Role.FINANCE):
        items.append((_("Dashboard"), reverse("dashboards:dashboard")))
    if has_role(user, Role.FINANCE):
        items.append((_("Finance desk"), reverse("dashboards:finance_desk")))
    if has_role(user, Role.FINANCE):
        items.append((_("Reconciliation"), reverse("banking:receipt_queue")))
    if has_role(user, Role.SALES_REP, Role.FINANCE):
        items.append((_("Receipt claims"), reverse("banking:claim_list")))
    if has_role(user, Role.FINANCE):
        items.append((_("Letters to approve"), reverse("dunning:letter_queue")))
        items.append((_("Disputes"), reverse("dunning:dispute_list")))
    if has_role(user, Role.MANAGER):
        items.append((_("Agreements to approve"), reverse("dunning:agreement_queue")))
    items.append((_("Chat robots"), reverse("integrations:robot_list")))
    if has_role(user, Role.FINANCE):
        items.append((_("Webhooks"), reverse("integrations:webhook_list")))
    if user.is_staff:
        items.append((_("Administration"), reverse("admin:index")))
    role_names = {
        Role.SALES_REP: _("Sales rep"),
        Role.FINANCE: _("Finance"),
        Role.MANAGER: _("Manager"),
        Role.ADMIN: _("Administrator"),
    }
    # The header shows the queues to approve in one menu, so that the English
    # navigation of finance and admins keeps to one row at 1366 px.
    queue_urls = {
        reverse("receivables:credit_assessment_queue"),
        reverse("dunning:letter_queue"),
        reverse("dunning:dispute_list"),
        reverse("dunning:agreement_queue"),
    }
    # Cash in (bills, bank receipts, imports) in a second menu, and the machine links
    # (robots, webhooks) in the account menu, for the same reason.
    cash_urls = {
        reverse("bills:bill_list"),
        reverse("banking:receipt_queue"),
        reverse("banking:claim_list"),
        reverse("receivables:receivables_import"),
    }
    account_urls = {reverse("integrations:robot_list"), reverse("integrations:webhook_list")}
    menus = queue_urls | cash_urls | account_urls
    return {
        "nav_items": items,
        "nav_primary": [item for item in items if item[1] not in menus],
        "nav_queues": [item for item in items if item[1] in queue_urls],
        "nav_cash": [item for item in items if item[1] in cash_urls],
        "nav_account": [item for item in items if item[1] in account_urls],
        "user_role_names": [role_names[role] for role in sorted(user_roles(user))],
        "is_finance": has_role(user, Role.FINANCE),
        "is_manager": has_role(user, Role.MANAGER),
    }
