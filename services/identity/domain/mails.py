"""The mails identity sends: subject and plain-text body per template (no personal data beyond the
recipient's own name; links carry single-use tokens, so bodies are wiped once sent).

Links land on the portal's pages. A token travels after ``#`` (the URL fragment): browsers never send
the fragment to a server, so it never reaches the gateway's access log; the page posts it instead."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Draft:
    template: str
    subject: str
    body: str


def verify_email(public_url: str, name: str, token: str, hours: int) -> Draft:
    return Draft("verify_email", "Confirm your email address", (
        f"Hello {name},\n\nplease confirm that this address belongs to you:\n\n"
        f"  {public_url}/verify-email#token={token}\n\n"
        f"(or POST /api/identity/email/verify with {{\"token\": \"{token}\"}})\n\n"
        f"The link works once and expires in {hours} hours. If you did not register, ignore this mail.\n"))


def change_email(public_url: str, name: str, token: str, hours: int) -> Draft:
    return Draft("change_email", "Confirm your new email address", (
        f"Hello {name},\n\nyou asked to use this address for your portal account. Confirm it here:\n\n"
        f"  {public_url}/verify-email#token={token}\n\n"
        f"(or POST /api/identity/email/verify with {{\"token\": \"{token}\"}})\n\n"
        f"The link works once and expires in {hours} hours. Until then your old address stays in use.\n"))


def email_change_notice(name: str, new_email: str) -> Draft:
    return Draft("email_change_notice", "Your email address is about to change", (
        f"Hello {name},\n\nsomeone signed in to your account asked to change its email address to "
        f"{new_email}. It changes only once the new address is confirmed.\n"
        "If this was not you, change your password and end your other sessions.\n"))


def registration_attempt(public_url: str, name: str) -> Draft:
    """To an address that already has an account, instead of telling the registering browser so."""
    return Draft("registration_attempt", "Someone tried to register with your address", (
        f"Hello {name},\n\nsomeone just tried to create a portal account with this address, which already has "
        "one: yours. Nothing was changed.\n\n"
        f"If it was you, log in: {public_url}/login\n"
        f"Forgot your password? Ask for a reset link here: {public_url}/forgot-password\n\n"
        "If it was not you, you need not do anything.\n"))


def password_reset(public_url: str, name: str, token: str, minutes: int) -> Draft:
    return Draft("password_reset", "Reset your password", (
        f"Hello {name},\n\nto choose a new password, open:\n\n"
        f"  {public_url}/reset-password#token={token}\n\n"
        f"(or POST /api/identity/password-resets/confirm with {{\"token\": \"{token}\", \"password\": \"...\"}})\n\n"
        f"The link works once and expires in {minutes} minutes. A new password ends all your other sessions.\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"))


def policy_notice(public_url: str, name: str, version: str, reduces_rights: bool) -> Draft:
    extra = ("This version changes what you agreed to: you will be asked to accept it before you go on "
             "using the portal.\n" if reduces_rights else "")
    return Draft("policy_notice", f"Our privacy policy changed (version {version})", (
        f"Hello {name},\n\nwe published version {version} of our privacy policy:\n\n"
        f"  {public_url}/policy/versions/{version}\n\n{extra}"))


# --- other services' outcomes, told to the person concerned ----------------------

def link_approved(public_url: str, name: str, company_name: str) -> Draft:
    return Draft("link_approved", f"You are now linked to {company_name}", (
        f"Hello {name},\n\na manager of {company_name} approved your request: your account is now linked to "
        f"the company, and you can see its company-only content.\n\n"
        f"  {public_url}/companies\n\n"
        "You can leave the company at any time.\n"))


def link_rejected(public_url: str, name: str, company_name: str, reason: str | None) -> Draft:
    why = f"The manager gave this reason:\n\n  {reason}\n\n" if reason else ""
    return Draft("link_rejected", f"Your request to join {company_name} was declined", (
        f"Hello {name},\n\na manager of {company_name} declined your request to be linked to the company.\n\n"
        f"{why}Your contact details stay visible to the company's managers only as part of that request's "
        f"record; you may ask again.\n\n  {public_url}/companies\n"))


_COMPLAINT_STEPS = {
    "content.complaint.received": ("complaint_received", "We received your complaint",
                                   "we received your complaint and opened a case for it."),
    "content.complaint.status_changed": ("complaint_status_changed", "Your complaint's status changed",
                                         "the status of your complaint changed."),
    "content.complaint.followed_up": ("complaint_followed_up", "We answered your complaint",
                                      "we answered your complaint; you can read the answer in the portal."),
    "content.complaint.due_date_changed": ("complaint_due_date_changed", "Your complaint's due date changed",
                                           "the date by which we will answer your complaint changed."),
}
COMPLAINT_EVENTS = tuple(_COMPLAINT_STEPS)


def complaint_update(public_url: str, name: str, event_type: str, query_id: str, status: str,
                     due_at: str | None) -> Draft:
    template, subject, what = _COMPLAINT_STEPS[event_type]
    due = f"We will answer by {due_at[:10]}.\n" if due_at and status not in ("resolved", "closed") else ""
    return Draft(template, subject, (
        f"Hello {name},\n\n{what}\n\nReference: {query_id}\nStatus: {status}\n{due}\n"
        f"  {public_url}/queries/{query_id}\n"))
