"""The user's API tokens: create (the key is shown once), list, revoke."""

from datetime import datetime, time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from api.forms import TokenCreateForm, TokenRevokeForm
from api.selectors import api_token_list
from api.services import api_token_create, api_token_revoke
from core.exceptions import BusinessRuleError


def _end_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@require_http_methods(["GET", "POST"])
def token_list_view(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm()
    new_key = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        revoke = TokenRevokeForm(request.POST)
        if revoke.is_valid():
            try:
                token = api_token_revoke(user=request.user, token_id=revoke.cleaned_data["token"])
            except BusinessRuleError as error:
                messages.error(request, error.message)
            else:
                messages.success(
                    request, gettext("Token “%(name)s” revoked.") % {"name": token.name}
                )
        return redirect("api:token_list")
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            expires_on = form.cleaned_data["expires_on"]
            try:
                token, new_key = api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_at=_end_of_day(expires_on) if expires_on else None,
                )
            except BusinessRuleError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                form = TokenCreateForm()
    response = render(
        request,
        "api/token_list.html",
        {"form": form, "new_key": new_key, "tokens": list(api_token_list(user=request.user))},
    )
    return response
