"""``reviewdesk export`` on the command line: flags, messages, the progress bar."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from reviewdesk import ReviewDesk
from reviewdesk.cli.export import _progress_bar, add_export_command, cmd_export
from reviewdesk.core.clock import ManualClock
from reviewdesk.core.errors import ReviewDeskError
from reviewdesk.services.export import ExportProgress
from tests.helpers.export_data import Spec, decide_all, mixed_specs


def parser() -> argparse.ArgumentParser:
    # The same shape as reviewdesk.cli.entry.build_parser: subcommands sharing --db.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db")
    top = argparse.ArgumentParser(prog="reviewdesk")
    sub = top.add_subparsers(dest="command", required=True)
    add_export_command(sub, common)
    return top


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = parser().parse_args(list(argv))
    try:
        code = cmd_export(args, __import__("sys").stdout)
    except ReviewDeskError as exc:  # as reviewdesk.cli.entry.run reports it
        print(f"reviewdesk: {exc}", file=__import__("sys").stderr)
        code = 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(sqlite_url: str, clock: ManualClock) -> str:
    with ReviewDesk.open(sqlite_url, clock=clock, upgrade=True) as desk:
        decide_all(desk, [*mixed_specs(), Spec("faq-1", category="faq", risk="low")], clock)
    return sqlite_url


@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_export_with_every_choice(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "set"
    code, stdout, stderr = run(
        capsys,
        "export",
        "--db",
        db,
        "--out",
        str(out),
        "--format",
        "jsonl",
        "--category",
        "refund,billing",
        "--category",
        "faq",
        "--label",
        "approved,edited",
        "--label",
        "rejected",
        "--since",
        "2026-01-01",
        "--until",
        "2026-02-01T00:00:00+01:00",
        "--split",
        "test=0.5",
        "--seed",
        "3",
        "--balance",
        "--per-stratum",
        "5",
        "--redact",
        "--phone-region",
        "us,de",
    )
    assert code == 0, stderr
    assert stdout.startswith("Exported 4 record(s) (")
    assert f"dataset card: {out / 'README.md'}" in stdout
    assert "below the minimum test-set size: category" in stderr
    card = (out / "README.md").read_text()
    assert "categories refund, billing, faq" in card and "labels approved, edited, rejected" in card
    assert "decided from 2026-01-01T00:00:00+00:00" in card
    assert "decided before 2026-01-31T23:00:00+00:00" in card
    assert "national formats of US, DE" in card
    ids = sorted(
        json.loads(line)["id"] for p in out.glob("*.jsonl") for line in p.read_text().splitlines()
    )
    assert ids == ["faq-1", "t-approved", "t-edited", "t-rejected"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label", "approved,nope"], "--label nope: not one of approved, edited"),
        (["--risk", "extreme"], "--risk extreme: not one of low, medium, high"),
        (["--split", "test=2"], "--split: split test: fraction 2 must be between 0 and 1"),
        (["--since", "yesterday"], "--since 'yesterday': not a date or time"),
        (["--phone-region", "XX"], "--phone-region: Unknown phone region(s) XX"),
        (["--per-stratum", "3"], "--per-stratum only applies with --balance"),
        (["--workers", "0"], "--workers 0: use a number from 1 to 32"),
    ],
)
@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_bad_flags_say_which_and_why(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, stderr = run(capsys, "export", "--db", db, "--out", str(tmp_path / "o"), *argv)
    assert code == 1
    assert message in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_occupied_folder_needs_force(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "old.txt").write_text("x")
    code, _, stderr = run(capsys, "export", "--db", db, "--out", str(out))
    assert code == 1 and "not empty" in stderr and "--force" in stderr
    code, stdout, _ = run(capsys, "export", "--db", db, "--out", str(out), "--force")
    assert code == 0 and not (out / "old.txt").exists()
    assert "Exported 5 record(s)" in stdout


@pytest.mark.slow
@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_workers_choose_how_many_processes_export(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parser().parse_args(["export", "--out", "o"]).workers is None  # automatic
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        code, stdout, stderr = run(
            capsys, "export", "--db", db, "--out", str(out), "--workers", workers, "--format", "csv"
        )
        assert code == 0, stderr
        assert "Exported 5 record(s)" in stdout
        outputs[workers] = (out / "data.csv").read_bytes()
    assert outputs["1"] == outputs["2"]


@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_no_progress_bar_when_stderr_is_not_a_terminal(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(capsys, "export", "--db", db, "--out", str(tmp_path / "o"))
    assert code == 0
    assert "writing" not in stderr and "\r" not in stderr


def test_the_progress_bar_follows_the_phases() -> None:
    stream = io.StringIO()
    update, close = _progress_bar(stream)
    update(ExportProgress("starting", 0, 0))
    update(ExportProgress("sampling", 50, 100))
    update(ExportProgress("writing", 100, 100, written=42))
    close()
    shown = stream.getvalue()
    # tqdm redraws at most ten times a second: the phases show, each on its own bar.
    assert "sampling" in shown and "writing" in shown and "decisions" in shown


@pytest.mark.one_engine("the command's options and messages; test_export.py reads on every engine")
def test_a_missing_pyarrow_names_the_pip_of_the_environment_running_reviewdesk(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex
    import sys

    from reviewdesk.services.export.formats import pyarrow_install_command

    monkeypatch.setattr("reviewdesk.services.export.runner.pyarrow_available", lambda: False)
    code, _, err = run(capsys, "export", "--db", db, "--out", str(tmp_path / "o"), "--format", "hf")
    # Not a bare "pip", which may be another environment's: this one's, by its full path.
    assert code == 1 and f"{sys.prefix}/bin/pip install 'reviewdesk[parquet]'" in err, err
    # An environment without a pip script of its own: its interpreter's pip module.
    bare = tmp_path / "bare-env"
    bare.mkdir()
    command = pyarrow_install_command(str(bare), "/opt/py 3/bin/python")
    assert shlex.split(command) == [
        "/opt/py 3/bin/python",
        "-m",
        "pip",
        "install",
        "reviewdesk[parquet]",
    ]
