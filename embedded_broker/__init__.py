"""The local platform: an MQTT broker over mutual TLS plus a REST API that emulates the cloud platform's server side.

Public API (the only names `workbench` may use) is exported here as it lands.
"""

__version__ = "0.1.0"
