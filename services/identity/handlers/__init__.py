"""identity's use cases; one function, one transaction (login takes two around the password check,
so the slow hash never runs while the database's write lock is held).

Split by resource: ``accounts`` (register, profile), ``sessions`` (login, logout, resolve, revoke),
``policy`` (versions and acceptances), ``staff`` (roles, need-to-know reads).
"""

from services.identity.handlers.accounts import get_profile, register
from services.identity.handlers.policy import accept_policy, current_policy, publish_policy
from services.identity.handlers.sessions import login, logout, resolve_session
from services.identity.handlers.staff import grant_role, revoke_role

__all__ = [
    "accept_policy",
    "current_policy",
    "get_profile",
    "grant_role",
    "login",
    "logout",
    "publish_policy",
    "register",
    "resolve_session",
    "revoke_role",
]
