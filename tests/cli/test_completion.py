"""Shell completion: `workbench completion SHELL` prints argcomplete's script, and the executable answers a
completion request (argcomplete's protocol: _ARGCOMPLETE, COMP_LINE, COMP_POINT, the answer on fd 8)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from workbench.cli import run_cli

IFS = "\013"  # argcomplete's default separator between candidates


def _complete(line: str) -> list[str]:
    """What the executable offers for `line` (cursor at its end), as bash's completion function would ask."""
    env = dict(os.environ, _ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line)), _ARGCOMPLETE_SHELL="bash")
    # the shell script's own redirections: the answer goes to fd 8, stdout and stderr are muted
    script = 'exec "$0" -m workbench 8>&1 9>/dev/null 1>/dev/null 2>/dev/null'
    done = subprocess.run(["sh", "-c", script, sys.executable], env=env, capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done
    return [c.strip() for c in done.stdout.split(IFS) if c.strip()]


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nospace -o default -o bashdefault -F "
                                                        "_python_argcomplete workbench"),
                                               ("zsh", "#compdef workbench"),
                                               ("fish", "complete --command workbench")])
def test_completion_prints_the_script(shell: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["completion", shell]) == 0
    assert marker in capsys.readouterr().out


def test_the_executable_completes_commands_and_options() -> None:
    assert _complete("workbench onb") == ["onboard"]
    assert set(_complete("workbench c")) == {"ca", "cert", "completion"}
    assert _complete("workbench ca iss") == ["issue"]
    assert "--ca-file" in _complete("workbench cert verify --ca-")
    assert "local-platform" in _complete("workbench lo")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_accepts_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    done = subprocess.run(["bash", "--norc", "-c", 'eval "$SCRIPT" && complete -p workbench'],
                          env=dict(os.environ, SCRIPT=script), capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and "_python_argcomplete workbench" in done.stdout, done.stderr
