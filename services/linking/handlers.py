"""linking's use cases; one function, one transaction."""
