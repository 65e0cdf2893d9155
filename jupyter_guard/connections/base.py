"""Database kinds as a registry, the way sqlglot registers its dialects.

A kind is one database (DuckDB, PostgreSQL, SQLite, any other SQLAlchemy dialect): its sqlglot
dialect, how the guard recognises its connections and URLs, the catalog queries it runs, how it
analyses SQL, whether and how it measures a statement's effect, how ``%%guarded_sql`` runs a cell
on it, and what it installs in the kernel. A subclass of ``ConnectionKind`` with a ``dialect``
registers itself when its module is imported. The built-in kinds are modules of this package
(``BUILTIN``); other packages add kinds through the entry-point group ``jupyter_guard.connections``
(an entry point names a module or a ``ConnectionKind`` subclass). Entry points are loaded when the
guard is installed: one that fails to load breaks the guard (every cell refused, the kind named).

The access path is not the kind: a connection reached through SQLAlchemy, a DB-API driver or a
native module is a ``conn.Conn`` (or ``dbapi.DbapiConn``) whose ``dialect`` names its kind.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from jupyter_guard.errors import GuardConfigError

GROUP = "jupyter_guard.connections"
BUILTIN = ("duckdb", "sqlalchemy", "postgres", "sqlite", "odbc")
INFORMATION_SCHEMA = (
    "SELECT table_catalog, table_schema, table_name, column_name FROM information_schema.columns "
    "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') "
    "ORDER BY 1, 2, 3, ordinal_position")
NAMES = ("SELECT schema_name FROM information_schema.schemata UNION "
         "SELECT table_name FROM information_schema.tables UNION "
         "SELECT column_name FROM information_schema.columns")

# dialect -> the kind registered for it; rebound (never mutated) by ``register``, so that
# self-protection, which snapshots this module's globals, sees a kind registered after sealing
_KINDS: Mapping[str, ConnectionKind] = MappingProxyType({})
_GENERIC: dict[str, ConnectionKind] = {}
_STATE = {"builtin": False, "entry_points": False}


class ConnectionKind:
    """One database kind; the defaults describe a database reached only through SQLAlchemy."""

    dialect: ClassVar[str] = ""                          # sqlglot's name, the registry key
    sqlalchemy_names: ClassVar[tuple[str, ...]] = ()     # SQLAlchemy's names for this dialect
    sqlalchemy_drivers: ClassVar[tuple[str, ...]] = ()   # its SQLAlchemy drivers the guard wraps
    drivers: ClassVar[tuple[str, ...]] = ()              # DB-API modules guarded at connect()
    measures_effect: ClassVar[bool] = False   # DB-API statements pass the effect check
    runs_cells: ClassVar[bool] = False        # ``run_cell`` runs %%guarded_sql (else generic)
    paramstyle: ClassVar[str] = "dollar"      # %%guarded_sql placeholders: $name or %(name)s
    columns_sql: ClassVar[str] = INFORMATION_SCHEMA   # (db, schema, table, column) rows
    temporary_sql: ClassVar[str | None] = None   # names of temporary tables
    views_sql: ClassVar[str | None] = None       # (view name, its SQL) rows
    classifier: Callable[[str], list[tuple[str, str]]] | None = None  # the database's splitter

    def __init_subclass__(cls, register_kind: bool = True, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if register_kind and cls.__dict__.get("dialect"):
            register(cls)

    def __repr__(self) -> str:
        return f"<database kind {self.dialect or 'generic'}>"

    # -- recognising connections ---------------------------------------------------------------
    def recognises(self, obj: Any) -> bool:
        """A native connection object of this kind (not SQLAlchemy, not a DB-API driver)."""
        return False

    def connect(self, obj: Any, name: str) -> Any:
        """The guard's ``Conn`` for a connection object of this kind."""
        # late: conn imports this module at load
        from jupyter_guard.connections.conn import Conn, is_sqlalchemy

        # late: dbapi imports this module at load
        from jupyter_guard.connections.dbapi import DbapiConn, driver_of

        if is_sqlalchemy(obj):
            return Conn(obj, name, self.dialect)
        if driver_of(obj) in self.drivers:
            return DbapiConn(obj, name, self.dialect)
        raise GuardConfigError(f"{name} is a {type(obj).__name__}: %%guarded_sql takes a "
                               f"{self.dialect or 'database'} connection through SQLAlchemy "
                               "(an engine, or a URL)")

    def open(self, url: str) -> Any:
        """A ``Conn`` for a URL this kind opens natively, or None (then SQLAlchemy opens it)."""
        return None

    def module_connection(self, via: str) -> Any:
        """The ``Conn`` a module name used as a connection denotes (``duckdb.sql(...)``)."""
        return None

    # -- reading SQL ---------------------------------------------------------------------------
    def analyse(self, text: str, params: Any = None) -> Any:
        """Static analysis of ``text`` in this kind's dialect (``model.Analysis``)."""
        from jupyter_guard.analyze.sql import analyze_sql
        from jupyter_guard.analyze.sql_infer import with_predicates

        classify = self.classifier
        a = analyze_sql(text, self.dialect, classify=classify, params=params)
        if a.errors:
            return with_predicates(a, text, self.dialect, ())
        pieces = [q for _, q in classify(text)] if classify else None   # cached by text
        return with_predicates(a, text, self.dialect, pieces)

    def split(self, text: str) -> list[str]:
        """The statements of a cell, as they will run."""
        if self.classifier is not None:
            return [q for _, q in self.classifier(text)]
        import sqlglot

        return [t.sql(dialect=self.dialect)
                for t in sqlglot.parse(text, read=self.dialect) if t is not None]

    def catalog_names(self, conn: Any) -> set[str]:
        """Lower-case names of schemas, tables, views and columns (``{{name}}`` identifiers)."""
        if hasattr(conn.raw, "dialect") and not conn.native_duckdb:
            import sqlalchemy

            insp = sqlalchemy.inspect(conn.raw)
            names = set()
            for table in insp.get_table_names() + insp.get_view_names():
                names.add(table.lower())
                names.update(str(c["name"]).lower() for c in insp.get_columns(table))
            return names
        return {str(r[0]).lower() for r in conn.rows(NAMES)}

    def column_rows(self, conn: Any) -> list[tuple[Any, ...]]:
        """The catalog's (db, schema, table, column) rows (``guard.enrich.Catalog``)."""
        return list(conn.rows(self.columns_sql))

    def databases(self, conn: Any) -> dict[str, str]:
        """Attached databases other than the current one: name -> path."""
        return {}

    # -- effect (DB-API statements; ``measures_effect``) ---------------------------------------
    def needs_effect(self, text: str) -> bool:
        return False

    def pure_read(self, text: str) -> bool:
        """Whether ``text`` can change nothing (its analysis is then reused for the same
        statement with other values: ``read_shape``)."""
        return False

    def read_shape(self, text: str) -> tuple[Any, ...] | None:
        """``text`` with the values of its literals left out; None when it cannot be read."""
        return None

    def for_effect(self, analysis: Any, conn: Any, policy: Any) -> Any:
        """The static analysis adjusted for what the effect check will measure."""
        return analysis

    def run_effect(self, raw: Any, call: Callable[[], Any], **kw: Any) -> Any:
        return call()

    async def run_effect_async(self, raw: Any, acall: Callable[[], Any], **kw: Any) -> Any:
        return await acall()

    def effect_check(self, raw: Any, **kw: Any) -> Any:
        """``run_effect`` in steps (``begin``, ``end`` or ``abort``, ``close``), for a statement
        that runs across user code (psycopg's ``copy()``); None: nothing is measured."""
        return None

    # -- %%guarded_sql and the kernel ----------------------------------------------------------
    def run_cell(self, guard: Any, conn: Any, text: str, **kw: Any) -> Any:
        raise NotImplementedError(f"{self!r} has no cell runner of its own")

    def install(self, shell: Any, guard: Any) -> None:
        """What this kind sets up in the kernel besides its drivers (``drivers`` are wrapped by
        ``dbapi.install``)."""


