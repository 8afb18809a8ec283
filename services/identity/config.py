"""identity's settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.identity.adapters import passwords
from shared.config import CommonSettings, env_float, env_int, env_str, var_dir
from shared.events.privacy import PARTICIPANTS

SERVICE = "identity"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    session_idle_seconds: int  # a session unused this long ends (idle timeout)
    session_absolute_seconds: int  # a session ends this long after login, used or not
    reauth_seconds: int  # how long a password re-entry counts as "recent" for sensitive changes
    # argon2id parameters (an OWASP setting: adapters/passwords.py); lowered only by tests that hash a lot
    argon2_memory_kib: int
    argon2_time_cost: int
    argon2_parallelism: int
    throttle_free_failures: int  # consecutive failures allowed before delays start
    throttle_max_delay: int  # the longest delay between two guesses on one account (seconds)
    throttle_max_failures: int  # consecutive failures after which the guessers are locked out for a while
    throttle_lock_seconds: int  # how long that lock lasts (then it lifts by itself)
    device_cookie_seconds: int  # how long a browser that logged in stays a known device
    ip_failure_limit: int  # failed logins per IP per window, across accounts
    ip_failure_window: int
    verify_token_seconds: int
    reset_token_seconds: int
    public_url: str  # where links in mails point (the gateway)
    smtp_url: str  # empty: mails are written as .eml files under mail_dir
    mail_from: str
    mail_dir: Path
    # privacy requests (docs/privacy.md)
    privacy_services: tuple[str, ...]  # the participants (shared/events/privacy.py), besides identity
    privacy_timeout: float  # seconds for one service's export answer
    export_link_seconds: int  # how long a download_url works
    export_keep_seconds: int  # how long a completed export stays downloadable before it is purged
    erasure_ledger_file: Path  # the ledger's copy outside the database (survives a database restore)
    reset_limit: int = 3  # reset mails per address per window; more requests are answered alike, mail nothing
    reset_window: int = 3600
    reset_min_seconds: float = 0.25  # every reset request is answered after at least this long, account or not
    register_min_seconds: float = 0.1  # every registration is answered after at least this long, taken or not

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            common=CommonSettings.from_env(SERVICE),
            session_idle_seconds=env_int("IDENTITY_SESSION_IDLE_SECONDS", 30 * 60),
            session_absolute_seconds=env_int("IDENTITY_SESSION_ABSOLUTE_SECONDS", 12 * 3600),
            reauth_seconds=env_int("IDENTITY_REAUTH_SECONDS", 5 * 60),
            argon2_memory_kib=env_int("IDENTITY_ARGON2_MEMORY_KIB", passwords.MEMORY_KIB),
            argon2_time_cost=env_int("IDENTITY_ARGON2_TIME_COST", passwords.TIME_COST),
            argon2_parallelism=env_int("IDENTITY_ARGON2_PARALLELISM", passwords.PARALLELISM),
            throttle_free_failures=env_int("IDENTITY_THROTTLE_FREE_FAILURES", 5),
            throttle_max_delay=env_int("IDENTITY_THROTTLE_MAX_DELAY", 15 * 60),
            throttle_max_failures=env_int("IDENTITY_THROTTLE_MAX_FAILURES", 100),
            throttle_lock_seconds=env_int("IDENTITY_THROTTLE_LOCK_SECONDS", 3600),
            device_cookie_seconds=env_int("IDENTITY_DEVICE_COOKIE_SECONDS", 180 * 24 * 3600),
            ip_failure_limit=env_int("IDENTITY_IP_FAILURE_LIMIT", 100),
            ip_failure_window=env_int("IDENTITY_IP_FAILURE_WINDOW", 15 * 60),
            verify_token_seconds=env_int("IDENTITY_VERIFY_TOKEN_SECONDS", 48 * 3600),
            reset_token_seconds=env_int("IDENTITY_RESET_TOKEN_SECONDS", 3600),
            public_url=env_str("PORTAL_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            smtp_url=_optional("SMTP_URL"),
            mail_from=env_str("PORTAL_MAIL_FROM", "portal@localhost"),
            mail_dir=var_dir() / "mail",
            privacy_services=PARTICIPANTS,
            privacy_timeout=env_float("IDENTITY_PRIVACY_TIMEOUT", 10.0),
            export_link_seconds=env_int("IDENTITY_EXPORT_LINK_SECONDS", 15 * 60),
            export_keep_seconds=env_int("IDENTITY_EXPORT_KEEP_SECONDS", 7 * 24 * 3600),
            erasure_ledger_file=Path(env_str("IDENTITY_ERASURE_LEDGER_FILE",
                                             str(var_dir() / "privacy" / "erasure-ledger.jsonl"))),
            reset_limit=env_int("IDENTITY_RESET_LIMIT", 3),
            reset_window=env_int("IDENTITY_RESET_WINDOW", 3600),
            reset_min_seconds=env_float("IDENTITY_RESET_MIN_SECONDS", 0.25),
            register_min_seconds=env_float("IDENTITY_REGISTER_MIN_SECONDS", 0.1),
        )


def _optional(name: str) -> str:
    return os.environ.get(name, "").strip()

