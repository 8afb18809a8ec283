from shared.bus.publisher import group_by_type


def ev(i, t):
    return t, {"event_id": str(i), "type": t}


def test_groups_consecutive_types_and_keeps_order():
    events = [ev(1, "a.b.c"), ev(2, "a.b.c"), ev(3, "x.y.z"), ev(4, "a.b.c")]
    groups = group_by_type(events, 10)
    assert [(t, [e["event_id"] for e in b]) for t, b in groups] == [
        ("a.b.c", ["1", "2"]), ("x.y.z", ["3"]), ("a.b.c", ["4"])]


def test_cuts_batches_at_the_limit():
    groups = group_by_type([ev(i, "a.b.c") for i in range(7)], 3)
    assert [len(b) for _, b in groups] == [3, 3, 1]
