"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer.

The first request inserts a row unique per (user, endpoint, key) in the same
transaction as its write, and stores its answer there before committing. A
retry finds the row and replays the answer without writing; a concurrent
duplicate blocks on the unique index until the first commits, then replays it
(or, if the first failed and rolled back, goes ahead itself). The same key
with another body is refused with 422. Only successful answers are kept: a
refused request writes nothing, so retrying it runs it again.
"""

import hashlib
import json
from collections.abc import Callable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key per intended operation (e.g. a UUID). A retry with the same key and "
        "body returns the first answer and writes nothing; the same key with another body "
        "answers 422."
    ),
)


def request_fingerprint(data: object) -> str:
    """SHA-256 of the body in a canonical form (key order and spacing do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    return Response(
        record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"}
    )


def _conflict() -> Response:
    return Response(
        {"detail": _("This Idempotency-Key was used with another request body.")},
        status=status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


def idempotent(request: Request, perform: Callable[[], Response]) -> Response:
    """Run `perform` once per Idempotency-Key (when the request has one)."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return perform()
    if len(key) > KEY_MAX_LENGTH:
        raise ValidationError(
            {HEADER: [_("Keep the key under %(count)s characters.") % {"count": 256}]}
        )
    fingerprint = request_fingerprint(request.data)
    lookup = {"user": request.user, "endpoint": request.path[:200], "key": key}
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **lookup, request_hash=fingerprint, response_status=0, response_body={}
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.select_for_update().get(**lookup)
            if existing.created_at < timezone.now() - settings.API_IDEMPOTENCY_TTL:
                existing.delete()
                record = IdempotencyRecord.objects.create(
                    **lookup, request_hash=fingerprint, response_status=0, response_body={}
                )
            elif existing.request_hash != fingerprint:
                return _conflict()
            else:
                return _replay(existing)
        response = perform()
        if not status.is_success(response.status_code):
            transaction.set_rollback(True)
            return response
        record.response_status = response.status_code
        record.response_body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        record.save(update_fields=["response_status", "response_body"])
    return response
