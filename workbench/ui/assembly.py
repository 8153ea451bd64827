"""Builds the main window with every page and wires the pages together (platform state, links between pages,
refreshes after a page changed shared data), apart from the event loop so tests can drive the whole app."""

from __future__ import annotations

from dataclasses import dataclass

from .certificates.page import CertificatesPage
from .connections.page import ConnectionsPage
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


def build_workbench(platform: LocalPlatformControl | None = None) -> Workbench:
    """Every page over the same services, wired; the platform is started by the caller."""
    platform = platform or LocalPlatformControl()
    connections = ConnectionsPage()
    bench = Workbench(
        window=MainWindow(), platform=platform, connections=connections, certificates=CertificatesPage(),
        keystores=KeystoresPage(),
        pop=PopPage(), local_platform=LocalPlatformPage(platform),
        onboarding=OnboardingPage(connections.profiles.store))
    window = bench.window
    for title, page in (("Connections", connections), ("Certificates", bench.certificates),
                        ("Keystores", bench.keystores),
                        ("Proof of Possession", bench.pop), ("Local Platform", bench.local_platform),
                        ("Onboarding", bench.onboarding)):
        window.set_page(title, page)
    onboarding, pop, certificates = bench.onboarding, bench.pop, bench.certificates
    onboarding.finished.connect(lambda _report: connections.profiles.refresh())
    onboarding.finished.connect(lambda _report: pop.reload_cas())
    onboarding.finished.connect(lambda _report: certificates.refresh())
    onboarding.inspect.connect(bench.inspect)
    certificates.store_changed.connect(pop.reload_cas)
    connections.connection_count_changed.connect(window.set_connection_count)
    platform.state_changed.connect(window.set_platform_status)
    window.add_close_guard(bench.keystores.maybe_close)
    for page in (connections, onboarding, pop, certificates, bench.keystores):
        platform.ready.connect(page.set_local_platform)
    platform.demo_ready.connect(connections.profiles.add_demo_device)
    return bench
