"""Uploaded text files (CSV imports, bank statements): bytes to text, or a clear refusal.

What spreadsheet programs write, and so what `text_file_decode` reads:

- UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8", most other tools);
- GB18030, which includes GBK and GB2312 (Excel's plain "CSV" on a Chinese Windows);
- UTF-16 with a byte-order mark, little or big endian (Excel's "Unicode text", which
  separates columns with tabs: see `csv_delimiter`).

Anything else (UTF-16 without a byte-order mark, Big5, Shift_JIS, Latin-1, a
workbook or another binary file, a NUL byte anywhere) is refused with a reason
and, where one can be pointed at, the line.
"""

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

UTF8 = "utf-8"
GB18030 = "gb18030"
UTF16 = "utf-16"
# The legacy encodings a file without a byte-order mark may be in. GB18030 is the
# only one read; the others are there so the detector can say "this is Big5", not
# "this is GB18030 read wrong" (a short text decodes in several of them: "Müller"
# in Windows-1252 is valid GB18030).
_LEGACY_CANDIDATES = {
    GB18030: "GB18030/GBK",
    "big5": "Big5",
    "cp932": "Shift_JIS",
    "euc_kr": "EUC-KR",
    "cp1252": "Windows-1252 (Western European)",
}
_FIRST_LINE = re.compile(r"\S[^\r\n]*")
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


class TextFileError(Exception):
    """The file cannot be read as text; `line` is None when no line is to blame."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class DecodedText:
    text: str
    # A Python codec name: "utf-8", "utf-8-sig", "gb18030" or "utf-16".
    encoding: str


def _save_as_hint() -> str:
    return _('save it as "CSV UTF-8" and import it again.')


def _line_of(data: bytes, offset: int, *, encoding: str) -> int:
    """The line of the byte at `offset`, the bytes before it being valid in the encoding."""
    return data[:offset].decode(encoding, errors="replace").count("\n") + 1


def _strict(data: bytes, encoding: str, *, what: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise TextFileError(
            _("the file is not valid %(encoding)s text from here on; %(hint)s")
            % {"encoding": what, "hint": _save_as_hint()},
            line=_line_of(data, error.start, encoding=encoding),
        ) from None


def _legacy(data: bytes, *, first_bad_line: int) -> str:
    """Text without a byte-order mark that is not UTF-8: GB18030 if the detector agrees."""
    matches = from_bytes(data, cp_isolation=list(_LEGACY_CANDIDATES))
    least_chaos = min((match.chaos for match in matches), default=None)
    plausible = [match.encoding for match in matches if match.chaos == least_chaos]
    if GB18030 in plausible:
        return _strict(data, GB18030, what="GB18030")
    if plausible:
        raise TextFileError(
            _(
                "the file looks like %(encoding)s text, which is not read here (UTF-8, "
                "GB18030/GBK or UTF-16 with a byte-order mark are); %(hint)s"
            )
            % {"encoding": _LEGACY_CANDIDATES[plausible[0]], "hint": _save_as_hint()},
            line=first_bad_line,
        )
    raise TextFileError(
        _(
            "the file is not text in an encoding read here (UTF-8, GB18030/GBK or UTF-16 "
            "with a byte-order mark); %(hint)s"
        )
        % {"hint": _save_as_hint()},
        line=first_bad_line,
    )


def text_file_decode(*, data: bytes) -> DecodedText:
    """Decode an uploaded text file, detecting its encoding; refuse binary and NUL bytes.

    A byte-order mark decides (UTF-8 or UTF-16; UTF-32 is refused). Without one,
    valid UTF-8 is UTF-8; otherwise charset-normalizer must find the bytes
    plausible as GB18030 (rather than Big5, Shift_JIS or EUC-KR), and they must
    then decode as GB18030 to the last byte. The text must hold no NUL character:
    databases refuse it, and it means a binary file or UTF-16 without a
    byte-order mark. Raises `TextFileError` with the line where one is to blame.
    """
    if data.startswith(_WORKBOOK_SIGNATURES):
        raise TextFileError(
            _("the file is a spreadsheet workbook or another binary file, not CSV text; %(hint)s")
            % {"hint": _save_as_hint()}
        )
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise TextFileError(
            _("the file is UTF-32 text, which is not read here; %(hint)s")
            % {"hint": _save_as_hint()}
        )
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        decoded = DecodedText(_strict(body, UTF8, what="UTF-8"), "utf-8-sig")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if len(data) % 2:
            raise TextFileError(
                _("the file is cut short: UTF-16 text has an even number of bytes; %(hint)s")
                % {"hint": _save_as_hint()}
            )
        decoded = DecodedText(_strict(data, UTF16, what="UTF-16"), UTF16)
    else:
        try:
            decoded = DecodedText(data.decode(UTF8), UTF8)
        except UnicodeDecodeError as error:
            first_bad_line = _line_of(data, error.start, encoding=UTF8)
            decoded = DecodedText(_legacy(data, first_bad_line=first_bad_line), GB18030)
    nul = decoded.text.find("\x00")
    if nul >= 0:
        raise TextFileError(
            _(
                "the line holds a NUL byte: this is a binary file or UTF-16 text without a "
                "byte-order mark, not CSV text; %(hint)s"
            )
            % {"hint": _save_as_hint()},
            line=decoded.text.count("\n", 0, nul) + 1,
        )
    return decoded


def csv_delimiter(*, text: str) -> str:
    """Return the delimiter of CSV text from its first non-blank line, the header: a tab
    if it has tabs and no comma (Excel's "Unicode text"), else a comma."""
    first = _FIRST_LINE.search(text)
    header = first.group() if first else ""
    return "\t" if "\t" in header and "," not in header else ","
