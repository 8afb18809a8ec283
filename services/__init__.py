"""The platform's services: identity, linking, content, audit and the gateway. None imports another."""
