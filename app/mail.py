"""Outgoing email: a `file` backend (one .eml per message) for local runs and tests,
an `smtp` backend (aiosmtplib) for production."""

import logging
import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from app.config import Settings, get_settings

logger = logging.getLogger(__name__)


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="consulta.local")
    message.set_content(body)
    return message


async def send_mail(to: str, subject: str, body: str) -> None:
    settings = get_settings()
    message = build_message(settings, to, subject, body)
    if settings.mail_backend == "file":
        folder = settings.resolved_mail_dir
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe_to = re.sub(r"[^A-Za-z0-9@._-]", "_", to)
        path = folder / f"{stamp}-{safe_to}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        logger.info("mail written to %s", path)
        return
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        start_tls=settings.smtp_starttls,
        timeout=30,
    )
