"""Wizards that walk a user through the guide's certificate steps, each choice explained in the guide's words."""
