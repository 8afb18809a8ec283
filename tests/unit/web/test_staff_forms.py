"""The staff pages' own logic: the complaint case form turned into content's PATCH body, and the upload
body passed on to content (exact length, streamed, the bytes unchanged)."""

from __future__ import annotations

import io

from werkzeug.datastructures import MultiDict
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from services.web.adapters.uploads import MultipartFile
from services.web.api.staff_support import case_changes


def test_the_case_form_sends_only_what_was_chosen():
    body, errors = case_changes(MultiDict({"status": "acknowledged", "owner_id": "me", "due_date": "2031-02-03",
                                           "note": "  Checking.  "}), "u-sam")
    assert errors == {}
    assert body == {"status": "acknowledged", "owner_id": "u-sam", "due_at": "2031-02-03T23:59:59+00:00",
                    "note": "Checking."}
    body, errors = case_changes(MultiDict({"owner_id": "u-other", "status": "", "due_date": ""}), "u-sam")
    assert (body, errors) == ({"owner_id": "u-other"}, {})


def test_the_case_form_says_what_is_wrong_before_asking_content():
    _, errors = case_changes(MultiDict({"due_date": "31/02/2031"}), "u-sam")
    assert errors["due_date"] == ["Enter a date such as 2030-01-31."] and errors["_form"]
    _, errors = case_changes(MultiDict({"note": "only a note"}), "u-sam")
    assert errors == {"_form": ["Choose a new status, an owner or a due date."]}


def parse(body: MultipartFile) -> tuple[str | None, str | None, bytes]:
    decoder = MultipartDecoder(body.boundary.encode())
    raw = b"".join(body)
    assert len(raw) == len(body)
    decoder.receive_data(raw)
    decoder.receive_data(None)
    name = filename = None
    data = b""
    while not isinstance(event := decoder.next_event(), Epilogue | NeedData):
        if isinstance(event, File):
            name, filename = event.name, event.filename
        elif isinstance(event, Data):
            data += event.data
    return name, filename, data


def test_the_upload_is_passed_on_as_one_file_part_with_its_exact_length():
    payload = bytes(range(256)) * 1000  # several chunks
    body = MultipartFile(io.BytesIO(payload), 'price "list".pdf', "application/pdf")
    assert body.content_type == f"multipart/form-data; boundary={body.boundary}"
    name, filename, data = parse(body)
    assert name == "file" and data == payload
    assert filename == 'price "list".pdf'  # sent as %22 (as browsers do), so a quote cannot end the header


def test_an_empty_file_is_still_a_well_formed_body():
    assert parse(MultipartFile(io.BytesIO(b""), "empty.txt", "text/plain")) == ("file", "empty.txt", b"")
