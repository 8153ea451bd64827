"""The Connections page's "demo device ready" step uses the one home of the demo-device rule
(`core/profiles/defaults.point_builtin_at_demo`, also behind `workbench mqtt --profile`): the built-in profile follows
the platform's port and the demo files, keeps what the user set beyond them, and is left alone once the user aimed
it at another keystore."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytestqt.qtbot import QtBot

from workbench.core.profiles.defaults import LocalPlatformEndpoints, builtin_profiles
from workbench.core.profiles.store import ProfileStore
from workbench.services.first_run import DemoDevice
from workbench.ui.connections.profiles_panel import ProfilesPanel


def test_demo_device_keeps_the_users_settings_and_a_keystore_of_their_own(qtbot: QtBot, tmp_path: Path) -> None:
    store = ProfileStore()
    demo = LocalPlatformEndpoints(1000, 0, truststore_file=str(tmp_path / "trust.p12"),
                                  keystore_file=str(tmp_path / "demo.p12"), client_id="d:demo")
    builtin = builtin_profiles(demo)[0]
    store.save(builtin.with_changes(keep_alive_s=17, payload_decoders=(("s/ds", "text"),)))
    panel = ProfilesPanel(store)
    qtbot.addWidget(panel)
    panel.add_demo_device(DemoDevice(replace(demo, mqtts_port=2000), "demo-pw"))
    profile = store.load(builtin.id)
    assert (profile.broker_port, profile.keep_alive_s, profile.payload_decoders) == (2000, 17, (("s/ds", "text"),))
    assert store.secrets_for(builtin.id).client_keystore_password == "demo-pw"
    # the user points the profile at a keystore of their own: the next demo device leaves it as it is
    mine = profile.with_changes(tls=replace(profile.tls, client_keystore_file=str(tmp_path / "mine.p12"),
                                            trusted_keystore_alias="ca", client_key_pair_alias="me"))
    store.save(mine)
    panel.add_demo_device(DemoDevice(replace(demo, mqtts_port=3000), "other-pw"))
    assert store.load(builtin.id) == mine
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == [builtin.name]