class GenericKind(ConnectionKind):
    """A dialect no module describes: SQLAlchemy's access, the default catalog and analysis.
    ``generic(dialect)`` makes one per dialect (never registered)."""


def generic(dialect: str) -> ConnectionKind:
    """The generic kind of ``dialect``: a class of its own, so ``dialect`` stays a class
    attribute as for every kind, and not registered (a module describing it wins)."""
    cls: type[ConnectionKind] = type(f"GenericKind_{dialect or 'any'}", (GenericKind,),
                                     {"dialect": dialect}, register_kind=False)
    return cls()


def register(cls: type[ConnectionKind]) -> type[ConnectionKind]:
    """Register ``cls`` for its dialect (a later kind for the same dialect replaces the earlier,
    as in sqlglot); returns ``cls`` so it can be used as a decorator."""
    global _KINDS
    _KINDS = MappingProxyType({**_KINDS, cls.dialect: cls()})
    return cls


def _builtins() -> None:
    if not _STATE["builtin"]:
        _STATE["builtin"] = True
        for name in BUILTIN:
            importlib.import_module(f"jupyter_guard.connections.{name}")


def kinds() -> tuple[ConnectionKind, ...]:
    _builtins()
    return tuple(_KINDS.values())


def for_dialect(dialect: str) -> ConnectionKind:
    """The kind registered for a sqlglot dialect, or a generic one (SQLAlchemy only)."""
    if not _STATE["builtin"]:
        _builtins()
    kind = _KINDS.get(dialect)
    if kind is None:
        kind = _GENERIC.get(dialect)
        if kind is None:
            kind = _GENERIC[dialect] = generic(dialect)
    return kind


