"""Email backends that fail the way mail servers do, for the sender's tests."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend


class FlakyBackend(EmailBackend):
    """Server down for the first `failures` sends, then delivers to mail.outbox."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


class RefusingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {"ap@customer.example": (550, b"5.1.1 mailbox unavailable")}
        )


class BouncingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPDataError(554, b"5.7.1 message rejected")


class GreylistingBackend(EmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPDataError(451, b"4.7.1 try again later")


class PaymentLandsBackend(SmtpBackend):
    """Real SMTP; after its first message goes out, runs `after_first` once (a payment
    recorded while the sender is half-way through its work)."""

    after_first = None

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        hook, PaymentLandsBackend.after_first = PaymentLandsBackend.after_first, None
        if hook is not None:
            hook()
        return sent
