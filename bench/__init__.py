"""Benchmarks: `make bench` runs every bench_*.py module (see __main__.py)."""


def print_report(name: str, value: float, unit: str, baseline_name: str, baseline_value: float) -> None:
    """``report`` for a benchmark run alone (``python bench/bench_<name>.py``)."""
    ratio = f"x{value / baseline_value:.2f}" if baseline_value else "-"
    print(f"{name}: {value} {unit} | {baseline_name}: {baseline_value} {unit} | {ratio}")
