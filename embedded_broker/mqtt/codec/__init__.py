"""MQTT 3.1, 3.1.1 and 5.0 codec: packet types, encoder, decoder, and the one reason-code table."""
