"""The store interface every other layer uses: one class, two backends chosen by URL.

``Store.open("demo.db")`` or ``Store.open("sqlite:///demo.db")`` opens the embedded SQLite file;
``Store.open("postgresql://user@host:5432/dbname")`` a PostgreSQL database. Outside this package
nothing runs SQL: the rest of the engine calls the typed methods composed here — writes
(:mod:`.writes`), reads including the snapshot's columnar :meth:`~.reads.ReadsMixin.changes_since`
(:mod:`.reads`), and the transaction protocol (:mod:`.core`).
"""

from __future__ import annotations

import os

from .artifacts import ArtifactsMixin
from .errors import NotFound, StoreError
from .experiments import ExperimentsMixin
from .precomputed import PrecomputedMixin
from .reads import ReadsMixin
from .records_sync import SyncRecordsMixin
from .schema import MIGRATIONS, SCHEMA_VERSION, sql_statements
from .state import StateMixin
from .url import parse_store_url
from .vectors import VectorsMixin
from .writes import WritesMixin

__all__ = ["NotFound", "Store", "StoreError"]


class Store(  # one mixin a line: each is a store module of its own
    WritesMixin,
    ReadsMixin,
    StateMixin,
    ExperimentsMixin,
    ArtifactsMixin,
    VectorsMixin,
    SyncRecordsMixin,
    PrecomputedMixin,
):
    """A discovery-engine database: SQLite file or PostgreSQL server, chosen by URL.

    Open with :meth:`Store.open`; ``target`` is a path or ``sqlite:///path`` (embedded, the
    default) or ``postgresql://user@host:port/dbname``.

    Attributes
    ----------
    url : StoreURL
        Where the data lives.
    path : Path
        The local base path of side files: ``<path>.snapshot/`` (the columnar cache) and
        ``<path>.media/`` (images). The database file itself for SQLite; for PostgreSQL a
        folder under ``$DISCOVERY_DATA_DIR`` named after the server and database.

    Examples
    --------
    >>> s = Store.open(":memory:")
    >>> with s.transaction():
    ...     added = s.add_accounts([(1, "ana", "Ana", "person", 0)])
    >>> s.account_id("ana"), s.change_counter
    (1, 1)
    """

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, target: str | os.PathLike[str], *, create: bool = True, migrate: bool = False
    ) -> Store:
        """Open (or create) a store and check its schema version.

        Raises
        ------
        StoreError
            The database is missing (``create=False``), is not a discovery database, or has a
            schema version other than this package's (newer: upgrade the package; older:
            ``discovery migrate``, or ``migrate=True``).
        """
        url = parse_store_url(target)
        store: Store
        if url.backend == "sqlite":
            from .sqlite import SqliteStore

            store = SqliteStore.connect(url, create=create)
        else:
            from .postgres import PostgresStore

            store = PostgresStore.connect(url, create=create)
        try:
            store._prepare(create=create, migrate=migrate)
        except BaseException:
            store.close()  # a refused database must not stay open (and locked) here
            raise
        return store

    def _prepare(self, *, create: bool, migrate: bool) -> None:
        tables = self._tables()
        if not tables:
            if not create:
                raise StoreError(f"{self.url}: empty database, not a discovery-engine store")
            self._create()
        elif "meta" not in tables or self.get_meta("schema_version") is None:
            raise StoreError(f"{self.url}: not a discovery-engine database (no schema version)")
        else:
            self._check_version(migrate)

    def _check_version(self, migrate: bool) -> None:
        found = self._meta_int("schema_version")
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"{self.url}: written by a newer discovery-engine (schema {found}, this one "
                f"understands {SCHEMA_VERSION}); upgrade the package"
            )
        if found < SCHEMA_VERSION:
            if not migrate:
                raise StoreError(
                    f"{self.url}: schema {found} is older than {SCHEMA_VERSION}; "
                    "run `discovery migrate` (for SQLite a backup is a copy of the file)"
                )
            self.migrate()

    @property
    def schema_version(self) -> int:
        return self._meta_int("schema_version")

    def migrate(self) -> int:
        """Apply :data:`MIGRATIONS` up to :data:`SCHEMA_VERSION` in one transaction.

        A failing step leaves the database exactly as it was (DDL is transactional in both
        SQLite and PostgreSQL)."""
        found = self._meta_int("schema_version")
        steps = MIGRATIONS[self.dialect]
        with self.transaction():
            for version in range(found, SCHEMA_VERSION):
                if version not in steps:
                    raise StoreError(f"{self.url}: no migration from schema {version}")
                try:
                    step = steps[version]
                    if isinstance(step, str):
                        for statement in sql_statements(step):
                            self._exec(statement)
                    else:
                        step(self)
                except StoreError:
                    raise
                except Exception as exc:
                    raise StoreError(
                        f"{self.url}: migration from schema {version} failed ({exc}); "
                        "the database is unchanged"
                    ) from None
            self.set_meta("schema_version", SCHEMA_VERSION)
        self._hashtag_ids = None
        return SCHEMA_VERSION

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
