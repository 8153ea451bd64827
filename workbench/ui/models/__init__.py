"""Qt item models over core data: the console messages, profiles, keystore entries."""
