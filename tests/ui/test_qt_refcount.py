"""Guards the Qt binding itself: PySide6 6.12.0 on Python 3.11 dropped a reference to None on every void call
(`QWidget.update()`, `QLabel.setText()`), so any long GUI session died with "Fatal Python error: none_dealloc"."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel

pytestmark = pytest.mark.gui


def test_void_qt_calls_keep_none_alive(qtbot) -> None:
    label = QLabel("x")
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.update()
        label.setText("y")
    # Other threads may take or drop a few references meanwhile; the broken binding loses 4,000.
    assert sys.getrefcount(None) - before > -100, "this PySide6 release drops references to None (see pyproject)"
