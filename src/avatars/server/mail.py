"""Password-reset delivery by e-mail (SMTP settings ``AVATAR_SMTP_*``).

A token is never written to a log: whoever reads logs could take the account over. Without
SMTP there is no delivery; an admin issues a token with ``avatars users reset-password``
(:func:`avatars.server.services.accounts.request_password_reset` says so in the log).
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
    """Send ``token`` to ``email`` in the background (nothing happens without SMTP)."""
    if not settings.smtp_host:
        log.error("no SMTP server configured (AVATAR_SMTP_HOST): the reset e-mail was not sent")
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
