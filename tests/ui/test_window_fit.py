"""Windows that fit: every page of the assembled window, in its fullest state (a finished demo, a running platform,
a connected MQTT 5 console with long topics, payload and every property, a certificate console with its token, an
open keystore, the certificate wizard), shown at 1280x800 and at 1024x768, keeps the window's size, needs no
horizontal scrolling, and has no control outside its parent, over a sibling or squeezed below its minimum."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QScrollArea, QTabWidget
from pytestqt.qtbot import QtBot

from tests.support.geometry import layout_problems, widest
from workbench.services.local_platform import LocalPlatformProcess
from workbench.ui.assembly import Workbench, build_workbench
from workbench.ui.console.console_widget import ConsoleWidget
from workbench.ui.local_platform_control import LocalPlatformControl
from workbench.ui.main_window import AREAS, MainWindow
from workbench.ui.wizards.certificate_wizard import CertificateWizard

ANY_PORTS = {"mqtt": 0, "mqtts": 0, "https": 0, "sandbox": 0}
LONG_TOPIC = "sensors/building-42/floor-7/room-713/thermostat-with-a-rather-long-name/temperature/celsius"
SIZES = (QSize(1280, 800), QSize(1024, 768))


def settle(qtbot: QtBot) -> None:
    """Let deferred layout work (wrapping rows asking for their height) run to its end."""
    for _ in range(4):
        QApplication.processEvents()
        qtbot.wait(10)


def check(qtbot: QtBot, window: MainWindow, size: QSize, state: str, vertical_scroll_ok: bool) -> list[str]:
    """What does not fit in the window's current page: a grown window, a page that scrolls sideways (or at all,
    where the size should fit it), controls outside their parent, overlapping or squeezed."""
    settle(qtbot)
    where = f"{state} at {size.width()}x{size.height()}"
    found = []
    if window.size() != size:
        found.append(f"{where}: the window grew to {window.width()}x{window.height()}; widest: "
                     + "; ".join(widest(window, 4)))
    page = window.pages.currentWidget()
    area = page.findChild(QScrollArea, "page_scroll")
    if area is not None and area.horizontalScrollBar().isVisible():
        found.append(f"{where}: the page scrolls sideways; widest: " + "; ".join(widest(area.widget(), 4)))
    if area is not None and area.verticalScrollBar().isVisible() and not vertical_scroll_ok:
        found.append(f"{where}: the page scrolls; its minimum is {area.widget().minimumSizeHint().height()} px high")
    found += [f"{where}: {problem}" for problem in layout_problems(window)]
    return found


def each_tab(tabs: QTabWidget) -> list[int]:
    """Every tab index of a tab widget (to show each in turn)."""
    return list(range(tabs.count()))


def fill_console(qtbot: QtBot, console: ConsoleWidget, filters: tuple[str, ...], topic: str) -> None:
    """Subscriptions, a long invalid JSON payload and every MQTT 5 property, published once and selected."""
    qtbot.waitUntil(console.publish_panel.publish_button.isEnabled, timeout=10_000)
    subscribe = console.subscribe_panel
    for topic_filter in filters:
        subscribe.filter_edit.setText(topic_filter)
        subscribe.subscribe()
    publish = console.publish_panel
    publish.topic_combo.setCurrentText(topic)
    publish.payload_edit.setPlainText('{"temperature": 21.5, "unit": "C", "note": "' + "x" * 400)  # invalid JSON
    properties = publish.publish_properties
    if properties is not None:
        properties.content_type.setText("application/json; charset=utf-8; profile=" + "long" * 20)
        properties.response_topic.setText(LONG_TOPIC + "/reply")
        properties.correlation.setText("correlation-" * 10)
        properties.expiry.setValue(3600)
        properties.user_properties.setText("; ".join(f"key{i}=value-{i}" for i in range(20)))
    publish.publish()
    view = console.message_view
    qtbot.waitUntil(lambda: view.model.rowCount() >= 1, timeout=10_000)
    view.table.selectRow(0)


def fullest(qtbot: QtBot, bench: Workbench) -> list[ConsoleWidget]:
    """The demo run to its end, a sandbox console and a certificate console filled, the demo keystore open."""
    window = bench.window
    bench.platform.start()
    qtbot.waitUntil(lambda: bench.pop.target.local is not None, timeout=30_000)
    window.show_area("Onboarding")
    with qtbot.waitSignal(bench.onboarding.finished, timeout=60_000):
        bench.onboarding.demo()
    qtbot.waitUntil(lambda: bench.onboarding.demo_panel.plot.point_count() >= 2, timeout=10_000)
    window.show_area("Connections")
    bench.connections.sandbox_button.click()
    sandbox = bench.connections.consoles()[-1]
    fill_console(qtbot, sandbox, (LONG_TOPIC + "/#", LONG_TOPIC + "/+/reply", LONG_TOPIC), LONG_TOPIC)
    profiles = bench.connections.profiles
    profiles.refresh()
    rows = [i for i in range(profiles.list.count()) if "(onboarded)" in profiles.list.item(i).text()]
    profiles.list.setCurrentRow(rows[0])
    profiles.connect_selected()
    device = bench.connections.consoles()[-1]
    fill_console(qtbot, device, ("s/ds", "s/e"), "s/us")
    assert device.token_panel is not None
    device.token_panel.request()
    qtbot.waitUntil(lambda: device.token_panel is not None and device.token_panel.token is not None, timeout=10_000)
    bench.onboarding.checklist.setCurrentItem(bench.onboarding.items["keystores"])
    bench.onboarding.link.click()  # the demo's device keystore opens in the editor
    assert bench.keystores.state is not None
    bench.keystores.table.selectRow(0)
    bench.certificates.refresh()
    bench.certificates.tree.setCurrentItem(bench.certificates.tree.topLevelItem(0))
    return [sandbox, device]


def test_every_page_fits_1280x800_and_1024x768(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                screenshot_dir: Path) -> None:
    bench = build_workbench(LocalPlatformControl(LocalPlatformProcess(ephemeral=True, ports=dict(ANY_PORTS)),
                                                 prepare_demo=False))
    window = bench.window
    qtbot.addWidget(window)
    window.resize(SIZES[0])
    window.show()
    qtbot.waitExposed(window)
    problems: list[str] = []
    try:
        for title, _ in AREAS:  # the first start: nothing runs yet
            window.show_area(title)
            problems += check(qtbot, window, SIZES[0], f"{title} (empty)", False)
        consoles = fullest(qtbot, bench)
        for size in SIZES:
            window.resize(size)
            scroll_ok = size != SIZES[0]  # at 1024x768 a page may scroll down, never sideways
            for title, _ in AREAS:
                window.show_area(title)
                problems += check(qtbot, window, size, title, scroll_ok)
                slug = title.lower().replace(" ", "-")
                window.grab().save(str(screenshot_dir / f"fit-{slug}-{size.width()}x{size.height()}.png"))
            window.show_area("Connections")
            for console in consoles:
                bench.connections.tabs.setCurrentWidget(console)
                for index in each_tab(console.tools):
                    console.tools.setCurrentIndex(index)
                    problems += check(qtbot, window, size, f"console {console.settings.client_id} "
                                      f"{console.tools.tabText(index)}", scroll_ok)
                tabs = getattr(console.publish_panel, "editor_tabs", None)  # MQTT 5: payload and properties
                if tabs is not None:
                    tabs.setCurrentIndex(1)
                    problems += check(qtbot, window, size, "MQTT 5 properties", scroll_ok)
                    tabs.setCurrentIndex(0)
            window.show_area("Local Platform")
            for index in each_tab(bench.local_platform.tabs):
                bench.local_platform.tabs.setCurrentIndex(index)
                problems += check(qtbot, window, size, f"Local Platform {bench.local_platform.tabs.tabText(index)}",
                                  scroll_ok)
            window.show_area("Proof of Possession")
            for index in each_tab(bench.pop.tabs):
                bench.pop.tabs.setCurrentIndex(index)
                problems += check(qtbot, window, size, f"PoP {bench.pop.tabs.tabText(index)}", scroll_ok)
    finally:
        bench.platform.stop()
    assert not problems, "\n".join(problems)


def test_certificate_wizard_fits_1024x768(qtbot: QtBot, tmp_path: Path) -> None:
    for kind in ("root", "intermediate", "device", "server", "csr"):
        wizard = CertificateWizard(tmp_path / "ws", kind)
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitExposed(wizard)
        problems: list[str] = []
        while True:
            settle(qtbot)
            hint = wizard.minimumSizeHint()
            if hint.width() > 1000 or hint.height() > 700:
                problems.append(f"{kind} wizard, page {wizard.currentId()}: needs {hint.width()}x{hint.height()}")
            problems += [f"{kind} wizard, page {wizard.currentId()}: {p}" for p in layout_problems(wizard)]
            page = wizard.currentPage()
            if page is None or page.isFinalPage() or not page.isComplete() or wizard.nextId() < 0:
                break
            wizard.next()
        assert not problems, "\n".join(problems)
        wizard.close()


