from __future__ import annotations

import hashlib

import pytest

from services.content.domain.collaterals import ByteRange
from services.content.domain.errors import InvalidInput, NotFound, UnsupportedUploadType, UploadTooLarge
from services.content.handlers import collaterals, items
from services.content.handlers.collaterals import DownloadPlan, Upload, UploadPolicy
from tests.unit.content.conftest import ANON, EDITOR, USER

POLICY = UploadPolicy(max_bytes=1000, allowed_types=frozenset({"application/pdf", "text/plain"}))


def chunks(data: bytes, size: int = 7):
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.fixture
def item(uow):
    return items.create_item(uow(EDITOR), {"title": "Brochure", "visibility": "users"})


def upload(uow, storage, item_id, data=b"%PDF-1.7 hello", content_type="application/pdf", name="b.pdf"):
    return collaterals.upload_collateral(uow(EDITOR), storage, item_id, Upload(name, content_type, chunks(data)),
                                         POLICY)


def test_upload_stores_the_bytes_with_their_size_and_hash(item, state, storage, uow):
    data = b"%PDF-1.7 " + bytes(range(256)) * 3
    c = upload(uow, storage, item.id, data, "application/pdf; name=x", "../../etc/Brochure 2030.pdf")
    assert c.size == len(data) and c.sha256 == hashlib.sha256(data).hexdigest()
    assert c.filename == "Brochure 2030.pdf" and c.content_type == "application/pdf"
    assert storage.blobs[c.storage_key] == data
    event = state.events[-1]
    assert event.type == "content.collateral.uploaded" and event.payload["sha256"] == c.sha256
    assert event.payload["item_id"] == item.id and event.correlation_id == "req-editor"


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(item, state, storage, uow):
    with pytest.raises(UploadTooLarge):
        upload(uow, storage, item.id, b"x" * 1001, "text/plain")
    assert storage.blobs == {} and state.collaterals == {}


def test_exactly_the_limit_is_fine(item, storage, uow):
    assert upload(uow, storage, item.id, b"x" * 1000, "text/plain").size == 1000


def test_a_type_outside_the_allow_list_is_refused_before_any_byte_is_read(item, storage, uow):
    def never():
        raise AssertionError("read the body")
        yield b""

    with pytest.raises(UnsupportedUploadType):
        collaterals.upload_collateral(uow(EDITOR), storage, item.id, Upload("x.html", "text/html", never()), POLICY)
    assert storage.blobs == {}


def test_an_empty_file_is_refused_and_removed(item, storage, uow):
    with pytest.raises(InvalidInput):
        upload(uow, storage, item.id, b"", "text/plain")
    assert storage.blobs == {}


def test_upload_to_a_missing_item_is_not_found(storage, uow):
    with pytest.raises(NotFound):
        upload(uow, storage, "nope")
    assert storage.blobs == {}


def test_an_item_that_vanishes_during_the_upload_leaves_no_file_behind(item, state, storage, uow):
    def body():
        yield b"first"
        del state.items[item.id]  # deleted by someone else while the bytes stream
        yield b"second"

    with pytest.raises(NotFound):
        collaterals.upload_collateral(uow(EDITOR), storage, item.id, Upload("a.txt", "text/plain", body()), POLICY)
    assert storage.blobs == {} and state.collaterals == {}


def whole(_c):
    return DownloadPlan(send_body=True)


def test_a_reader_downloads_and_the_download_is_recorded(item, state, storage, uow):
    c = upload(uow, storage, item.id, b"0123456789", "text/plain")
    state.events.clear()
    found = collaterals.download_collateral(uow(USER), storage, c.id, whole)
    assert b"".join(found.body) == b"0123456789"
    [event] = state.events
    assert event.type == "content.collateral.downloaded" and event.actor == USER.user_id
    assert event.payload == {"collateral_id": c.id, "item_id": item.id, "size": 10, "bytes_sent": 10,
                             "range": None}


def test_a_range_sends_only_its_bytes(item, state, storage, uow):
    c = upload(uow, storage, item.id, b"0123456789", "text/plain")
    state.events.clear()
    found = collaterals.download_collateral(uow(USER), storage, c.id,
                                            lambda _c: DownloadPlan(True, ByteRange(2, 4)))
    assert b"".join(found.body) == b"234"
    assert state.events[0].payload["bytes_sent"] == 3 and state.events[0].payload["range"] == "bytes 2-4/10"


def test_not_modified_and_head_send_nothing_and_record_nothing(item, state, storage, uow):
    c = upload(uow, storage, item.id, b"0123456789", "text/plain")
    state.events.clear()
    for plan in (DownloadPlan(False, not_modified=True), DownloadPlan(False)):
        found = collaterals.download_collateral(uow(USER), storage, c.id, lambda _c, p=plan: p)
        assert found.body is None
    assert state.events == []


def test_a_file_of_an_item_the_caller_may_not_read_does_not_exist_for_them(item, state, storage, uow):
    c = upload(uow, storage, item.id, b"secret", "text/plain")
    state.events.clear()
    with pytest.raises(NotFound):
        collaterals.download_collateral(uow(ANON), storage, c.id, whole)
    with pytest.raises(NotFound):
        collaterals.download_collateral(uow(USER), storage, "missing", whole)
    assert state.events == []


def test_a_missing_stored_file_is_not_found_not_a_crash(item, state, storage, uow):
    c = upload(uow, storage, item.id, b"gone", "text/plain")
    storage.blobs.clear()
    state.events.clear()
    with pytest.raises(NotFound):
        collaterals.download_collateral(uow(USER), storage, c.id, whole)
    assert state.events == []


def test_removing_a_file_deletes_its_row_and_bytes_and_records_it(item, state, storage, uow):
    c = upload(uow, storage, item.id)
    collaterals.remove_collateral(uow(EDITOR), storage, c.id)
    assert state.collaterals == {} and storage.blobs == {}
    event = state.events[-1]
    assert event.type == "content.collateral.removed" and event.subject == f"collateral:{c.id}"
    assert event.payload == {"collateral_id": c.id, "item_id": item.id, "filename": "b.pdf"}


def test_removing_an_unknown_file_is_not_found_and_records_nothing(item, state, storage, uow):
    before = len(state.events)
    with pytest.raises(NotFound):
        collaterals.remove_collateral(uow(EDITOR), storage, "no-such-file")
    assert len(state.events) == before


def test_a_file_the_storage_cannot_delete_is_still_removed_and_left_to_the_sweep(item, state, storage, uow):
    c = upload(uow, storage, item.id)

    def broken(key):
        raise OSError("disk says no")

    storage.delete = broken
    collaterals.remove_collateral(uow(EDITOR), storage, c.id)
    assert state.collaterals == {} and c.storage_key in storage.blobs
