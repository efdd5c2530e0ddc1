from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.db import DatabaseError, connection
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET


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


@login_not_required
@require_GET
@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> FileResponse:
    """Serve /favicon.ico, which browsers ask for whatever the pages link to."""
    path = finders.find("favicon.ico")
    if not path:
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/x-icon")
