"""Infrastructure every service imports: settings, database, events, bus, web helpers.

Never business rules or models, and never an import from ``services``.
"""
