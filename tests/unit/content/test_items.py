from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.content.domain.errors import InvalidInput, NotFound
from services.content.domain.memberships import Membership
from services.content.handlers import items
from tests.unit.content.conftest import ANON, EDITOR, MEMBER, OTHER, USER

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def catalogue(state, uow):
    state.memberships[("co-a", MEMBER.user_id)] = Membership("co-a", MEMBER.user_id, True, T0)
    state.memberships[("co-b", OTHER.user_id)] = Membership("co-b", OTHER.user_id, True, T0)
    made = {
        "public": items.create_item(uow(EDITOR), {"title": "P", "visibility": "public"}),
        "users": items.create_item(uow(EDITOR), {"title": "U", "visibility": "users"}),
        "company_a": items.create_item(uow(EDITOR), {"title": "A", "visibility": "company", "company_id": "co-a"}),
        "company_b": items.create_item(uow(EDITOR), {"title": "B", "visibility": "company", "company_id": "co-b"}),
        "draft": items.create_item(uow(EDITOR), {"title": "D", "visibility": "public", "status": "unpublished"}),
    }
    state.events.clear()
    return made


def visible_titles(uow, who) -> set[str]:
    return {i.title for i in items.list_items(uow(who), {}, 100, None).items}


def test_create_item_records_who_and_emits_created_with_the_request_id(state, uow):
    item = items.create_item(uow(EDITOR), {"title": "Hello", "body": "x", "visibility": "users"})
    assert item.created_by == EDITOR.user_id and item.status == "published" and item.company_id is None
    [event] = state.events
    assert event.type == "content.item.created" and event.correlation_id == "req-editor"
    assert event.payload["item_id"] == item.id and event.actor == EDITOR.user_id


@pytest.mark.parametrize("data, field", [
    ({"title": "x", "visibility": "company"}, "company_id"),
    ({"title": "x", "visibility": "public", "company_id": "co-a"}, "company_id"),
    ({"title": "x", "visibility": "users", "company_id": "co-a"}, "company_id"),
])
def test_company_id_is_required_exactly_for_company_items(state, uow, data, field):
    with pytest.raises(InvalidInput) as err:
        items.create_item(uow(EDITOR), data)
    assert field in err.value.fields
    assert state.items == {} and state.events == []


def test_each_caller_lists_exactly_what_they_may_read(catalogue, uow):
    assert visible_titles(uow, ANON) == {"P"}
    assert visible_titles(uow, USER) == {"P", "U"}
    assert visible_titles(uow, MEMBER) == {"P", "U", "A"}
    assert visible_titles(uow, OTHER) == {"P", "U", "B"}
    assert visible_titles(uow, EDITOR) == {"P", "U", "A", "B", "D"}


def test_reading_an_item_is_recorded_with_its_id(catalogue, state, uow):
    found = items.view_item(uow(MEMBER), catalogue["company_a"].id)
    assert found.item.title == "A"
    [event] = state.events
    assert event.type == "content.item.viewed" and event.actor == MEMBER.user_id
    assert event.payload["item_id"] == catalogue["company_a"].id and event.correlation_id == "req-member"


@pytest.mark.parametrize("who, key", [
    (ANON, "users"), (ANON, "company_a"), (USER, "company_a"), (OTHER, "company_a"), (MEMBER, "company_b"),
    (USER, "draft"), (MEMBER, "draft"),
])
def test_an_item_the_caller_may_not_read_does_not_exist_for_them(catalogue, state, uow, who, key):
    with pytest.raises(NotFound):
        items.view_item(uow(who), catalogue[key].id)
    assert state.events == []


def test_a_removed_membership_takes_company_items_away(catalogue, state, uow):
    state.memberships[("co-a", MEMBER.user_id)] = Membership("co-a", MEMBER.user_id, False, T0)
    with pytest.raises(NotFound):
        items.view_item(uow(MEMBER), catalogue["company_a"].id)
    assert "A" not in visible_titles(uow, MEMBER)


def test_unpublishing_hides_an_item_from_readers_but_not_from_editors(catalogue, state, uow):
    item_id = catalogue["public"].id
    found = items.update_item(uow(EDITOR), item_id, {"status": "unpublished"})
    assert found.item.status == "unpublished" and found.item.updated_by == EDITOR.user_id
    [event] = state.events
    assert event.type == "content.item.updated" and event.payload["changed"] == ["status"]
    with pytest.raises(NotFound):
        items.view_item(uow(ANON), item_id)
    assert items.view_item(uow(EDITOR), item_id).item.title == "P"


def test_leaving_company_visibility_drops_the_company(catalogue, uow):
    found = items.update_item(uow(EDITOR), catalogue["company_a"].id, {"visibility": "users"})
    assert found.item.visibility == "users" and found.item.company_id is None
    with pytest.raises(InvalidInput):
        items.update_item(uow(EDITOR), catalogue["public"].id, {"visibility": "company"})


def test_an_update_that_changes_nothing_emits_nothing(catalogue, state, uow):
    items.update_item(uow(EDITOR), catalogue["public"].id, {"title": "P"})
    assert state.events == []


def test_updating_a_missing_item_is_not_found(uow):
    with pytest.raises(NotFound):
        items.update_item(uow(EDITOR), "missing", {"title": "x"})


def test_pages_follow_the_cursor_without_gaps_or_repeats(state, uow):
    made = {items.create_item(uow(EDITOR), {"title": f"t{n}", "visibility": "public"}).id for n in range(7)}
    seen, cursor = [], None
    while True:
        page = items.list_items(uow(ANON), {}, 3, cursor)
        seen += [i.id for i in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 7 and set(seen) == made
