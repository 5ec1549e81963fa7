"""Model, field and choice names of this project in the admin's language.

When the code gives none, Django makes a model's and a field's name up from its Python name
("next due at", "plans") and a choice's label from its member ("In progress"), as plain strings
that no catalogue can translate. Rather than a verbose_name on each of our ~300 fields (and a
migration per app to record them), every model of this project gets those made-up names as lazy
translations when its class is made (`class_prepared`, connected before any model loads: the
admin builds its forms' labels when it autodiscovers, before other apps are ready). `manage.py
model_names` (part of `make messages`) writes them to core/model_names.py, where makemessages
collects them with the rest. Migrations are unaffected: they record the names the code gives.

`localized` is the one way the texts of our plain-Python modules (the recurrence engine's
errors and rule descriptions, which cannot import Django) reach a user in their language.
"""

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.db import models
from django.forms.utils import pretty_name
from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, gettext_lazy, pgettext


class Renderable(Protocol):
    """A text kept as templates marked for translation and their values, e.g.
    `scheduling.recurrence.RecurrenceError` and `Message` (a rule's description)."""

    def render(self, translate=None) -> str: ...


def _translate(template: str, context: str | None) -> str:
    return pgettext(context, template) if context else gettext(template)


def localized(message: Renderable) -> str:
    """`message` in the active language: each of its templates through the catalogue
    (`gettext(template) % params`, pgettext where it has a context), values filled in."""
    return message.render(_translate)


def is_ours(model: type[models.Model]) -> bool:
    """Whether the model is this project's (its module under BASE_DIR, not an installed package)."""
    module_file = getattr(sys.modules.get(model.__module__), "__file__", None)
    if not module_file:
        return False
    path = Path(module_file).resolve()
    return path.is_relative_to(Path(settings.BASE_DIR).resolve()) and not (
        {"site-packages", "dist-packages"} & set(path.parts)
    )


def _english(text) -> str:
    with translation.override("en"):
        return str(text)


def _plural_of(singular: Promise):
    """Django's made-up plural (singular + "s") of a translatable singular, itself translated."""

    def plural() -> str:
        english = f"{_english(singular)}s"
        return gettext(english)

    return lazy(plural, str)()


def _fixed_choices(field: models.Field) -> bool:
    """Choices listed in the code (a callable's, like the registry's events, are names)."""
    return isinstance(field.choices, (list, tuple)) and bool(field.choices)


def _choices_enums(model: type[models.Model]) -> Iterator[type[models.Choices]]:
    """The TextChoices of the model and of its module (forms list their `.choices` too)."""
    module = sys.modules.get(model.__module__)
    for value in [*vars(model).values(), *vars(module).values()]:
        if isinstance(value, type) and issubclass(value, models.Choices):
            yield value


_translated_enums: set[type] = set()


def _translate_enum(enum: type[models.Choices]) -> None:
    if enum in _translated_enums:
        return
    for member in enum:
        if isinstance(member._label_, str):
            member._label_ = gettext_lazy(member._label_)
    _translated_enums.add(enum)


def made_up_names(model: type[models.Model]) -> Iterator[str]:
    """The names Django made up for `model` (English, as the catalogue's msgids)."""
    for enum in _choices_enums(model):
        for member in enum:
            yield _english(member.label)
    opts = model._meta
    if "verbose_name" not in opts.original_attrs:
        yield _english(opts.verbose_name)
    if "verbose_name_plural" not in opts.original_attrs:
        yield _english(opts.verbose_name_plural)
    for field in opts.local_fields + opts.local_many_to_many:
        if field._verbose_name is None:  # the name given to the field (None: made up)
            yield _english(field.verbose_name)
        for _, label in field.flatchoices if _fixed_choices(field) else ():
            if label:  # labels the code marked come out again: makemessages merges them
                yield _english(label)


def translate_made_up_names(sender: type[models.Model], **kwargs) -> None:
    if not is_ours(sender):
        return
    for enum in _choices_enums(sender):
        _translate_enum(enum)
    opts = sender._meta
    if "verbose_name" not in opts.original_attrs:
        opts.verbose_name = gettext_lazy(opts.verbose_name)
    if "verbose_name_plural" not in opts.original_attrs:
        opts.verbose_name_plural = _plural_of(opts.verbose_name)
    for field in opts.local_fields + opts.local_many_to_many:
        if field._verbose_name is None and isinstance(field.verbose_name, str):
            field.verbose_name = gettext_lazy(field.verbose_name)
        if _fixed_choices(field):
            field.choices = [
                (value, gettext_lazy(label) if isinstance(label, str) else label)
                for value, label in field.choices
            ]


def connect() -> None:
    models.signals.class_prepared.connect(translate_made_up_names, dispatch_uid="core.i18n")


def _admin_forms(site) -> Iterator[type]:
    for model, model_admin in site._registry.items():
        if is_ours(model):
            yield model_admin.form
            yield from (inline.form for inline in model_admin.inlines)


_made_up_labels: set[str] = set()


def admin_form_names(site) -> Iterator[str]:
    """The labels Django makes up for our admin forms' own fields (`task_title` → "Task title")."""
    translate_admin_form_labels(site)
    yield from _made_up_labels


def translate_admin_form_labels(site) -> None:
    """Give our admin forms' unlabelled fields their made-up label, translatable. Run once the
    admin has loaded its modules (a field's label is read when the form is shown)."""
    for form in _admin_forms(site):
        for name, field in form.base_fields.items():
            if field.label is None:
                _made_up_labels.add(pretty_name(name))
                field.label = gettext_lazy(pretty_name(name))
