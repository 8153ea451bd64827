"""Long-running work for the UI and CLI: MQTT sessions, the local platform process, background jobs."""
