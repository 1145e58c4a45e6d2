"""Security (安全): sign-in, sessions, API tokens, permissions."""
