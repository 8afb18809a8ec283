"""audit's domain: plain rules for the chain, checkpoints, cursors, trends; no Flask, no SQLAlchemy."""
