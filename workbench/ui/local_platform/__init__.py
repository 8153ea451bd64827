"""The Local Platform page's parts: status, tenants and trust, devices with live data, the event log and "why?"."""
