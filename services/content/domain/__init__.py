"""content's domain: plain objects and rules, no Flask, no SQLAlchemy."""
