"""Verifying the chain against its signed checkpoints and retention records."""

from __future__ import annotations

from collections.abc import Callable

from services.audit.adapters.uow import AuditUnitOfWork
from services.audit.domain.verify import VerifyResult, verify_chain

UowFactory = Callable[..., AuditUnitOfWork]


def verify(uow_factory: UowFactory, signing_key: bytes) -> VerifyResult:
    """One consistent snapshot of the store (rows appended meanwhile are not half seen)."""
    with uow_factory(write=False, snapshot=True) as uow:
        chain = uow.chain
        return verify_chain(chain.iter_rows(), key=signing_key, checkpoints=chain.checkpoints(),
                            head=chain.head(), retention=chain.latest_retention())


def check(uow_factory: UowFactory, signing_key: bytes) -> VerifyResult:
    """Verify on request of a person (HTTP), and leave an ``audit.integrity.checked`` event behind."""
    result = verify(uow_factory, signing_key)
    with uow_factory() as uow:
        uow.emit("audit.integrity.checked", subject="audit:chain", payload={
            "ok": result.ok, "checked": result.checked, "first_broken": result.first_broken})
        uow.commit()
    return result
