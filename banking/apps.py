from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BankingConfig(AppConfig):
    name = "banking"
    verbose_name = _("Banking")

    def ready(self) -> None:
        from banking.events import events_register

        # The timeline words the receipts' rows at display time (`core.events`).
        events_register()
