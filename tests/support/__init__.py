"""Test support: real Redis servers, fresh databases, real processes."""
