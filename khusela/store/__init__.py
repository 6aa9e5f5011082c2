"""Storage: one SQLAlchemy metadata, Alembic migrations, and transactions for SQLite or PostgreSQL."""
