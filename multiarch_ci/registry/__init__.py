"""Registry client: the distribution HTTP API, auth and credentials."""
