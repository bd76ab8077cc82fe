"""One person, one name: the canonical form, on both engines, and the upgrade that applies it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from reviewdesk import ReviewDesk
from reviewdesk.core.errors import InvalidArgument
from reviewdesk.core.identity import canonical_name, login_name, reviewer_name
from reviewdesk.storage import migrate
from reviewdesk.storage.engine import create_engines, resolve_target
from reviewdesk.storage.tables import DecisionRow, DraftEventRow, DraftRow, ReviewSessionRow


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Ana", "ana"),
        ("ana ", "ana"),
        ("  ANA\t", "ana"),
        ("Straße", "strasse"),
        ("e\u0301lise", "\u00e9lise"),  # decomposed e + accent: NFC
        ("Élise", "\u00e9lise"),
    ],
)
def test_canonical_names(given: str, canonical: str) -> None:
    assert canonical_name(given) == canonical
    assert reviewer_name(given) == canonical


@pytest.mark.parametrize("bad", ["", "   ", "a" * 201, "ana\u200b", "ana\x00"])
def test_names_that_are_nobody_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="name"):
        reviewer_name(bad)


def test_a_login_fits_postgresql() -> None:
    with pytest.raises(InvalidArgument, match="63 bytes"):
        login_name("é" * 40)
    with pytest.raises(InvalidArgument, match="pg_"):
        login_name("pg_monitor")


def test_spellings_of_one_name_are_one_reviewer(make_desk: object) -> None:
    desk: ReviewDesk = make_desk()  # type: ignore[operator]
    desk.submit([{"id": f"d{i}", "draft": f"Draft {i}"} for i in range(3)])
    lease = desk.claim("Ana")
    assert lease is not None and lease.reviewer == "ana"
    desk.decide(lease, "approve")
    # "ana " is the same person: the same session, and her decision to undo.
    assert desk.session_status("ana ").session is not None
    assert desk.session_status("ana ").session.id == desk.session_status("ANA").session.id  # type: ignore[union-attr]
    again = desk.undo("ana ")
    assert again.draft.id == lease.draft.id and again.reviewer == "ana"


def test_the_upgrade_makes_stored_names_canonical(db_url: str) -> None:
    """A database from before canonical names: 'Ana' and 'ana ' become one person, her
    statistics one, and of her two open sessions the older is ended."""
    engines = create_engines(resolve_target(db_url), create=True)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    try:
        migrate.upgrade(engines.write, "0008")
        with engines.write.begin() as conn:
            for i, name in enumerate(("Ana", "ana ", "Bo"), start=1):
                conn.execute(
                    insert(DraftRow.__table__),  # type: ignore[attr-defined]
                    {
                        "id": i, "external_id": f"d{i}", "content_hash": "h", "draft": "text",
                        "context": {}, "category": "c", "risk": "low", "priority": 0,
                        "created_at": now, "submitted_at": now, "metadata": {},
                        "state": "decided", "visible_at": now, "lease_epoch": 1,
                        "lease_owner": name,
                    },
                )  # fmt: skip
                conn.execute(
                    insert(DecisionRow.__table__),  # type: ignore[attr-defined]
                    {
                        "draft_id": i, "reviewer": name, "label": "approved",
                        "decided_at": now, "lease_epoch": 1, "idempotency_key": f"k{i}",
                        "review_seconds": 3.0,
                    },
                )  # fmt: skip
                conn.execute(
                    insert(DraftEventRow.__table__),  # type: ignore[attr-defined]
                    {"draft_id": i, "kind": "decided", "actor": name, "at": now},
                )
                conn.execute(
                    insert(ReviewSessionRow.__table__),  # type: ignore[attr-defined]
                    {
                        "reviewer": name, "started_at": now + timedelta(minutes=i),
                        "last_activity_at": now + timedelta(minutes=i), "day_start": now,
                    },
                )  # fmt: skip
        migrate.upgrade(engines.write)
        with engines.write.connect() as conn:
            names = set(conn.execute(text("SELECT reviewer FROM decision")).scalars())
            owners = set(conn.execute(text("SELECT lease_owner FROM draft")).scalars())
            actors = set(conn.execute(text("SELECT actor FROM draft_event")).scalars())
            sessions = conn.execute(
                text("SELECT reviewer, end_reason FROM review_session ORDER BY id")
            ).all()
            rollup = dict(
                conn.execute(
                    text("SELECT reviewer, sum(n) FROM decision_rollup WHERE grain = 'r' "
                         "GROUP BY reviewer")
                ).all()
            )  # fmt: skip
        assert names == owners == actors == {"ana", "bo"}
        assert [tuple(s) for s in sessions] == [("ana", "merged"), ("ana", None), ("bo", None)]
        assert rollup == {"ana": 2, "bo": 1}
    finally:
        engines.dispose()


def test_each_login_has_its_own_password_in_the_keyring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two people on one computer: each login's password is its own keyring entry."""
    from reviewdesk.cli.entry import main

    ana = "postgresql+psycopg://ana@db.example.com:5432/reviews"
    lee = "postgresql+psycopg://lee@db.example.com:5432/reviews"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "ana-secret")
    assert main(["password", "set", "--db", ana]) == 0
    assert "ana@db.example.com:5432/reviews" in capsys.readouterr().out
    engines = create_engines(resolve_target(ana))
    others = create_engines(resolve_target(lee))
    try:
        assert engines.write.url.password == "ana-secret"
        assert others.write.url.password is None
    finally:
        engines.dispose()
        others.dispose()
