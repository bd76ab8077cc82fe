"""The desk names the system libraries Qt lacks, and how to install them, before Qt aborts."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from reviewdesk.main import main
from reviewdesk.ui import system_libraries
from reviewdesk.ui.system_libraries import Distro

LDD_OUTPUT = """{plugin}:
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


@pytest.fixture
def fake_ldd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``ldd`` first on PATH that answers like the real one on a desktop lacking two libs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ldd"
    script.write_text(
        "#!/bin/sh\ncat <<'EOF'\n" + LDD_OUTPUT.format(plugin="$1") + "EOF\n", encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def test_missing_libraries_are_the_ones_ldd_cannot_find(fake_ldd: Path, tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    assert system_libraries.missing_libraries([plugin]) == [
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
    ]


def test_the_real_linker_finds_everything_the_interpreter_needs() -> None:
    assert system_libraries.missing_libraries([Path(sys.executable).resolve()]) == []


def test_explain_names_the_debian_packages_and_the_command() -> None:
    text = system_libraries.explain(
        ["libxcb-cursor.so.0", "libxcb-icccm.so.4"], Distro(0, "sudo apt-get install {packages}")
    )
    assert "libxcb-cursor.so.0" in text
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in text


def test_explain_for_fedora_and_for_an_unknown_system() -> None:
    fedora = system_libraries.explain(["libxcb-icccm.so.4"], Distro(1, "dnf install {packages}"))
    assert "dnf install xcb-util-wm" in fedora
    unknown = system_libraries.explain(["libxcb-icccm.so.4", "libweird.so.9"], Distro(None, ""))
    assert "libweird.so.9" in unknown
    assert "on Debian and Ubuntu: libxcb-icccm4" in unknown
    assert "install libxcb" not in unknown  # no command that would leave one library out


@pytest.mark.parametrize(
    ("os_release", "column"),
    [
        ('ID=debian\nVERSION_ID="12"\n', 0),
        ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', 0),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', 1),
        ("ID=arch\n", None),
    ],
)
def test_the_distribution_family_picks_the_package_names(
    tmp_path: Path, os_release: str, column: int | None
) -> None:
    path = tmp_path / "os-release"
    path.write_text(os_release, encoding="utf-8")
    assert system_libraries.detect_distro(path).column == column


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({"DISPLAY": ":0"}, "xcb"),
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "offscreen"),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "xcb"),
        (
            {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"},
            "wayland",
        ),
        ({}, None),
    ],
)
def test_the_platform_qt_will_load(environ: dict[str, str], platform: str | None) -> None:
    assert system_libraries.qt_platform(environ) == platform


def test_gui_says_what_to_install_instead_of_aborting(
    fake_ldd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["gui"]) == 1
    err = capsys.readouterr().err
    assert "libxcb-keysyms.so.1" in err
    assert "libxcb-keysyms1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["gui"], ["-v", "gui"], ["--db", "sqlite:///x.db", "gui"], ["--db=sqlite:///x.db", "gui"]],
)
def test_gui_without_a_display_says_so(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "there is no display" in err
    assert "Traceback" not in err
