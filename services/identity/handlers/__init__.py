"""identity's use cases; one function, one transaction (login takes two around the password check,
so the slow hash never runs while the database's write lock is held).

Split by resource:
- ``accounts``: register, the owner's profile;  ``profile``: re-authentication and corrections;
- ``reauth``: the recent-password check the weightiest requests need;  ``admin``: administrators' pages;
- ``email``: mailed tokens (verification, address changes, password reset);
- ``sessions``: login, logout, resolve, revoke;  ``consent``: cookie choices;
- ``policy``: versions and acceptances;  ``staff``: roles and need-to-know reads;
- ``privacy_exports``, ``privacy_erasures``: the person's requests;
- ``notifications``: other services' outcomes told to the person;  ``mail``: outbound mail, sent from the outbox;
- ``ports``: the types they depend on.
The names re-exported below are the ones the views use most; the rest are imported from their module.
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
