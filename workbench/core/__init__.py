"""Domain logic shared by the CLI and the UI: no Qt, no threads, no sockets."""
