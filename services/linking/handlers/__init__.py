"""linking's use cases; one function, one transaction (events committed with the change)."""
