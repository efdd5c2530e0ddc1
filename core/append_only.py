"""Collection evidence is append-only: its rows are never deleted, and only what the
services legitimately move on (a message's status, a step's link to its message) changes.

A model opts in by inheriting `AppendOnlyModel` and naming its `mutable_fields`. The
guard refuses, with `AppendOnlyError`:

- `instance.delete()` and `queryset.delete()`, whatever the caller (admin, shell, service);
- `queryset.update()` / `bulk_update()` of any field outside `mutable_fields`;
- `instance.save()` of an existing row without `update_fields` (it would rewrite every
  column) or with fields outside `mutable_fields`, unless the model says every field
  may change (`mutable_fields = ALL_FIELDS`); `frozen_once` then lists the evidence
  fields that must not change any more once the stored row matches `frozen_q()`
  (a message sent). The stored row decides, not the instance in memory.

Tests' database flushes and the migrations' raw SQL are not affected.
"""

from collections.abc import Iterable
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext as _

ALL_FIELDS = frozenset({"__all__"})


class AppendOnlyError(Exception):
    """Someone tried to delete or rewrite a row of collection evidence."""


def _refuse_delete(model: type[models.Model]) -> None:
    raise AppendOnlyError(
        _("%(model)s rows are collection evidence: they can never be deleted.")
        % {"model": model._meta.verbose_name_plural}
    )


def _names(model: type[models.Model], fields: Iterable[str]) -> set[str]:
    """Field names, whether given as names or attnames (`customer_id`)."""
    return {model._meta.get_field(name).name for name in fields}


def _check_fields(model: type["AppendOnlyModel"], fields: Iterable[str]) -> None:
    allowed = model.mutable_fields
    if allowed == ALL_FIELDS:
        return
    names = _names(model, fields)
    refused = sorted(names - allowed - {"updated_at"})
    if refused:
        raise AppendOnlyError(
            _("%(model)s rows are collection evidence: %(fields)s cannot be changed.")
            % {"model": model._meta.verbose_name_plural, "fields": ", ".join(refused)}
        )


class AppendOnlyQuerySet(models.QuerySet):
    """Refuse deletes; let updates touch only the model's mutable fields."""

    def delete(self):
        _refuse_delete(self.model)

    delete.alters_data = True
    delete.queryset_only = True

    def update(self, **kwargs) -> int:
        _check_fields(self.model, kwargs)
        frozen = _names(self.model, kwargs) & self.model.frozen_once
        if frozen and self.filter(self.model.frozen_q()).exists():
            self.model.refuse_frozen(sorted(frozen))
        return super().update(**kwargs)

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        # Checked before Django opens its transaction, so a refusal leaves it usable.
        objs = list(objs)
        _check_fields(self.model, fields)
        frozen = _names(self.model, fields) & self.model.frozen_once
        if frozen and self.filter(self.model.frozen_q(), pk__in=[obj.pk for obj in objs]).exists():
            self.model.refuse_frozen(sorted(frozen))
        return super().bulk_update(objs, fields, batch_size=batch_size)

    bulk_update.alters_data = True


class AppendOnlyModel(models.Model):
    """A row of collection evidence (see the module docstring)."""

    mutable_fields: ClassVar[frozenset[str]] = frozenset()
    frozen_once: ClassVar[frozenset[str]] = frozenset()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and self.pk is not None:
            update_fields = kwargs.get("update_fields")
            if update_fields is None and self.mutable_fields != ALL_FIELDS:
                raise AppendOnlyError(
                    _("%(model)s rows are collection evidence: save only the fields that change.")
                    % {"model": self._meta.verbose_name_plural}
                )
            if update_fields is not None:
                _check_fields(type(self), update_fields)
            touched = (
                {field.name for field in self._meta.concrete_fields}
                if update_fields is None
                else _names(type(self), update_fields)
            )
            frozen = touched & self.frozen_once
            if frozen and self._frozen_fields_changed(frozen):
                self.refuse_frozen(sorted(frozen))
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        _refuse_delete(type(self))

    delete.alters_data = True

    @classmethod
    def frozen_q(cls) -> models.Q:
        """The rows whose `frozen_once` fields may not change any more (none by default)."""
        return models.Q(pk__in=[])

    @classmethod
    def refuse_frozen(cls, fields: list[str]) -> None:
        raise AppendOnlyError(
            _("%(model)s rows are collection evidence: %(fields)s can no longer be changed.")
            % {"model": cls._meta.verbose_name_plural, "fields": ", ".join(fields)}
        )

    def _frozen_fields_changed(self, fields: set[str]) -> bool:
        """Whether the stored row is frozen and the instance would change those fields."""
        stored = (
            type(self)._base_manager.filter(self.frozen_q(), pk=self.pk).values(*fields).first()
        )
        if stored is None:
            return False
        return any(
            stored.get(name)
            != self._meta.get_field(name).get_prep_value(
                getattr(self, self._meta.get_field(name).attname)
            )
            for name in fields
        )
