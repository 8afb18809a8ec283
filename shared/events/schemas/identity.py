"""Events the identity service produces."""

from marshmallow import Schema, fields

from shared.events.classification import FREE_TEXT, PERSONAL, PLAIN, PSEUDONYM
from shared.events.registry import event_schema


@event_schema("identity.user.registered", 1)
class UserRegisteredV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    name = fields.String(required=True, metadata=PERSONAL)
    email = fields.String(required=True, metadata=PERSONAL)
    phone = fields.String(load_default=None, allow_none=True, metadata=PERSONAL)


@event_schema("identity.session.started", 1)
class SessionStartedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    session_id = fields.String(required=True, metadata=PSEUDONYM)
    user_agent = fields.String(load_default="", metadata=PERSONAL)
    client_ip = fields.String(load_default="", metadata=PERSONAL)


@event_schema("identity.session.ended", 1)
class SessionEndedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    session_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(required=True, metadata=PLAIN)  # logout | revoked | expired | password_reset | ...


@event_schema("identity.login.failed", 1)
class LoginFailedV1(Schema):
    # The address only when it is an account's ("" otherwise: it may be a typo, someone else's, an erased
    # person's); email_digest, a keyed digest of the address, always. No password, ever.
    email = fields.String(required=True, metadata=PERSONAL)
    user_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    # unknown_email | bad_password | throttled | locked | ip_throttled
    reason = fields.String(required=True, metadata=PLAIN)
    client_ip = fields.String(load_default="", metadata=PERSONAL)
    email_digest = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)


@event_schema("identity.role.granted", 1)
class RoleGrantedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    role = fields.String(required=True, metadata=PLAIN)
    granted_by = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("identity.role.revoked", 1)
class RoleRevokedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    role = fields.String(required=True, metadata=PLAIN)
    revoked_by = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("identity.user.updated", 1)
class UserUpdatedV1(Schema):
    """The profile after a correction; ``changed`` names what changed. Projections copy the values."""

    user_id = fields.String(required=True, metadata=PSEUDONYM)
    changed = fields.List(fields.String(), required=True, metadata=PLAIN)
    name = fields.String(load_default=None, allow_none=True, metadata=PERSONAL)
    email = fields.String(load_default=None, allow_none=True, metadata=PERSONAL)
    phone = fields.String(load_default=None, allow_none=True, metadata=PERSONAL)


@event_schema("identity.email.verification_requested", 1)
class EmailVerificationRequestedV1(Schema):
    # purpose: verify_email (registration, resend) | change_email (a new address to confirm)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    purpose = fields.String(required=True, metadata=PLAIN)
    expires_at = fields.String(required=True, metadata=PLAIN)


@event_schema("identity.email.verified", 1)
class EmailVerifiedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    email = fields.String(required=True, metadata=PERSONAL)
    # set when the address changed
    previous_email = fields.String(load_default=None, allow_none=True, metadata=PERSONAL)


@event_schema("identity.password.reset_requested", 1)
class PasswordResetRequestedV1(Schema):
    # Only for existing accounts (the HTTP answer is the same either way; events are internal).
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    expires_at = fields.String(required=True, metadata=PLAIN)


@event_schema("identity.password.reset", 1)
class PasswordResetV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    sessions_ended = fields.Integer(required=True)


@event_schema("identity.password.changed", 1)
class PasswordChangedV1(Schema):
    """The owner changed their password (proving the current one); the other sessions ended."""

    user_id = fields.String(required=True, metadata=PSEUDONYM)
    sessions_ended = fields.Integer(required=True)


@event_schema("identity.session.reauthenticated", 1)
class SessionReauthenticatedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    session_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("identity.consent.changed", 1)
class ConsentChangedV1(Schema):
    """A cookie-consent record; for an anonymous browser ``user_id`` is null and ``browser_id`` set."""

    user_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    browser_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    analytics = fields.Boolean(required=True)
    policy_version = fields.String(load_default=None, allow_none=True, metadata=PLAIN)
    source = fields.String(required=True, metadata=PLAIN)  # browser | account | login_carry


