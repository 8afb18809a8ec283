"""The HTTP side of the privacy participant contract (``shared/events/privacy.py``): the checks every
participant's ``GET EXPORT_PATH`` makes before it reads anything."""

from __future__ import annotations

from shared.events.privacy import MAX_USER_ID, is_user_id
from shared.web.errors import Invalid
from shared.web.identity import require_system


def check_export_call(user_id: str) -> None:
    """Only another service may ask (the gateway never routes ``/internal``), and only about something
    that can be a user id (no stored id looks otherwise: keep it off the database). Any plausible id
    answers, with an empty section for someone unknown: never a 404 that would look like a service down."""
    require_system()
    if not is_user_id(user_id):
        raise Invalid("Not a user id.", fields={"user_id": [f"At most {MAX_USER_ID} characters, no NUL."]})
