"""Pages: webhook subscriptions (finance and admins) and group robots (everyone, their own)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import BusinessRuleError
from core.roles import Role, has_role
from integrations.forms import RobotForm, WebhookSubscriptionForm
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.selectors import (
    robot_message_log,
    webhook_delivery_log,
    webhook_subscription_list,
)
from integrations.services.robots import (
    robot_register,
    robot_set_active,
    robot_test_message,
    robots_for_user,
)
from integrations.services.webhooks import (
    webhook_delivery_replay,
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_set_active,
)


def _require_finance(request: HttpRequest) -> None:
    if not has_role(request.user, Role.FINANCE):
        raise PermissionDenied


def webhook_list(request: HttpRequest) -> HttpResponse:
    _require_finance(request)
    form = WebhookSubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = webhook_subscription_create(actor=request.user, **form.cleaned_data)
        except BusinessRuleError as error:
            form.add_error(getattr(error, "field", None), str(error))
        else:
            # The secret is shown on this response only; it is never shown again.
            return render(
                request, "integrations/webhook_secret.html", {"subscription": subscription}
            )
    return render(
        request,
        "integrations/webhook_list.html",
        {"subscriptions": list(webhook_subscription_list()), "form": form},
    )


def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_finance(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    return render(
        request,
        "integrations/webhook_detail.html",
        {
            "subscription": subscription,
            "deliveries": webhook_delivery_log(subscription=subscription),
        },
    )


@require_POST
def webhook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _require_finance(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    webhook_subscription_set_active(
        subscription=subscription, active=not subscription.is_active, actor=request.user
    )
    return redirect("integrations:webhook_detail", pk=pk)


@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_finance(request)
    subscription = webhook_subscription_rotate_secret(
        subscription=get_object_or_404(WebhookSubscription, pk=pk), actor=request.user
    )
    return render(request, "integrations/webhook_secret.html", {"subscription": subscription})


@require_POST
def webhook_replay(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    _require_finance(request)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, subscription_id=pk)
    try:
        webhook_delivery_replay(delivery=delivery, actor=request.user)
    except BusinessRuleError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The event will be posted again in a moment."))
    return redirect("integrations:webhook_detail", pk=pk)


def robot_list(request: HttpRequest) -> HttpResponse:
    team_lead = has_role(request.user, Role.FINANCE, Role.MANAGER)
    form = RobotForm(request.POST or None, team_lead=team_lead)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        members = data.pop("members", None) or []
        try:
            robot_register(actor=request.user, members=members, **data)
        except BusinessRuleError as error:
            form.add_error(getattr(error, "field", None), str(error))
        else:
            messages.success(request, _("The robot is registered."))
            return redirect("integrations:robot_list")
    return render(
        request,
        "integrations/robot_list.html",
        {"robots": list(robots_for_user(user=request.user)), "form": form},
    )


def robot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    robot = get_object_or_404(robots_for_user(user=request.user), pk=pk)
    return render(
        request,
        "integrations/robot_detail.html",
        {"robot": robot, "robot_messages": robot_message_log(robot_id=robot.pk)},
    )


@require_POST
def robot_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    robot = get_object_or_404(robots_for_user(user=request.user), pk=pk)
    robot_set_active(robot=robot, active=not robot.is_active, actor=request.user)
    return redirect("integrations:robot_detail", pk=pk)


@require_POST
def robot_test(request: HttpRequest, pk: int) -> HttpResponse:
    robot = get_object_or_404(robots_for_user(user=request.user), pk=pk)
    robot_test_message(robot=robot, actor=request.user)
    messages.success(request, _("A test message is on its way; its answer shows below."))
    return redirect("integrations:robot_detail", pk=pk)
