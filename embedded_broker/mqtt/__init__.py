"""The MQTT protocol engine: platform-agnostic codec, connections, sessions, topic trie, retained messages."""
