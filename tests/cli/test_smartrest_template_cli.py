"""`workbench smartrest template push | pull | check` against a running local platform reached by URL, as a tenant
would be: push a file, pull it back in both forms, check lines offline and against the pulled collection, and the
refusals (exit 1 for the platform's no, 2 for usage)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tenant_url import local_tenant_url
from workbench.cli import run_cli

LINES = "10,901,POST,MEASUREMENT,,c8y_Steam,,c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,C\n" \
        "11,801,c8y_Valve,c8y_Valve,position\n"


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A local platform on loopback; the target options of a command for it (the admin's password in an env var)."""
    with local_tenant_url(monkeypatch, "TPL_TEST_ADMIN") as target:
        yield [*target, "--user", "t100/admin", "--tenant-password-env", "TPL_TEST_ADMIN"]


def test_push_pull_and_check(target: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "steam.csv"
    source.write_text(LINES)
    code = run_cli(["smartrest", "template", "push", str(source), "--xid", "cli-x", *target, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    pushed = json.loads(captured.out)
    assert pushed["created"] is True and pushed["requestTemplates"] == 1 and pushed["responseTemplates"] == 1

    exported = tmp_path / "cli-x.json"
    assert run_cli(["smartrest", "template", "pull", "cli-x", *target, "--out", str(exported)]) == 0
    capsys.readouterr()
    document = json.loads(exported.read_text())
    assert document["__externalId"] == "cli-x" and document["type"] == "c8y_SmartRest2Template"
    assert run_cli(["smartrest", "template", "pull", "cli-x", *target, "--format", "lines"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "10,901,POST,MEASUREMENT,false,c8y_Steam,,c8y_Steam.T.value,NUMBER,,c8y_Steam.T.unit,STRING,C",
        "11,801,c8y_Valve,c8y_Valve,position"]

    # the pulled export pushed again: the X-ID exists (exit 1), then --replace changes it in place
    code = run_cli(["smartrest", "template", "push", str(exported), *target])
    assert code == 1 and "exists already" in capsys.readouterr().err
    code = run_cli(["smartrest", "template", "push", str(exported), *target, "--replace"])
    assert code == 0 and f"replaced template collection cli-x as managed object {pushed['managedObject']}" in \
        capsys.readouterr().out

    # offline from the file, and against the platform's copy
    code = run_cli(["smartrest", "template", "check", "--file", str(exported), "901,2024-05-01T10:00:00Z,21.5",
                    "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    line = json.loads(captured.out)["lines"][0]
    assert line["kind"] == "measurement" and line["document"]["c8y_Steam"] == {"T": {"value": 21.5, "unit": "C"}}
    code = run_cli(["smartrest", "template", "check", "--pull", "cli-x", *target, "901,,hot"])
    out = capsys.readouterr().out
    assert code == 1 and "✗ 45,901,Value is not a number: 'hot'" in out


def test_refusals_name_the_problem(target: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["smartrest", "template", "pull", "missing-x", *target])
    err = capsys.readouterr().err
    assert code == 1 and "No template collection missing-x" in err and "Traceback" not in err
    source = tmp_path / "lines.csv"
    source.write_text(LINES)
    code = run_cli(["smartrest", "template", "push", str(source), *target])
    assert code == 2 and "need an X-ID" in capsys.readouterr().err
    source.write_text(LINES + "10,902,PUT,MEASUREMENT,,x\n")
    code = run_cli(["smartrest", "template", "check", "--file", str(source), "--xid", "bad-x", "901,,1"])
    err = capsys.readouterr().err
    assert code == 2 and "Template creation error in line 3: PUT MEASUREMENT is not a template" in err
    code = run_cli(["smartrest", "template", "check", "--file", str(tmp_path / "none.json"), "901,,1"])
    assert code == 2 and "Cannot read" in capsys.readouterr().err
    code = run_cli(["smartrest", "template", "check", "--pull", "cli-x", "901,,1"])
    assert code == 2 and "--pull needs the platform" in capsys.readouterr().err
