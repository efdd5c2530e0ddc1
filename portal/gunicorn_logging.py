"""gunicorn's access log without portal tokens (`--logger-class` of the web command)."""

from gunicorn.glogging import Logger

from portal.log_masking import mask_portal_tokens


class MaskingLogger(Logger):
    """Mask `/p/<token>/` in every field of the access log line (request, path, referer)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: mask_portal_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
