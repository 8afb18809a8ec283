"""content's use cases; one function, one transaction (an upload: a check, the bytes, then the record)."""
