from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts")

    def ready(self) -> None:
        # Receivables may not import contracts: tell it which invoices a plan replaces.
        from contracts.selectors.instalments import invoice_replaced
        from contracts.services.instalments import instalments_follow_balance
        from receivables.selectors.replaced import invoice_replaced_register
        from receivables.services.balance_changes import balance_listener_register

        invoice_replaced_register(condition=invoice_replaced)
        # Instalments store today's open amount: kept with the money, before any other
        # listener (the dunning work that follows reads it).
        balance_listener_register(listener=instalments_follow_balance, immediate=True)
