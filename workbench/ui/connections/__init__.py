"""The Connections area: connection profiles and one live console per open connection."""
