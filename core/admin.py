"""What every app's admin shares."""

from django.http import HttpRequest


class EvidenceAdminMixin:
    """Collection evidence in the admin: shown, never added, edited or deleted.

    The rows are written by the services; the models refuse deletes and rewrites
    too (core.append_only), so this only keeps the buttons from offering them.
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class NoDeleteAdminMixin:
    """Records that collection history points at: editable where allowed, never deleted."""

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
