"""Chinese typesetting of a rendered letter: full-width punctuation, no spaces around CJK.

The catalogue's Chinese sentences are built from pieces (a number, a
milestone, a date) joined the way the English ones are, which leaves
half-width commas and parentheses and spaces such as "签订 后 10 天" in a
Chinese letter. Chinese letters set punctuation full-width and put no space
between Chinese characters and numbers or Latin words; this module applies
those rules to the text of an HTML document, never to its markup or styles.
"""

import html
import re

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
FULL_WIDTH_PUNCTUATION = "，。：；！？（）、《》“”‘’【】"
_CJK_OR_PUNCT = f"[{CJK}{FULL_WIDTH_PUNCTUATION}]"
_HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}

_SPACE = r"[ \t\r\n\u00a0]+"
_SPACE_AFTER_CJK = re.compile(rf"(?<={_CJK_OR_PUNCT}){_SPACE}(?=\S)")
_SPACE_BEFORE_CJK = re.compile(rf"(?<=\S){_SPACE}(?={_CJK_OR_PUNCT})")
_PUNCT_AFTER_CJK = re.compile(rf"(?<=[{CJK}）])[ \t]*([,:;!?])[ \t]*")
_PUNCT_BEFORE_CJK = re.compile(rf"[ \t]*([,:;!?])[ \t]*(?=[{CJK}（])")
_FULL_STOP = re.compile(rf"(?<=[{CJK}）%])[ \t]*\.(?=\s|$)")
_PARENTHESES = re.compile(r"[ \t]*\(([^()]*)\)[ \t]*")
_PERCENT = re.compile(r"(?<=\d)[ \t]+%")
_TEXT_NODE = re.compile(r">([^<]+)<")
_HAS_CJK = re.compile(f"[{CJK}]")


def _parentheses(match: re.Match[str]) -> str:
    inner = match.group(1)
    before = match.string[: match.start()].rstrip()
    if _HAS_CJK.search(inner) or (before and _HAS_CJK.match(before[-1])):
        return f"（{inner.strip()}）"
    return match.group(0)


def chinese_text(text: str) -> str:
    """Set one run of Chinese text: full-width punctuation, no spaces beside CJK or around %."""
    if not _HAS_CJK.search(text):
        return _PERCENT.sub("%", text)
    text = _PARENTHESES.sub(_parentheses, text)
    text = _PUNCT_AFTER_CJK.sub(lambda m: _HALF_TO_FULL[m.group(1)], text)
    text = _PUNCT_BEFORE_CJK.sub(lambda m: _HALF_TO_FULL[m.group(1)], text)
    text = _FULL_STOP.sub("。", text)
    text = _PERCENT.sub("%", text)
    text = _SPACE_AFTER_CJK.sub("", text)
    return _SPACE_BEFORE_CJK.sub("", text)


def chinese_html(document: str) -> str:
    """Apply `chinese_text` to every text node of the document's body (markup is left alone)."""
    head, marker, body = document.partition("<body")
    if not marker:
        return document

    def node(match: re.Match[str]) -> str:
        text = match.group(1)
        if not text.strip():
            return match.group(0)
        leading = text[: len(text) - len(text.lstrip())]
        trailing = text[len(text.rstrip()) :]
        core = chinese_text(html.unescape(text.strip()))
        return f">{leading}{html.escape(core, quote=False)}{trailing}<"

    return head + marker + _TEXT_NODE.sub(node, body)
