"""The Certificates page shows the CA store as a tree (root → intermediate → issued) with status colours, finds a
certificate by CN or serial, and shows every field of the selected one."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from workbench.core.pki.keys import KeySpec
from workbench.core.pki.names import parse_dn
from workbench.core.pki.profiles import device_profile
from workbench.core.pki.store import CAStore
from workbench.ui.pages.certificates_page import CertificatesPage


def test_tree_search_and_details(qtbot: QtBot, tmp_path: Path, screenshot_dir: Path) -> None:
    workspace = tmp_path / "ws"
    with CAStore(workspace) as store:
        root = store.init_root(parse_dn("CN=Tree Root CA"), b"pw", key_spec=KeySpec.EC_P256)
        inter = store.create_intermediate(root.name, b"pw", parse_dn("CN=Tree Issuing CA"), b"pw",
                                          key_spec=KeySpec.EC_P256)
        for cn in ("tree-dev-1", "tree-dev-2"):
            key = KeySpec.EC_P256.generate()
            issued = store.issue(inter.name, b"pw", parse_dn(f"CN={cn}"), key.public_key(), device_profile())
        store.revoke(inter.name, issued.serial)
    page = CertificatesPage(workspace)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    top = page.tree.topLevelItem(0)
    assert page.tree.topLevelItemCount() == 1 and top.text(0) == root.name and top.text(1) == "valid"
    issuing = top.child(0)
    assert top.childCount() == 1  # the intermediate shows once, as a CA, not again as an issued certificate
    assert issuing.text(0) == inter.name and issuing.childCount() == 2
    assert page.message.text().startswith("2 CA(s), 2 issued certificate(s)")
    assert [issuing.child(i).text(1) for i in range(2)] == ["valid", "revoked"]
    page.tree.setCurrentItem(issuing.child(0))
    assert "Subject: CN = tree-dev-1" in page.details.toPlainText() or "CN=tree-dev-1" in page.details.toPlainText()
    page.grab().save(str(screenshot_dir / "certificates-page.png"))
    page.search.setText("dev-2")
    assert page.tree.topLevelItem(0).child(0).childCount() == 1
    assert "matching 'dev-2'" in page.message.text()
    page.search.setText(format(issued.serial, "X"))
    assert page.tree.topLevelItem(0).child(0).child(0).text(0) == "tree-dev-2"
