"""The creditor's details from settings, in the language of the letter or email that prints them."""

from django.conf import settings
from django.utils import translation


def creditor_setting(name: str, *, language: str | None = None) -> str:
    """A creditor setting in the given language: `<NAME>_ZH` for Chinese, else `<NAME>`.

    A Chinese value left unset falls back to the English one (settings do the
    same), so a letter never lacks the creditor's name.
    """
    language = language or translation.get_language() or "en"
    english = getattr(settings, name, "") or ""
    if language.startswith("zh"):
        return getattr(settings, f"{name}_ZH", "") or english
    return english
