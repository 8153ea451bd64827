"""All Qt code.

The main window, pages, models, widgets, dialogs and wizards. Nothing outside this package imports Qt.
"""
