"""identity: accounts, sessions, consent, policy versions and staff roles."""
