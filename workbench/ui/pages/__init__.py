"""One page per product area, shown by the main window's navigation."""
