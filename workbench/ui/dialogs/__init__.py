"""Dialogs: problems, crashes, and the workbench's modal forms."""
