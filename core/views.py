from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.roles import Role, has_role
from receivables.selectors.customers import customer_list_for_home


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    customers = customer_list_for_home(user=request.user)
    return render(
        request,
        "core/home.html",
        {
            "customers": customers,
            "is_sales_rep": has_role(request.user, Role.SALES_REP)
            and not has_role(request.user, Role.FINANCE, Role.MANAGER),
        },
    )