@event_schema("identity.policy.published", 1)
class PolicyPublishedV1(Schema):
    version = fields.String(required=True, metadata=PLAIN)
    reduces_rights = fields.Boolean(required=True)
    seq = fields.Integer(load_default=None, allow_none=True)


@event_schema("identity.policy.accepted", 1)
class PolicyAcceptedV1(Schema):
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    version = fields.String(required=True, metadata=PLAIN)
    source = fields.String(load_default="explicit", metadata=PLAIN)  # registration | explicit


@event_schema("identity.pii.accessed", 1)
class PiiAccessedV1(Schema):
    """A staff read of someone else's personal data; the event's subject is the person read about."""

    accessor_id = fields.String(required=True, metadata=PSEUDONYM)
    subject_user_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(required=True, metadata=FREE_TEXT)
    # "fields" cannot be an attribute name on a marshmallow Schema (it holds the declared fields)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", load_default=list, metadata=PLAIN)


@event_schema("identity.mail.queued", 1)
class MailQueuedV1(Schema):
    """Mails were committed for sending; identity's worker sends them (the body stays in identity's DB:
    it may carry a single-use token, which must never reach the audit store)."""

    count = fields.Integer(required=True)
    template = fields.String(required=True, metadata=PLAIN)


@event_schema("identity.mail.sent", 1)
class MailSentV1(Schema):
    mail_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
    template = fields.String(required=True, metadata=PLAIN)
    policy_version = fields.String(load_default=None, allow_none=True, metadata=PLAIN)


# --- privacy requests (docs/internal-contracts.md "Privacy requests") ----------------------------
# Ids and summaries only: audit stores every event, and these must not copy anyone's data into it.


class _PrivacyRequestV1(Schema):
    request_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(required=True, metadata=PSEUDONYM)


@event_schema("identity.privacy.export_requested", 1)
class ExportRequestedV1(_PrivacyRequestV1):
    """identity's worker collects every service's section (it consumes this event itself)."""

    due_at = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # ISO 8601 UTC


@event_schema("identity.privacy.export_completed", 1)
class ExportCompletedV1(_PrivacyRequestV1):
    sections = fields.List(fields.String(), required=True, metadata=PLAIN)  # the services whose sections are in


@event_schema("identity.privacy.export_downloaded", 1)
class ExportDownloadedV1(_PrivacyRequestV1):
    bytes = fields.Integer(load_default=None, allow_none=True)


@event_schema("identity.privacy.erasure_requested", 1)
class ErasureRequestedV1(_PrivacyRequestV1):
    """identity has erased its own data; every other service erases what it holds and answers with
    ``<service>.privacy.erasure_completed`` (same ``request_id``)."""


@event_schema("identity.privacy.erasure_replayed", 1)
class ErasureReplayedV1(_PrivacyRequestV1):
    """A ledger entry re-applied after a restore (``portal privacy replay-erasures``): handle exactly
    like ``erasure_requested``, idempotently, and answer the same way."""


@event_schema("identity.privacy.erasure_withheld", 1)
class ErasureWithheldV1(_PrivacyRequestV1):
    hold_ids = fields.List(fields.String(), required=True, metadata=PSEUDONYM)  # the legal holds that stopped it


@event_schema("identity.privacy.erasure_completed", 1)
class ErasureCompletedV1(_PrivacyRequestV1):
    services = fields.List(fields.String(), required=True, metadata=PLAIN)  # every service that answered


@event_schema("identity.privacy.hold_placed", 1)
class HoldPlacedV1(Schema):
    hold_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    reason = fields.String(required=True, metadata=FREE_TEXT)
    until = fields.String(load_default=None, allow_none=True, metadata=PLAIN)  # ISO 8601 UTC; null: until released
    owner_id = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)


@event_schema("identity.privacy.hold_released", 1)
class HoldReleasedV1(Schema):
    hold_id = fields.String(required=True, metadata=PSEUDONYM)
    user_id = fields.String(required=True, metadata=PSEUDONYM)
    released_by = fields.String(load_default=None, allow_none=True, metadata=PSEUDONYM)
