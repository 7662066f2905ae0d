"""Service functions: take a Session first, check the rules, let the caller commit."""