def for_object(obj: Any) -> ConnectionKind | None:
    """The kind of a connection object: native, SQLAlchemy, or a guarded DB-API driver's."""
    # late: conn imports this module at load
    from jupyter_guard.connections.conn import is_sqlalchemy
    from jupyter_guard.connections.dbapi import driver_of  # late: dbapi imports this module at load

    for kind in kinds():
        if kind.recognises(obj):
            return kind
    if is_sqlalchemy(obj):
        # late: sqlalchemy imports this module at load
        from jupyter_guard.connections.sqlalchemy import dialect_of

        return for_dialect(dialect_of(str(obj.dialect.name)))
    driver = driver_of(obj)
    return for_driver(driver) if driver else None


def for_driver(module: str) -> ConnectionKind | None:
    """The kind whose DB-API driver ``module`` is (``psycopg`` -> PostgreSQL)."""
    return next((k for k in kinds() if module in k.drivers), None)


def drivers() -> tuple[str, ...]:
    return tuple(d for k in kinds() for d in k.drivers)


def load_entry_points() -> tuple[str, ...]:
    """Import every kind of the ``jupyter_guard.connections`` entry-point group, once. A kind
    that fails to load raises ``GuardConfigError`` naming it (the guard then refuses every cell)."""
    from importlib.metadata import entry_points

    _builtins()
    names = []
    for ep in entry_points(group=GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, type) and issubclass(obj, ConnectionKind) and obj.dialect and \
                    type(_KINDS.get(obj.dialect)) is not obj:
                register(obj)   # a class defined elsewhere without a dialect of its own
        except Exception as e:  # noqa: BLE001 - any failure of a third-party kind: refuse, naming it
            first = (str(e).strip().splitlines() or [""])[0][:160]
            raise GuardConfigError(
                f"database kind {ep.name!r} ({ep.value}) failed to load ({type(e).__name__}: "
                f"{first}); fix or uninstall the package that provides it") from None
        names.append(ep.name)
    _STATE["entry_points"] = True
    return tuple(names)


def install(shell: Any, guard: Any) -> None:
    """The kernel part "database kinds": entry points, every driver's ``connect``, each kind."""
    from jupyter_guard.connections import dbapi  # late: dbapi imports this module at load

    load_entry_points()
    dbapi.install(shell, guard)
    for kind in kinds():
        kind.install(shell, guard)
