"""Run keytool/java/openssl in parallel with list arguments (never a shell) and check their return codes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

JAVA_DIR = Path(__file__).parent / "java"


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> Result:
        assert self.returncode == 0, f"{self.args} failed ({self.returncode}):\n{self.stdout}\n{self.stderr}"
        return self


def run_parallel(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None,
                 timeout: float = 60) -> list[Result]:
    """Start every command at once (Java start-up dominates), then collect them in order."""
    full_env = {**os.environ, **(env or {})}
    procs = [subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)
             for cmd in commands]
    results = []
    for cmd, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=timeout)
        results.append(Result(list(cmd), proc.returncode, out, err))
    return results


def keytool_list(path: Path, storepass: str, storetype: str | None = None) -> list[str]:
    cmd = ["keytool", "-list", "-v", "-keystore", str(path), "-storepass", storepass]
    return cmd + (["-storetype", storetype] if storetype else [])


def entries(listing: str) -> dict[str, dict[str, str]]:
    """alias -> {'type': ..., 'chain': ...} from `keytool -list -v` output."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in listing.splitlines():
        if line.startswith("Alias name: "):
            current = {}
            out[line.split(": ", 1)[1]] = current
        elif line.startswith("Entry type: "):
            current["type"] = line.split(": ", 1)[1]
        elif line.startswith("Certificate chain length: "):
            current["chain"] = line.split(": ", 1)[1]
    return out
