"""The same Alembic migrations run up and down on SQLite and PostgreSQL."""

from sqlalchemy import inspect

from zhenma.db import Database
from zhenma.db.models import Base


def test_migrations_up_down_up(database_url):
    db = Database(database_url)
    try:
        db.upgrade()
        head = db.current_revision()
        assert head is not None
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        db.downgrade("base")
        assert db.current_revision() is None
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.upgrade()
        assert db.current_revision() == head
    finally:
        db.dispose()


def test_models_match_migrations(database_url):
    """Autogenerate finds nothing to add: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    db = Database(database_url)
    try:
        db.upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        db.dispose()
