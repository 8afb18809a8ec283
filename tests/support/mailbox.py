"""The mails a running platform sent (the .eml files of its file mail sender), for end-to-end tests:
the tokens in their links."""

from __future__ import annotations

import email
import re
from email import policy as email_policy

from tests.support.platform import Platform
from tests.support.processes import wait_until

TOKEN = re.compile(r"/(verify-email|reset-password)#token=([A-Za-z0-9_\-.~%]+)")


def mailed_tokens(platform: Platform, address: str, kind: str) -> list[str]:
    """Tokens of ``kind`` (``verify-email`` or ``reset-password``) in the .eml files sent to ``address``,
    oldest first."""
    tokens = []
    for path in sorted((platform.var_dir / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if str(msg["To"]).strip().lower() != address.lower():
            continue
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        tokens += [token for found, token in TOKEN.findall(text) if found == kind]
    return tokens


def wait_for_token(platform: Platform, address: str, kind: str, already: int = 0) -> str:
    tokens = wait_until(lambda: mailed_tokens(platform, address, kind)[already:], timeout=90, interval=1.0,
                        message=f"a {kind} mail to {address}")
    return tokens[-1]
