"""The REST API over the platform (aiohttp): routes, Basic/Bearer/client-certificate auth, the error envelope."""
