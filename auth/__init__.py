"""Partner identity: scopes per partner type, the OAuth2 server, token verification, permissions."""
