"""Outgoing email over SMTP (reminder fallback here, digests later).

Without an SMTP host in development, mail is noted in the log instead: the subject only,
never the recipient or the body.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from app.core.settings import Settings

log = logging.getLogger("between.mail")


class MailNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    # Optional HTML alternative (the digest); the plain text is always there too.
    html: str | None = None


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        return message

    def send(self, mail: Mail) -> None:
        """Send one message; raises smtplib/OSError on failure, MailNotConfigured without SMTP."""
        settings = self.settings
        if not settings.smtp_host:
            if settings.is_development:
                # Not the address: logs never carry a person's email (docs/operations.md).
                log.info("mail not sent (no SMTP host configured): subject=%r", mail.subject)
                return
            raise MailNotConfigured("BETWEEN_SMTP_HOST is not set")
        message = self.message(mail)
        timeout = settings.smtp_timeout_seconds
        if settings.smtp_security == "ssl":
            with smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            ) as smtp:
                self._deliver(smtp, message)
            return
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            self._deliver(smtp, message)

    def _deliver(self, smtp: smtplib.SMTP, message: EmailMessage) -> None:
        if self.settings.smtp_user:
            smtp.login(self.settings.smtp_user, self.settings.smtp_password)
        smtp.send_message(message)

    async def send_async(self, mail: Mail) -> None:
        await asyncio.to_thread(self.send, mail)
