"""Parts of the Proof of Possession page."""
