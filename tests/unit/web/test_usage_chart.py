"""The usage chart's figures: per-day sums of the published groups, and days with none marked as
suppressed (never drawn as a zero)."""

from services.web.domain.usage_chart import HEIGHT, usage_chart


def trends(items):
    return {"from": "2026-03-01", "to": "2026-03-04", "k": 5, "items": items}


def test_days_sum_published_groups_and_the_rest_are_suppressed():
    chart = usage_chart(trends([
        {"day": "2026-03-02", "kind": "view", "item_id": "a", "count": 7, "people": 5},
        {"day": "2026-03-02", "kind": "view", "item_id": "b", "count": 3, "people": 6},
        {"day": "2026-03-02", "kind": "download", "item_id": "a", "count": 5, "people": 5},
        {"day": "2026-03-04", "kind": "download", "item_id": "b", "count": 2, "people": 5},
    ]))
    assert [d.day for d in chart.days] == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert [d.suppressed for d in chart.days] == [True, False, True, False]
    assert chart.days[1].counts == {"view": 10, "download": 5} and chart.top == 10
    suppressed = [b for b in chart.bars if b.kind == "suppressed"]
    assert [b.label.split(":")[0] for b in suppressed] == ["2026-03-01", "2026-03-03"]
    assert all("fewer than 5 people" in b.label for b in suppressed)
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.label == "2026-03-02: 10 views" and tallest.y + tallest.height == HEIGHT - 28
    assert len(chart.items) == 4


def test_everything_suppressed():
    chart = usage_chart(trends([]))
    assert all(d.suppressed for d in chart.days) and {b.kind for b in chart.bars} == {"suppressed"}
    assert chart.items == []
