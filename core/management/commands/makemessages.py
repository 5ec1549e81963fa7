"""Django's makemessages, also collecting `pgettext_noop(context, message)`.

scheduling.recurrence has no Django, so it marks its texts with module-local no-op markers:
`gettext_noop` (a keyword Django's command knows) and, for a word whose translation depends
on where it stands (an ordinal agrees with its noun), `pgettext_noop`, which it does not.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=pgettext_noop:1c,2"]
