"""Payload schemas, one module per producing service; every module here is loaded by the registry."""
