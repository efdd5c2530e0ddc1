from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillsConfig(AppConfig):
    name = "bills"
    verbose_name = _("Acceptance bills")

    def ready(self) -> None:
        from bills.events import events_register

        # The timeline words the bills' rows at display time (`core.events`).
        events_register()
