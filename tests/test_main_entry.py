"""`workbench --help` says everything the one executable does, and the bundle's `embedded-broker` name runs the
local platform, so installed users type the same commands as the README."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.__main__ import main


def test_help_lists_every_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: workbench")
    for command in ("onboard", "mqtt", "est", "simulate", "demo-certs"):  # the CLI's own commands come first
        assert f"\n    {command}" in out, command
    for entry in ("workbench local-platform ...", "workbench --self-test", "workbench FILE.p12",
                  "`embedded-broker ...`"):
        assert entry in out, entry
    assert main(["-h"]) == 0 and capsys.readouterr().out == out


def test_started_as_embedded_broker_it_is_the_local_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/bin/embedded-broker", "--print-ca-path", "--data-dir", str(tmp_path)])
    assert main() == 1  # the platform's own answer: no CA before its first start
    assert "no server CA in" in capsys.readouterr().err
    (tmp_path / "server-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert main() == 0
    assert capsys.readouterr().out.strip() == str((tmp_path / "server-ca.pem").resolve())
    monkeypatch.setattr(sys, "argv", ["/opt/workbench/workbench", "local-platform", "--print-ca-path", "--data-dir",
                                      str(tmp_path)])
    assert main() == 0 and capsys.readouterr().out.strip().endswith("server-ca.pem")
