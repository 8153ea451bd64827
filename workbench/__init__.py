"""Device Onboarding Workbench: certificates, keystores, PoP and an MQTT console for X.509 device onboarding."""

__version__ = "0.1.0"
