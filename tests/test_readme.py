"""The README's shell blocks, typed in verbatim, so the README cannot drift from what the commands do.

Every fenced block in README.md names its language. Each `sh` block is run as it stands, in order, in one bash
session (the reader's terminal: `cd` and `export` carry over), with a fresh home folder, no system keyring and
`set -e -o pipefail`, so a failing command fails the test. The comment line right above a block changes that:

- `<!-- readme-test: skip (why) -->`: not run (installs packages, starts the GUI, builds the bundle);
- `<!-- readme-test: second terminal -->`: typed into a second terminal instead: a fresh shell with only the login
  environment, starting in the home folder. Such a block starts the local platform and keeps it running; the
  session waits for the platform's last banner line (`data folder: ...`) before it goes on, and a later second
  terminal block first stops the earlier one (Ctrl+C).

The README says ports 8883 and 8443, so the session runs in a network namespace of its own (`unshare`), where
those ports are free and the namespace's loopback is the only network there is.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<mode>[a-z ]+?)\s*(?:\((?P<why>[^)]*)\))?\s*-->$")
FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
SHELL_LANGS = {"sh", "bash", "shell"}
MAX_SKIPPED = 4  # a README that cannot be typed in is a README to fix: keep the exceptions few
BANNER_DONE = "data folder: "  # the local platform's last banner line

# Brings the namespace's loopback up (it starts down), then becomes the session's bash.
LOOPBACK_UP = """
import fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]  # SIOCGIFFLAGS
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
os.execvp("bash", ["bash", sys.argv[1]])
"""

DRIVER_HEAD = r"""
set -e -o pipefail
__t2_pid=""
__t2_n=0
__stop_terminal2() {  # Ctrl+C in the second terminal, and wait until it ended
    if [ -n "$__t2_pid" ]; then
        kill -INT -- "-$__t2_pid" 2>/dev/null || true
        local deadline=$((SECONDS + 20))
        while kill -0 "$__t2_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        kill -KILL -- "-$__t2_pid" 2>/dev/null || true
        wait "$__t2_pid" 2>/dev/null || true
        __t2_pid=""
    fi
}
trap __stop_terminal2 EXIT
__second_terminal() {  # $1: the block; run like a new terminal: login environment, home folder, own process group
    __stop_terminal2
    __t2_n=$((__t2_n + 1))
    local log="$__LOGS/terminal2-$__t2_n.log"
    (cd "$HOME" && exec env -i "${__LOGIN_ENV[@]}" setsid bash -e -o pipefail "$1") > "$log" 2>&1 < /dev/null &
    __t2_pid=$!
    local deadline=$((SECONDS + 90))
    until grep -q "^__BANNER__" "$log"; do
        if ! kill -0 "$__t2_pid" 2>/dev/null; then echo "second terminal $__t2_n ended:"; cat "$log"; exit 1; fi
        if [ $SECONDS -ge $deadline ]; then echo "second terminal $__t2_n: no banner in 90 s:"; cat "$log"; exit 1; fi
        sleep 0.1
    done
    echo "--- second terminal $__t2_n is up:"; cat "$log"
}
"""


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: where it starts, its language, its text and what the marker above says."""

    line: int
    lang: str
    code: str
    mode: str = "run"  # "run", "skip", "second terminal"
    why: str = ""


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block, with the readme-test marker of the nearest non-blank line above it."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        above = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(above)
        end = next((i for i in range(index + 1, len(lines)) if lines[i].startswith("```")), len(lines))
        blocks.append(Block(index + 1, opening["lang"], "\n".join(lines[index + 1:end]) + "\n",
                            marker["mode"] if marker else "run", (marker["why"] or "") if marker else ""))
        index = end + 1
    return blocks


def test_every_shell_block_is_run_or_says_why() -> None:
    """Fences name their language (so no shell block escapes the run), markers are known and skips are few."""
    text = README.read_text(encoding="utf-8")
    blocks = readme_blocks(text)
    assert blocks, "the README has no code blocks?"
    unnamed = [b.line for b in blocks if not b.lang]
    assert not unnamed, f"README.md lines {unnamed}: name the block's language (```sh, ```text)"
    for block in blocks:
        assert block.mode in ("run", "skip", "second terminal"), f"line {block.line}: unknown marker {block.mode!r}"
        assert block.mode == "run" or block.lang in SHELL_LANGS, f"line {block.line}: a marker on a non-shell block"
        assert block.mode != "skip" or block.why.strip(), f"line {block.line}: say why the block is skipped"
    for number, line in enumerate(text.splitlines(), 1):
        assert not line.startswith("<!-- readme-test") or MARKER.match(line.strip()), f"line {number}: bad marker"
    skipped = [b.line for b in blocks if b.mode == "skip"]
    assert len(skipped) <= MAX_SKIPPED, f"README blocks skipped at lines {skipped}: make them runnable instead"
    assert any(b.mode == "run" and b.lang in SHELL_LANGS for b in blocks)


