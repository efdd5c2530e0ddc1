from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from core.domain_events import domain_event_listener_register
        from integrations.services.outbox import (
            event_types_wanted,
            invoices_paid_announce,
            outbox_write,
        )
        from receivables.services.balance_changes import balance_listener_register

        # Every domain event lands in the outbox in the transaction that caused it.
        domain_event_listener_register(listener=outbox_write, wants=event_types_wanted)
        balance_listener_register(listener=invoices_paid_announce)
