"""Builds the main window with every page and wires the pages together (platform state, links between pages,
refreshes after a page changed shared data), apart from the event loop so tests can drive the whole app."""

from __future__ import annotations

from dataclasses import dataclass

from .certificates.page import CertificatesPage
from .connections.page import ConnectionsPage
from .fleet.page import FleetPage
from .keystore_editor.page import KeystoresPage
from .local_platform.page import LocalPlatformPage
from .local_platform_control import LocalPlatformControl
from .main_window import MainWindow
from .onboarding.page import OnboardingPage
from .pop.page import PopPage


@dataclass
class Workbench:
    """The window and its pages, for links between pages and for tests."""

    window: MainWindow
    platform: LocalPlatformControl
    connections: ConnectionsPage
    certificates: CertificatesPage
    keystores: KeystoresPage
    pop: PopPage
    local_platform: LocalPlatformPage
    onboarding: OnboardingPage
    fleet: FleetPage

    def inspect(self, area: str, detail: str) -> None:
        """Show a result on its page: a CA or certificate by name, a profile, or just the area."""
        self.window.show_area(area)
        if area == "Certificates":
            self.certificates.refresh()
            if detail:
                self.certificates.select_name(detail)
        elif area == "Connections":
            self.connections.profiles.refresh()
        elif area == "Keystores" and detail:
            self.keystores.open_file(detail, self.onboarding.keystore_password)

    def open_path(self, path: str) -> None:
        """A keystore given on the command line (a double-click in the file manager) opens in the editor."""
        self.window.show_area("Keystores")
        self.keystores.open_file(path)


def build_workbench(platform: LocalPlatformControl | None = None, first_run: bool = False) -> Workbench:
    """Every page over the same services, wired; the platform is started by the caller.

    A first run opens on the Onboarding page's welcome; later runs on the page the window was closed on. Closing
    the window stops the platform the app started or adopted.
    """
    platform = platform or LocalPlatformControl()
    connections = ConnectionsPage()
    bench = Workbench(
        window=MainWindow(), platform=platform, connections=connections, certificates=CertificatesPage(),
        keystores=KeystoresPage(),
        pop=PopPage(), local_platform=LocalPlatformPage(platform),
        onboarding=OnboardingPage(connections.profiles.store), fleet=FleetPage())
    window = bench.window
    for title, page in (("Onboarding", bench.onboarding), ("Connections", connections),
                        ("Certificates", bench.certificates), ("Keystores", bench.keystores),
                        ("Proof of Possession", bench.pop), ("Fleet", bench.fleet),
                        ("Local Platform", bench.local_platform)):
        window.set_page(title, page)
    if first_run:
        window.show_area("Onboarding")
    onboarding, pop, certificates = bench.onboarding, bench.pop, bench.certificates
    onboarding.finished.connect(lambda _report: connections.profiles.refresh())
    onboarding.finished.connect(lambda _report: pop.reload_cas())
    onboarding.finished.connect(lambda _report: certificates.refresh())
    onboarding.inspect.connect(bench.inspect)
    certificates.store_changed.connect(pop.reload_cas)
    connections.connection_count_changed.connect(window.set_connection_count)
    platform.state_changed.connect(lambda text: window.set_platform_status(text, platform.phase))

    def run_demo() -> None:
        window.show_area("Onboarding")
        bench.onboarding.demo()

    window.demo_requested.connect(run_demo)  # the sidebar's "Run the demo", from any page
    welcome = onboarding.welcome
    platform.state_changed.connect(lambda text: welcome.set_platform_state(platform.phase, text))
    welcome.set_platform_state(platform.phase, "not started")
    welcome.start_requested.connect(platform.start)
    welcome.demo_button.setProperty("primary", True)  # the first thing to click, in the theme's accent
    welcome.demo_button.style().polish(welcome.demo_button)
    onboarding.demo_panel.connected_changed.connect(window.set_demo_connected)
    window.closed.connect(platform.stop)  # Ctrl+Q, the window's close button, SIGTERM: the platform child stops
    window.refreshers.update({
        "Connections": lambda: connections.profiles.refresh(), "Certificates": certificates.refresh,
        "Proof of Possession": pop.reload_cas, "Local Platform": bench.local_platform.refresh_certificates})
    window.open_keystore = bench.keystores.toolbar.open.click
    window.add_close_guard(bench.keystores.maybe_close)
    for page in (connections, onboarding, pop, certificates, bench.keystores, bench.fleet):
        platform.ready.connect(page.set_local_platform)
    platform.demo_ready.connect(connections.profiles.add_demo_device)
    return bench
