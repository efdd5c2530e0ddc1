"""The webhook signature (Stripe's scheme) and the robots' signatures: one home for each."""

import base64
import hashlib
import hmac
import secrets
import urllib.parse

SIGNATURE_HEADER = "Huikuan-Signature"


def webhook_secret_new() -> str:
    """A new signing secret for a subscription."""
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}" keyed with the secret>`."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_signature_valid(
    *, secret: str, header: str, body: bytes, now: int, tolerance: int = 300
) -> bool:
    """Check a `Huikuan-Signature` header as a receiver does (the README's snippet)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def dingtalk_signed_url(*, url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed robot URL: `&timestamp=…&sign=…`, the sign being the URL-encoded
    base64 of HMAC-SHA256 over "{timestamp}\\n{secret}" keyed with the secret."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()).decode()
    separator = "&" if "?" in url else "?"
    query = urllib.parse.urlencode({"timestamp": str(timestamp_ms), "sign": sign})
    return f"{url}{separator}{query}"


def feishu_sign(*, secret: str, timestamp: int) -> str:
    """Feishu's robot signature: base64 of HMAC-SHA256 keyed with "{timestamp}\\n{secret}" over
    an empty message (sent as `timestamp` and `sign` in the body)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
