"""identity's adapters: tables, repositories, password hashing, Redis counters, mail."""
