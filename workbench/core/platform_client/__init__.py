"""Platform client: the REST calls, SmartREST and device-token helpers shared by a real tenant and the local platform.

It is sans-IO: `requests` builds calls, `responses` reads answers, `workbench.services.platform_http` sends them.
"""
