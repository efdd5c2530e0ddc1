from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Customer portal")

    def ready(self) -> None:
        from dunning.services.send import email_body_extension_register
        from portal.events import events_register
        from portal.services.links import portal_link_email_text, statement_portal_url
        from statements.services.runs import statement_portal_link_register

        # Every dunning email carries a fresh link to the customer's page, and every statement
        # email one that asks to confirm the statement's closing balance.
        email_body_extension_register(extension=portal_link_email_text)
        statement_portal_link_register(maker=statement_portal_url)
        # The timeline and tasks word the portal's rows at display time (`core.events`).
        events_register()
