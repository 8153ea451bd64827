"""A page for an area whose tools land in a later release: it says what will be there, with no dead buttons."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class PlaceholderPage(QWidget):
    """Title and a description of what the area will hold."""

    def __init__(self, title: str, description: str, available_now: str = "") -> None:
        super().__init__()
        self.title = title
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<h2>{title}</h2>"))
        body = QLabel(description)
        body.setWordWrap(True)
        layout.addWidget(body)
        if available_now:
            now = QLabel(f"<p><b>Available today on the command line:</b></p><pre>{available_now}</pre>")
            now.setWordWrap(True)
            layout.addWidget(now)
        layout.addStretch(1)
