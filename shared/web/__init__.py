"""Web helpers shared by every Flask service: errors, request ids, identity headers, health, OpenAPI."""
