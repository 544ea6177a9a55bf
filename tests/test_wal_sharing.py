"""What the service does to the write-ahead log, which Litestream shares (docs/design.md,
"Replication"): it leaves checkpoints to SQLite's automatic, passive ones and waits 30 s for a
lock that Litestream holds."""

from forwarding.db import get_storage


def test_the_service_leaves_the_log_to_sqlites_passive_checkpoints(app):
    with app.app_context():
        db = get_storage().database.connection
        pragmas = {name: db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "wal_autocheckpoint")}
        # 1000 pages, SQLite's default: 0 would let the log grow without bound when Litestream is not running.
        assert pragmas == {"journal_mode": "wal", "wal_autocheckpoint": 1000}
        assert db.execute("PRAGMA busy_timeout").fetchone() == (30000,)
