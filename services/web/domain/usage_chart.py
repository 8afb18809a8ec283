"""The usage trends chart: per day, the views and downloads the audit service publishes (groups of at
least k distinct people), as bar geometry for a server-rendered SVG and rows for its data table.

The API leaves out every group under k people, so a day without a published group is "suppressed or
none": fewer than k people, or no use at all — the two are indistinguishable on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

KINDS = ("view", "download")
WIDTH, HEIGHT = 720, 240  # the SVG's user units (it scales to the page width)
LEFT, BOTTOM, TOP = 44, 28, 12  # room for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # view | download | suppressed
    label: str  # what a screen reader hears (the SVG's <title>)


@dataclass
class Day:
    day: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def suppressed(self) -> bool:
        return not any(self.counts.values())


@dataclass(frozen=True)
class Chart:
    k: int
    days: list[Day]
    bars: list[Bar]
    ticks: list[tuple[float, float, str]]  # (x, y, label) along the axes
    top: int  # the largest daily count (the y axis' end)
    items: list[dict[str, Any]]  # the published groups, per item, for the second table
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: float = LEFT


def usage_chart(trends: dict[str, Any]) -> Chart:
    start, end = date.fromisoformat(trends["from"]), date.fromisoformat(trends["to"])
    days = {(start + timedelta(days=n)).isoformat(): Day((start + timedelta(days=n)).isoformat())
            for n in range((end - start).days + 1)}
    for item in trends.get("items", []):
        day = days.get(item["day"])
        if day is not None and item["kind"] in KINDS:
            day.counts[item["kind"]] += int(item["count"])
    ordered = list(days.values())
    top = max((max(d.counts.values()) for d in ordered), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(1, len(ordered))
    bar_w = max(1.0, slot * 0.4)
    bars: list[Bar] = []
    for n, d in enumerate(ordered):
        x = LEFT + n * slot + slot * 0.1
        if d.suppressed:
            # A short hatched mark: "no published figure", never drawn as a zero.
            bars.append(Bar(round(x, 2), HEIGHT - BOTTOM - 6, round(bar_w * 2, 2), 6, "suppressed",
                            f"{d.day}: suppressed (fewer than {trends.get('k')} people) or none"))
            continue
        for i, kind in enumerate(KINDS):
            h = plot_h * d.counts[kind] / top
            bars.append(Bar(round(x + i * bar_w, 2), round(HEIGHT - BOTTOM - h, 2), round(bar_w, 2), round(h, 2),
                            kind, f"{d.day}: {d.counts[kind]} {kind}s"))
    every = max(1, len(ordered) // 6)
    ticks: list[tuple[float, float, str]] = [(round(LEFT + n * slot + slot / 2, 2), HEIGHT - 8.0, d.day[5:])
                                             for n, d in enumerate(ordered) if n % every == 0]
    ticks += [(LEFT - 6.0, TOP + 4.0, str(top)), (LEFT - 6.0, float(HEIGHT - BOTTOM), "0")]
    items = sorted(trends.get("items", []), key=lambda i: (i["day"], i["kind"], i["item_id"]))
    return Chart(k=int(trends.get("k") or 0), days=ordered, bars=bars, ticks=ticks, top=top, items=items)
