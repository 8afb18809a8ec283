"""Event schemas stay backward compatible with what was published (shared/events/contracts)."""

from marshmallow import Schema, fields

from shared.events.compat import check_against_contracts, describe, incompatibilities


class Old(Schema):
    user_id = fields.String(required=True)
    name = fields.String()
    tags = fields.List(fields.String())


def test_published_contracts_are_still_honoured():
    assert check_against_contracts() == []


def test_adding_an_optional_field_is_compatible():
    class New(Old):
        phone = fields.String(load_default=None)

    assert incompatibilities(describe(Old), describe(New)) == []


def test_removed_field_breaks():
    class New(Schema):
        user_id = fields.String(required=True)
        tags = fields.List(fields.String())

    assert incompatibilities(describe(Old), describe(New)) == ["name: removed or renamed"]


def test_changed_type_breaks():
    class New(Old):
        name = fields.Integer()

    assert incompatibilities(describe(Old), describe(New)) == ["name: type changed String -> Integer"]


def test_changed_item_type_breaks():
    class New(Old):
        tags = fields.List(fields.Integer())

    assert incompatibilities(describe(Old), describe(New)) == ["tags[]: type changed String -> Integer"]


def test_new_required_field_breaks():
    class New(Old):
        email = fields.String(required=True)

    assert incompatibilities(describe(Old), describe(New)) == ["email: new required field"]


def test_optional_becoming_required_breaks():
    class New(Old):
        name = fields.String(required=True)

    assert incompatibilities(describe(Old), describe(New)) == ["name: became required"]


def test_every_registered_type_is_published():
    """A new event type must be snapshotted (``portal events snapshot``) before it ships."""
    import json

    from shared.events.compat import CONTRACTS_DIR, current_contracts

    published = {}
    for file in CONTRACTS_DIR.glob("*.json"):
        published.update(json.loads(file.read_text()))
    missing = [key for described in current_contracts().values() for key in described if key not in published]
    assert missing == []
