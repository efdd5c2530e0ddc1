"""Errors as the API answers them: 400 with the field errors, in the request's language."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from core.exceptions import BusinessRuleError


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """A refusal of a service is a 400 beside its field (or the non-field errors)."""
    if isinstance(exc, BusinessRuleError):
        field = exc.field or api_settings.NON_FIELD_ERRORS_KEY
        return Response({field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {
                (api_settings.NON_FIELD_ERRORS_KEY if key == "__all__" else key): [
                    message for error in errors for message in error.messages
                ]
                for key, errors in exc.error_dict.items()
            }
        else:
            body = {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)
