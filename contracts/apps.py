from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts")

    def ready(self) -> None:
        # Receivables may not import contracts: tell it which invoices a plan replaces.
        from contracts.selectors.instalments import invoice_replaced
        from receivables.selectors.replaced import invoice_replaced_register

        invoice_replaced_register(condition=invoice_replaced)
