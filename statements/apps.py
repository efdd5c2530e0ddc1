from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatementsConfig(AppConfig):
    name = "statements"
    verbose_name = _("Statements of account")

    def ready(self) -> None:
        from anymail.signals import tracking

        from receivables.services.customers import contact_email_change_listener_register
        from statements.events import events_register
        from statements.services.delivery_status import (
            delivery_event_receive,
            fix_contact_email_tasks_close,
        )

        # Anymail's normalised tracking webhooks update messages and statements.
        tracking.connect(delivery_event_receive, dispatch_uid="statements_delivery_status")
        # A changed address settles the task to fix the bounced one.
        contact_email_change_listener_register(listener=fix_contact_email_tasks_close)
        # The timeline and tasks word the statements' rows at display time (`core.events`).
        events_register()
