"""Before Qt starts: are the system libraries its platform plugin loads there?

On Linux, Qt's xcb platform plugin links against X11 libraries that the PySide6 wheels do not
ship. When one is missing, Qt aborts the process with "could not load the Qt platform plugin"
and names none of them. This module asks the dynamic linker (``ldd``) which of the plugin's
libraries it cannot find, before the application is created, and turns them into the packages
and the command that install them.

No Qt import here: the check must run before PySide6 loads anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The libraries Qt's xcb plugin, QtGui and QtWidgets load that a minimal desktop may lack, by
# soname, with the package that ships each on Debian/Ubuntu and on Fedora/RHEL. Qt's own list
# ("Qt for X11 Requirements") plus what `ldd` showed on a Debian 12 machine without them.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Distro:
    """How this system installs packages: which column of PACKAGES, and the command."""

    column: int | None  # 0: Debian/Ubuntu, 1: Fedora/RHEL, None: unknown
    install: str  # the command, with {packages} for the names


def detect_distro(os_release: Path = Path("/etc/os-release")) -> Distro:
    try:
        text = os_release.read_text(encoding="utf-8")
    except OSError:
        text = ""
    fields = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    family = " ".join(fields.get(key, "").strip('"').lower() for key in ("ID", "ID_LIKE"))
    sudo = "" if os.geteuid() == 0 else "sudo "
    if any(name in family.split() for name in ("debian", "ubuntu")):
        return Distro(0, sudo + "apt-get install {packages}")
    if any(name in family.split() for name in ("fedora", "rhel", "centos")):
        return Distro(1, sudo + "dnf install {packages}")
    return Distro(None, "")


def qt_platform(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """The platform plugin Qt will load, as far as it can be told without Qt; None: not X11."""
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb" if environ.get("DISPLAY") else None


def plugin_files(pyside_dir: Path, platform: str) -> list[Path]:
    """The shared objects whose dependencies decide whether the window can open."""
    names = [f"Qt/plugins/platforms/libq{platform}.so", "QtWidgets.abi3.so", "QtCharts.abi3.so"]
    return [pyside_dir / name for name in names if (pyside_dir / name).exists()]


def missing_libraries(files: list[Path]) -> list[str] | None:
    """Sonames the dynamic linker cannot find for these files; None when ``ldd`` is absent."""
    ldd = shutil.which("ldd")
    if ldd is None or not files:
        return None
    try:
        # ldd lists every library, transitively, and marks the missing ones "not found".
        shown = subprocess.run(
            [ldd, *map(str, files)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(set(_NOT_FOUND.findall(shown)))


def explain(missing: list[str], distro: Distro) -> str:
    """What to tell a person whose system lacks these libraries."""
    lines = [
        "ReviewDesk cannot open its window: Qt needs system libraries that are not installed:",
        *(f"  {name}" for name in missing),
    ]
    column = distro.column
    known = [PACKAGES[name][column] for name in missing if name in PACKAGES and column is not None]
    if known and len(known) == len(missing):
        packages = " ".join(dict.fromkeys(known))
        lines += ["Install them with:", "  " + distro.install.format(packages=packages)]
    else:
        debian = " ".join(dict.fromkeys(PACKAGES[n][0] for n in missing if n in PACKAGES))
        lines.append("Install the packages that provide them with your system's package manager")
        if debian:
            lines.append(f"(on Debian and Ubuntu: {debian}).")
    lines.append("Then start ReviewDesk again. The command line (reviewdesk --help) needs none.")
    return "\n".join(lines)


def check(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """A message naming what is missing for the desk to start here, or None when nothing is.

    Only Linux is checked: the macOS and Windows wheels carry everything Qt loads.
    """
    if not sys.platform.startswith("linux"):
        return None
    platform = qt_platform(environ)
    if platform is None:
        return (
            "ReviewDesk cannot open its window: there is no display (neither DISPLAY nor "
            "WAYLAND_DISPLAY is set).\nStart it from a desktop session. The command line "
            "(reviewdesk --help) works without one."
        )
    if platform != "xcb":
        return None  # offscreen, wayland, ...: their plugins load nothing a desktop lacks
    import PySide6  # the package only: it loads no Qt library

    missing = missing_libraries(plugin_files(Path(PySide6.__file__).parent, platform))
    return explain(missing, detect_distro()) if missing else None
