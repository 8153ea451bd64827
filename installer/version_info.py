"""The Windows version resource (Explorer's Properties → Details, and the installer's "Publisher"), written in the
text form PyInstaller's `EXE(version=...)` reads, from the one version in `workbench.__version__`."""

from __future__ import annotations

import re
from pathlib import Path

PRODUCT = "Device Onboarding Workbench"
COMPANY = "Workbench"
DESCRIPTION = "Certificates, keystores, proof of possession, MQTT console and a local platform for X.509 devices"


def version_tuple(version: str) -> tuple[int, int, int, int]:
    """'1.2.3' or '1.2.3.dev4' → (1, 2, 3, 0): Windows wants four 16-bit numbers."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0].split(".dev")[0])[:4]]
    numbers += [0] * (4 - len(numbers))
    if any(n > 0xFFFF for n in numbers):
        raise ValueError(f"version {version!r} does not fit a Windows version resource (each part ≤ 65535)")
    return tuple(numbers)  # type: ignore[return-value]


def version_file_text(version: str) -> str:
    """The VSVersionInfo expression PyInstaller evaluates on Windows."""
    numbers = version_tuple(version)
    strings = {"CompanyName": COMPANY, "FileDescription": DESCRIPTION, "FileVersion": version,
               "InternalName": "workbench", "LegalCopyright": f"© {COMPANY}. Third-party notices: "
               "THIRD-PARTY-LICENSES.txt", "OriginalFilename": "workbench.exe", "ProductName": PRODUCT,
               "ProductVersion": version}
    entries = ",\n".join(f"            StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(filevers={numbers}, prodvers={numbers}, mask=0x3f, flags=0x0, OS=0x40004, fileType=0x1,
                    subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([
        StringTable('040904B0', [
{entries}
        ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def write_version_file(folder: Path, version: str) -> Path:
    """Write the resource text next to the build files; the spec picks it up via WORKBENCH_VERSION_FILE."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "version_info.txt"
    path.write_text(version_file_text(version), encoding="utf-8")
    return path
