"""Reads for the integrations pages: bounded lists, a fixed number of queries each."""

from django.db.models import QuerySet

from integrations.models import RobotMessage, WebhookDelivery, WebhookSubscription

LOG_ROWS = 50


def webhook_subscription_list() -> QuerySet[WebhookSubscription]:
    """Every subscription, by name."""
    return WebhookSubscription.objects.order_by("name", "pk")


def webhook_delivery_log(*, subscription: WebhookSubscription) -> list[WebhookDelivery]:
    """The subscription's latest deliveries with their event and attempts (three queries)."""
    return list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")[:LOG_ROWS]
    )


def robot_message_log(*, robot_id: int) -> list[RobotMessage]:
    """The robot's latest messages."""
    return list(
        RobotMessage.objects.filter(robot_id=robot_id).order_by("-claimed_at", "-pk")[:LOG_ROWS]
    )
