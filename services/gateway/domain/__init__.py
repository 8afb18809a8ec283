"""The gateway's plain rules: routing, trust, CSRF and policy decisions, rate-limit arithmetic."""
