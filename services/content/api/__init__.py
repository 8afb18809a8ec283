"""content's HTTP edge: blueprints and marshmallow schemas."""
