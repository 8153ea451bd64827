"""Platform client: REST calls to a real tenant or the local platform, SmartREST and device-token helpers."""
