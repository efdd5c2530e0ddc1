"""HTML to PDF. The only module that imports WeasyPrint.

Letters carry their stylesheet inline, so the fetcher accepts `data:` URLs
only: a document rendered here can never reach the network or the file system,
whatever text a customer record holds.
"""

import logging

import weasyprint
from weasyprint.text import ffi as weasyprint_ffi
from weasyprint.urls import FatalURLFetchingError, URLFetcher

logger = logging.getLogger(__name__)

PDF_CONTENT_TYPE = "application/pdf"


class PdfRenderError(Exception):
    """WeasyPrint could not turn the document into a PDF; the message says why."""


def fast_subsetter_available() -> bool:
    """Whether HarfBuzz's subsetter is loaded (without it fonts subset 20x slower)."""
    return weasyprint_ffi.harfbuzz_subset is not None


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """Render a complete HTML document to PDF bytes, or raise PdfRenderError."""
    if not html.strip():
        raise PdfRenderError("The document to render is empty.")
    try:
        document = weasyprint.HTML(
            string=html,
            base_url=base_url,
            url_fetcher=URLFetcher(allowed_protocols={"data"}, fail_on_errors=True),
        )
        pdf = document.write_pdf()
    # WeasyPrint raises many unrelated types; a refused URL is a BaseException.
    except (Exception, FatalURLFetchingError) as error:
        logger.exception("PDF rendering failed")
        raise PdfRenderError(f"PDF rendering failed: {type(error).__name__}: {error}") from error
    if not pdf:
        raise PdfRenderError("PDF rendering produced no output.")
    return pdf
