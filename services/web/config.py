"""web's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import env_float, env_int, env_str, internal_secret, service_url

SERVICE = "web"
API_SERVICES = ("identity", "linking", "content", "audit")
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024 + 64 * 1024  # content's default limit + the form around the file


@dataclass(frozen=True)
class Settings:
    internal_secret: bytes  # verifies the gateway's identity headers, signs the calls to the services
    service_urls: dict[str, str]
    api_timeout: float  # seconds a page waits for a service before it shows the "unavailable" page
    public_url: str
    brand: str
    max_form_bytes: int
    # an upload form's whole body (content checks the file against its own limit)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            internal_secret=internal_secret(),
            service_urls={name: service_url(name) for name in API_SERVICES},
            api_timeout=env_float("WEB_API_TIMEOUT", 10.0),
            public_url=env_str("PORTAL_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            brand=env_str("WEB_BRAND", "Portal"),
            max_form_bytes=env_int("WEB_MAX_FORM_BYTES", 1024 * 1024),
            max_upload_bytes=env_int("WEB_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
        )
