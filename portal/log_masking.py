"""Keep portal tokens out of logs: `/p/<token>/` is written `/p/[token]/`.

Pure Python (no Django models): the logging configuration and gunicorn load
it before the apps are ready.
"""

import logging
import re

_TOKEN_IN_PATH = re.compile(r"(/p/)[A-Za-z0-9_\-%]+")
MASK = r"\1[token]"


def mask_portal_tokens(text: str) -> str:
    """Replace every token in a portal path of the text."""
    return _TOKEN_IN_PATH.sub(MASK, text)


class MaskPortalTokensFilter(logging.Filter):
    """A logging filter that masks portal tokens in the message and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format is left to the handler to report
            return True
        masked = mask_portal_tokens(message)
        if masked != message:
            record.msg = masked
            record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_portal_tokens(record.exc_text)
        request = getattr(record, "request", None)
        if request is not None and "/p/" in getattr(request, "path", ""):
            # Handlers that print the request (mail_admins) must not see the token either.
            record.request = None
        return True
