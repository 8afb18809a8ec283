"""The e2e fixtures: one whole platform per test module (starting it is most of the cost on two cores), whose
clock a test may move (``clock``, tests/support/clock.py)."""

from tests.support.clock import clocked_platform, moved_clock, offset_file  # noqa: F401 - fixtures
