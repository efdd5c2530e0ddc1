from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DunningConfig(AppConfig):
    name = "dunning"
    verbose_name = _("Dunning")

    def ready(self) -> None:
        from dunning.events import labels_register
        from dunning.services.follow import invoices_follow_balance
        from receivables.services.balance_changes import balance_listener_register

        # Tasks, messages, the case and the credit hold follow every balance change.
        balance_listener_register(listener=invoices_follow_balance)
        # The timeline and tasks word their rows at display time (`core.events`).
        labels_register()
