"""The live console's domain: the bounded message buffer, filters and exports (no Qt)."""
