from pytestqt.qtbot import QtBot

from workbench.ui.main_window import AREAS, MainWindow


def test_main_window_lists_every_area_and_switches_pages(qtbot: QtBot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    assert [window.navigation.item(i).text() for i in range(window.navigation.count())] == [a for a, _ in AREAS]
    window.navigation.setCurrentRow(2)
    assert window.pages.currentIndex() == 2
