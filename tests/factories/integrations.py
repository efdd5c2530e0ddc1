"""Webhook subscriptions: the outbox writes only the event types somebody listens to."""

import factory

from core.domain_events import EventType
from integrations.models import WebhookSubscription


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = factory.Sequence(lambda n: f"ERP {n}")
    url = factory.Sequence(lambda n: f"https://erp{n}.example.com/hooks")
    event_types = factory.LazyFunction(lambda: list(EventType.values))
    secret = factory.Sequence(lambda n: f"whsec_test_{n:08d}")
