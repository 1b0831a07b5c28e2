"""Password-reset delivery: by e-mail when SMTP is configured, else to the server log.

Without SMTP the token is logged (at WARNING, so that it shows with default settings) for the
administrator to pass on: that is the documented way to reset a password on the embedded
setup. It is the only secret this server ever logs.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage

from avatars.server.config import Settings

log = logging.getLogger(__name__)


def _send(settings: Settings, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send the password reset e-mail to %s: %s", message["To"], exc)


def deliver_reset_token(settings: Settings, email: str, token: str, minutes: float) -> None:
    if not settings.smtp_host:
        log.warning(
            "password reset requested for %s: token %s (valid %g minutes; no SMTP configured, "
            "so it is only written here)",
            email,
            token,
            minutes,
        )
        return
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email
    message["Subject"] = "Reset your Avatar password"
    message.set_content(
        f"Someone asked to reset the password of {email} on the Avatar platform.\n\n"
        f"Your reset token is: {token}\nIt is valid for {minutes:g} minutes and can be used once.\n"
        "If you did not ask for it, ignore this message.\n"
    )
    # Sending may take seconds: never hold the request (or reveal timing) for it.
    threading.Thread(target=_send, args=(settings, message), daemon=True).start()
