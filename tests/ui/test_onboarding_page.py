"""The Onboarding page runs the guide against the local platform to the last step, saves a connection profile,
explains a failing step with its causes, and resumes with the same CA."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from embedded_broker import BackgroundLocalPlatform, PlatformSettings
from workbench.core.profiles import ProfileStore
from workbench.services.local_platform import LocalPlatformInfo
from workbench.ui.onboarding.page import OnboardingPage


@pytest.fixture
def info() -> Iterator[LocalPlatformInfo]:
    with BackgroundLocalPlatform(PlatformSettings(mqtt_port=0, mqtts_port=0, https_port=0, sys_interval=0)) as lp:
        assert lp.local is not None and lp.local.server_ca_path is not None and lp.local.admin_password
        yield LocalPlatformInfo(dict(lp.ports), lp.local.server_ca_path, lp.local.admin_password)


def test_onboarding_page_runs_to_the_last_step(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                               info: LocalPlatformInfo, tmp_path: Path, screenshot_dir: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    page = OnboardingPage(store, tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    page.run()
    qtbot.waitUntil(lambda: page.status.text().startswith("✗"), timeout=10_000)
    assert "not running yet" in page.status.text()
    page.set_local_platform(info)
    page.device_id.setText("gui-onboarded")
    with qtbot.waitSignal(page.finished, timeout=30_000) as done:
        page.run()
    assert done.args[0].ok, page.status.text()
    assert page.status.text() == "✓ Device gui-onboarded is onboarded; its profile is in Connections."
    assert all(page.items[key].text(0).startswith("✓") for key in page.items)
    assert [p.name for p in store.load_all().profiles] == ["gui-onboarded (onboarded)"]
    page.checklist.setCurrentItem(page.items["pop"])
    assert "openssl dgst -sha256 -sign caKey.pem" in page.equivalent.toPlainText()
    _assert_equivalents_match_the_run(page)
    page.checklist.setCurrentItem(page.items["keystores"])
    assert "keytool -importcert" in page.equivalent.toPlainText() and page.link.isEnabled()
    with qtbot.waitSignal(page.inspect) as shown:
        page.link.click()
    assert shown.args[0] == "Keystores" and shown.args[1].endswith("gui-onboarded/deviceKeystore.p12")
    assert Path(shown.args[1]).exists()
    page.grab().save(str(screenshot_dir / "onboarding-page.png"))
    first_ca = page.ca_name
    # a failing step shows its causes; "Run again" keeps the same CA
    page.target.kind.setCurrentIndex(1)
    page.target.url.setText(info.rest_url)
    page.target.user.setText("t100/admin")
    page.target.password.setText("wrong")
    page.target.server_ca.setText(str(info.server_ca))
    with qtbot.waitSignal(page.finished, timeout=30_000) as failed:
        page.run()
    assert not failed.args[0].ok and page.items["upload"].text(0).startswith("✗")
    assert page.items["upload"].childCount() >= 1 and page.ca_name == first_ca


def test_demo_mode_ends_on_live_data_and_a_token_countdown(qtbot: QtBot, qasync_loop: asyncio.AbstractEventLoop,
                                                           info: LocalPlatformInfo, tmp_path: Path,
                                                           screenshot_dir: Path) -> None:
    page = OnboardingPage(ProfileStore(tmp_path / "profiles"), tmp_path / "ws", tmp_path / "out")
    qtbot.addWidget(page)
    page.resize(1200, 860)
    page.show()
    page.set_local_platform(info)
    started = time.monotonic()
    with qtbot.waitSignal(page.finished, timeout=60_000) as done:
        page.demo()
    assert done.args[0].ok and page.device_id.text().startswith("demo-thermostat-")
    assert page.ca_name == "ACME Smart Buildings Root CA"  # sensible names for a customer
    assert time.monotonic() - started < 60  # the budget for a customer demo
    assert page.demo_panel.isVisible()
    qtbot.waitUntil(lambda: page.demo_panel.device is not None and page.demo_panel.device.sent >= 3, timeout=10_000)
    assert "left · renewed at half-life in" in page.demo_panel.countdown.text()
    assert "measurement(s) sent, last" in page.demo_panel.sent.text()
    qtbot.waitUntil(lambda: page.demo_panel.plot.point_count() >= 3)
    page.grab().save(str(screenshot_dir / "onboarding-demo.png"))
    with qtbot.waitSignal(page.demo_panel.stopped, timeout=10_000):
        page.demo_panel.stop()
    assert page.demo_panel.countdown.text() == "stopped"


def _assert_equivalents_match_the_run(page: OnboardingPage) -> None:
    """The CA and device equivalents name the key type the run made (EC P-256), never the guide's RSA 4096."""
    page.checklist.setCurrentItem(page.items["ca"])
    ca = page.equivalent.toPlainText()
    assert "genrsa" not in ca and "4096" not in ca, ca
    assert "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -out caKey.pem" in ca
    assert f"CN={page.ca_name}'" in ca and "-key caKey.pem" in ca
    page.checklist.setCurrentItem(page.items["device"])
    device = page.equivalent.toPlainText()
    assert device.splitlines()[0] == "openssl ecparam -name prime256v1 -genkey -noout -out deviceKey.pem", device
    assert f"openssl req -new -key deviceKey.pem -subj '/CN={page.device_id.text()}'" in device
    assert "openssl x509 -req -in device.csr -CA caCert.pem -CAkey caKey.pem" in device


@pytest.mark.parametrize("key", ["EC P-256", "EC P-384", "RSA 2048", "Ed25519"])
def test_equivalent_key_commands_make_the_key_type_used(key: str, tmp_path: Path) -> None:
    """Each shown key line, run by openssl, makes a key of the type the step used (the guide's commands work)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from workbench.core.pki.keys import describe_key
    from workbench.ui.onboarding.steps import KeyFacts, equivalent

    facts = KeyFacts(ca_key=key, device_key=key, ca_subject="/O=ACME/CN=Test CA")
    ca_lines = equivalent("ca", facts, url="https://x", device="dev-1").splitlines()
    device_lines = equivalent("device", facts, url="https://x", device="dev-1").splitlines()
    assert "-aes256" in ca_lines[0] and "-subj '/O=ACME/CN=Test CA'" in ca_lines[1]
    subprocess.run(device_lines[0], shell=True, cwd=tmp_path, check=True, capture_output=True)
    made = load_pem_private_key((tmp_path / "deviceKey.pem").read_bytes(), None)
    assert describe_key(made) == key
    subprocess.run(device_lines[1], shell=True, cwd=tmp_path, check=True, capture_output=True)  # the req line
    assert (tmp_path / "device.csr").exists()


def test_the_time_column_stays_inside_the_checklist(qtbot) -> None:  # type: ignore[no-untyped-def]
    """At the window's usual width every column of the checklist is visible; long results elide with a tooltip."""
    page = OnboardingPage()
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    qtbot.waitExposed(page)
    header = page.checklist.header()
    viewport = page.checklist.viewport().width()
    assert header.sectionViewportPosition(2) + header.sectionSize(2) <= viewport
