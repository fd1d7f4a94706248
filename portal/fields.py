"""Model fields shared by the apps."""

from django.db import models


def normalised_key(value: str | None) -> str:
    """The form of a name or address used for exact look-ups and uniqueness: whitespace
    collapsed to single spaces and trimmed, then case-folded by Python.

    Databases disagree on case: SQLite's ``LOWER()`` folds only ASCII, and PostgreSQL's
    ``UPPER()`` (what ``__iexact`` compiles to) bypasses a ``LOWER(...)`` index. A column that
    holds this key, with a plain unique constraint and index, behaves the same on both."""
    return " ".join((value or "").split()).casefold()


class NormalisedKeyField(models.CharField):
    """A copy of the ``source`` field in its :func:`normalised_key` form, kept up to date on
    every save and ``bulk_create`` (both call ``pre_save``). ``QuerySet.update()`` and
    ``bulk_update()`` do not call it: writes go through the services, which use ``save()``."""

    def __init__(self, *args, source: str, **kwargs) -> None:
        self.source = source
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        kwargs.pop("blank", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = normalised_key(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
