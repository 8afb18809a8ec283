"""web: the portal's pages (server-rendered HTML), served at ``/`` through the gateway."""
