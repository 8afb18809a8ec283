"""Every string field of every registered event says what kind of data it holds; the log store seals what
is personal or free text (docs/audit.md, "Privacy requests")."""

from __future__ import annotations

from marshmallow import Schema, fields

from shared.events.classification import FREE_TEXT, PERSONAL, PLAIN, _missing, sealed_fields, unclassified


def test_every_string_field_of_every_registered_event_is_classified():
    assert unclassified() == [], "classify these with metadata=PERSONAL/FREE_TEXT/PSEUDONYM/PLAIN"


def test_a_new_unclassified_field_is_found_even_nested_or_in_a_list():
    class Inner(Schema):
        why = fields.String()

    class Payload(Schema):
        ok = fields.String(metadata=PLAIN)
        new_note = fields.String()
        tags = fields.List(fields.String())
        extra = fields.Dict()
        kept = fields.List(fields.Nested(Inner), metadata=PLAIN)
        count = fields.Integer()

    assert sorted(_missing(Payload())) == ["extra", "kept.why", "new_note", "tags"]
    assert list(_missing(Schema.from_dict({"a": fields.String(metadata=PERSONAL),
                                             "b": fields.String(metadata=FREE_TEXT)})())) == []


def test_the_log_store_seals_personal_data_and_free_text_only():
    assert sealed_fields("gateway.request.completed", 1) == {"path", "query", "user_agent", "client_ip"}
    assert sealed_fields("identity.user.registered", 1) == {"name", "email", "phone"}
    assert sealed_fields("identity.pii.accessed", 1) == {"reason"}  # a staff member's stated reason
    assert sealed_fields("identity.privacy.hold_placed", 1) == {"reason"}
    assert sealed_fields("content.query.posted", 1) == {"subject"}
    assert sealed_fields("content.complaint.status_changed", 1) == {"note"}
    assert sealed_fields("linking.link.rejected", 1) == {"reason"}
    assert sealed_fields("linking.company.created", 1) == set()  # a company's name is not a person's
