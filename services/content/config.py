"""content's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.config import CommonSettings, ConfigError, env_int, env_str, var_dir

SERVICE = "content"

# What editors may attach to an item: documents, images, archives, video. Everything is served as an
# attachment with ``nosniff``, so a browser never renders a collateral inline whatever it claims to be.
DEFAULT_ALLOWED_TYPES = (
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "video/mp4",
)


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    max_upload_bytes: int
    allowed_upload_types: frozenset[str]
    storage_backend: str
    storage_dir: Path
    complaint_due_days: int
    # How long a complaint is kept after its case is closed once the complainant asked for erasure
    # (legal claims, the data-protection authority); see docs/content.md "Privacy requests".
    complaint_retention_days: int = 1095

    @classmethod
    def from_env(cls) -> Settings:
        max_upload = env_int("CONTENT_MAX_UPLOAD_BYTES", 100 * 1024 * 1024)
        if max_upload <= 0:
            raise ConfigError("CONTENT_MAX_UPLOAD_BYTES must be positive")
        raw_types = env_str("CONTENT_ALLOWED_TYPES", ",".join(DEFAULT_ALLOWED_TYPES))
        allowed = frozenset(t.strip().lower() for t in raw_types.split(",") if t.strip())
        backend = env_str("CONTENT_STORAGE", "local")
        if backend != "local":
            raise ConfigError(f"CONTENT_STORAGE={backend!r}: only 'local' is implemented")
        due_days = env_int("CONTENT_COMPLAINT_DUE_DAYS", 30)
        if due_days <= 0:
            raise ConfigError("CONTENT_COMPLAINT_DUE_DAYS must be positive")
        retention_days = env_int("CONTENT_COMPLAINT_RETENTION_DAYS", 1095)
        if retention_days <= 0:
            raise ConfigError("CONTENT_COMPLAINT_RETENTION_DAYS must be positive")
        return cls(
            common=CommonSettings.from_env(SERVICE),
            max_upload_bytes=max_upload,
            allowed_upload_types=allowed,
            storage_backend=backend,
            storage_dir=Path(env_str("CONTENT_STORAGE_DIR", str(var_dir() / "collaterals"))),
            complaint_due_days=due_days,
            complaint_retention_days=retention_days,
        )
