"""Connection profiles.

The ConnectionProfile model, its JSON store (secrets in the keyring) and importers (MQTT.fx, MQTTX).
"""