def test_readme_blocks_are_parsed_with_their_markers() -> None:
    """The parser sees a marker only on the nearest line above a block, and keeps the block's text as it is."""
    text = ("intro\n\n<!-- readme-test: skip (installs a package) -->\n```sh\nsudo apt install x\n```\n\n"
            "<!-- readme-test: second terminal -->\n\n```sh\nembedded-broker\n```\n<!-- readme-test: skip (x) -->\n"
            "text between\n```sh\necho 'a  b'\n```\n```text\n$ out\n```\n")
    blocks = readme_blocks(text)
    assert [(b.mode, b.why, b.lang) for b in blocks] == [("skip", "installs a package", "sh"),
                                                        ("second terminal", "", "sh"), ("run", "", "sh"),
                                                        ("run", "", "text")]
    assert blocks[2].code == "echo 'a  b'\n" and blocks[0].line == 4


def _namespace_works() -> str:
    """Why a private network namespace cannot be made here ('' when it can)."""
    if shutil.which("unshare") is None:
        return "no `unshare` (util-linux)"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "true"], capture_output=True,
                           text=True, timeout=30)
    return "" if probe.returncode == 0 else f"unshare refused: {probe.stderr.strip()}"


def _login_env(tmp: Path) -> dict[str, str]:
    """What a fresh terminal of a new user has: a temp home and XDG folders, the workbench on PATH, no keyring."""
    home = tmp / "home"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
           "TMPDIR": str(tmp / "tmp"), "LANG": "C.UTF-8", "TERM": "dumb", "QT_QPA_PLATFORM": "offscreen",
           "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for folder in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "TMPDIR"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    return env


def driver_script(blocks: list[Block], blocks_dir: Path, logs: Path, env: dict[str, str]) -> str:
    """The bash session that types the blocks in: `source` for the reader's terminal, a child for the second one."""
    login = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    parts = [DRIVER_HEAD.replace("__BANNER__", BANNER_DONE), f"__LOGS={shlex.quote(str(logs))}",
             f"__LOGIN_ENV=({login})", f"cd {shlex.quote(env['HOME'])}",
             "__t0=$((${EPOCHREALTIME/./} / 1000))"]
    for number, block in enumerate(blocks, 1):
        if block.mode == "skip" or block.lang not in SHELL_LANGS:
            continue
        path = blocks_dir / f"block-{number:02d}-line-{block.line}.sh"
        path.write_text(block.code, encoding="utf-8")
        parts.append(f"echo \"=== README.md line {block.line} ({block.mode}) at $((${{EPOCHREALTIME/./}} / 1000"
                     " - __t0)) ms\"")
        parts.append(f"__second_terminal {shlex.quote(str(path))}" if block.mode == "second terminal"
                     else f"source {shlex.quote(str(path))}")
    parts.append('echo "=== README done at $((${EPOCHREALTIME/./} / 1000 - __t0)) ms"')
    return "\n".join(parts) + "\n"


@pytest.mark.interop
@pytest.mark.slow  # about 20 commands, each a new process, and two platform starts: 30-60 s on 2 cores
def test_readme_runs_verbatim(tmp_path: Path) -> None:
    """Type in every shell block of README.md as a new user would, against the local platform it starts."""
    for tool in ("curl", "openssl", "setsid"):
        if shutil.which(tool) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"`{tool}` is missing: the README uses it (install it; .ci/run does)")
            pytest.skip(f"`{tool}` is missing")
    reason = _namespace_works()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot run the README on its own ports 8883/8443: {reason}")
        pytest.skip(f"cannot run the README on its own ports 8883/8443: {reason}")
    env = _login_env(tmp_path)
    blocks_dir, logs = tmp_path / "blocks", tmp_path / "logs"
    blocks_dir.mkdir()
    logs.mkdir()
    driver = tmp_path / "session.sh"
    driver.write_text(driver_script(readme_blocks(README.read_text(encoding="utf-8")), blocks_dir, logs, env))
    try:
        done = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--", sys.executable, "-c",
                               LOOPBACK_UP, str(driver)], env=env, cwd=env["HOME"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=170)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        pytest.fail(f"the README session did not finish in 170 s; its output ends:\n{output[-6000:]}")
    tail = done.stdout[-8000:]
    assert done.returncode == 0, f"a README command failed (exit {done.returncode}); the session's output ends:\n{tail}"
    assert "=== README done" in done.stdout, tail
    out = done.stdout
    assert re.search(r"^71,eyJ", out, re.MULTILINE), "no device token (71,<JWT>) was printed:\n" + tail
    assert "onboarding rehearsal complete" in out, tail
    assert re.search(r"^subject=.*CN ?= ?t200\.localhost$", out, re.MULTILINE), tail
    assert "Verification: OK" in out, tail
    chosen = ("choose-an-admin-password", "choose-a-ca-password", "choose-a-store-password")  # the README's
    printed = [line for line in out.splitlines() if any(secret in line for secret in chosen)]
    assert not printed, f"a password the README chose was printed: {printed}"
    for folder in (env["XDG_STATE_HOME"], env["XDG_CACHE_HOME"]):  # logs: never a password
        for path in Path(folder).rglob("*"):
            if path.is_file():
                text = path.read_bytes()
                assert not any(secret.encode() in text for secret in chosen), f"a README password is in {path}"
