"""The emulated cloud platform: tenants, trusted certificates, PoP, registration, device auth, tokens, SmartREST."""
