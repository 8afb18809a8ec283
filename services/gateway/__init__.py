"""gateway: routes /api/<service>/... to the services, checks sessions, signs identity headers,
rate limits, sets request ids and spools one access event per request."""
