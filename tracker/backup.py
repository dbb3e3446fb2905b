"""Backup and restore: a consistent snapshot of the whole database as Parquet files plus a manifest.

``python -m tracker backup DIR`` checkpoints the store, then runs DuckDB's
``EXPORT DATABASE 'DIR' (FORMAT parquet)`` inside one read transaction, so every table comes
from the same moment; ``manifest.json`` records the schema version, the row count and SHA-256
of every table file, and the time. It is built in a hidden folder beside DIR and moved into
place only when complete, so a failed backup leaves nothing; the hidden folder of one killed half-way
is removed by the next backup beside it once no running backup holds it (:func:`clear_unfinished`),
and is never restored. ``python -m tracker restore DIR``
(or the zip the Admin page downloads) rebuilds a database from it: only into a new or empty file, creating the
schema from this tracker's own migrations up to the backup's version, loading each table
from its Parquet file (no SQL from the backup is run), checking the counts, and migrating
to the current schema. The database appears under its name only when all of that succeeded.

In the shared PostgreSQL mode a backup is the same snapshot (one PostgreSQL transaction, each
table copied to Parquet); it restores into a new DuckDB file. PostgreSQL itself is backed up
and restored with pg_dump and pg_restore.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb

from tracker import pg
from tracker.access import Member, audit, require_admin, system_member
from tracker.config import Settings
from tracker.store import Store, StoreError, migration_sql, migrations, utcnow

MANIFEST = "manifest.json"
FORMAT = "systems-change-tracker-backup"
FORMAT_VERSION = 1


_HOLDER = re.compile(r"\.(?P<name>.+)-[a-z0-9_]{8}\.partial")
"""The hidden folder a backup is built in (``tempfile.mkdtemp``'s name), holding only a folder named ``name``."""
STALE_AFTER = 60.0
"""Seconds a hidden folder no backup holds is left alone: a backup locks its folder a moment after making it."""


class BackupError(Exception):
    """A backup cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds: schema version, when, and each table's file, rows and checksum."""

    schema_version: int
    created_at: str
    tables: dict[str, dict[str, Any]]
    duckdb_version: str
    checkpointed: bool

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "schema_version": self.schema_version,
                "created_at": self.created_at,
                "duckdb": self.duckdb_version,
                "checkpointed": self.checkpointed,
                "tables": self.tables,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{directory} is not a tracker backup: it has no {MANIFEST}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"the backup's {MANIFEST} cannot be read ({exc}); the backup is damaged") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(f"{path} is not a Systems Change Tracker backup manifest")
        if data.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"the backup is in format version {data.get('format_version')}; this tracker reads version "
                f"{FORMAT_VERSION}. Restore it with the tracker version that made it"
            )
        try:
            tables = {str(k): dict(v) for k, v in data["tables"].items()}
            for name, table in tables.items():
                if not isinstance(table.get("rows"), int) or not isinstance(table.get("sha256"), str):
                    raise ValueError(name)
                if PurePosixPath(str(table.get("file"))).name != table.get("file"):
                    raise ValueError(name)
            return cls(
                int(data["schema_version"]),
                str(data["created_at"]),
                tables,
                str(data["duckdb"]),
                bool(data.get("checkpointed")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"the backup's {MANIFEST} is incomplete or damaged ({exc!r})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _literal(text: str) -> str:
    """A SQL string literal (EXPORT DATABASE takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(cur: duckdb.DuckDBPyConnection) -> list[str]:
    rows = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = current_schema() AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def create(store: Store, directory: str | Path, actor: Member | None = None) -> Manifest:
    """Write a consistent snapshot of ``store`` to ``directory`` (new or empty); return its manifest.

    The backup is built in a hidden folder beside ``directory`` (inside it when it exists, so on its
    file system) and moved into place only when it is complete, the manifest last: a backup that
    fails leaves nothing behind, and a half one never sits under the folder's name, even when the
    process is killed. With ``actor`` (who must be an admin: a backup holds everything), the backup
    is recorded in the audit log, after the snapshot; if that fails, the backup is removed again.
    """
    if actor is not None:
        require_admin(actor, "make backups")
    target = Path(directory)
    clear_unfinished(target.parent)
    if target.is_dir():
        clear_unfinished(target)  # where a backup into this folder, given empty, was built
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty folder; choose a new folder for the backup")
    existed = target.exists()
    try:
        holder = Path(
            tempfile.mkdtemp(prefix=f".{target.name}-", suffix=".partial", dir=target if existed else target.parent)
        )
    except OSError as exc:
        raise BackupError(
            f"cannot write the backup to {target}: {exc.strerror or exc}; nothing was backed up"
        ) from None
    held: int | None
    try:
        held = _hold(holder)  # until this backup ends, however it ends: no other backup clears the folder
    except OSError:  # a file system without such locks (NFS takes none on a folder): none can take it then
        held = None
    building = holder / (target.name or "backup")
    placed: list[Path] = []  # what this backup put in place, the only things it may remove
    try:
        try:
            manifest, counts = _write(store, building)
            _relocate(building, target)
            if existed:  # an empty folder given: move the files in, the manifest (what makes it a backup) last
                for path in sorted(building.iterdir(), key=lambda p: (p.name == MANIFEST, p.name)):
                    path.rename(target / path.name)
                    placed.append(target / path.name)
            else:
                building.rename(target)
                placed.append(target)
        except (OSError, duckdb.Error) as exc:  # a disk that is full or failing, a folder one may not write to
            why = str(exc.strerror or exc) if isinstance(exc, OSError) else str(exc)
            if isinstance(exc, OSError) and exc.filename:
                why += f" ({Path(exc.filename).name})"
            why = why.replace(str(building), str(target))
            raise BackupError(f"cannot write the backup to {target}: {why}; nothing was backed up") from None
        if actor is not None:  # a backup holds everything: one that cannot be recorded is not kept
            try:
                with store.transaction() as tx:
                    audit(
                        tx, actor, "backup", None, entries=counts.get("entries"), schema_version=manifest.schema_version
                    )
            except (duckdb.Error, StoreError) as exc:
                raise BackupError(f"cannot record the backup in the audit log ({exc}); nothing was backed up") from None
    except BaseException:
        for path in reversed(placed):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(holder, ignore_errors=True)
        if held is not None:
            os.close(held)
    return manifest


def _hold(folder: Path, wait: bool = True) -> int:
    """Lock ``folder`` (an open descriptor holding an exclusive ``flock``; close it to let go).

    The system lets go of the lock when the process ends, killed or not, so a hidden folder whose lock
    can be taken belongs to no running backup. Without ``wait``, raise ``BlockingIOError`` when held.
    """
    import fcntl  # POSIX: the tracker runs on Linux

    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BaseException:
        os.close(fd)
        raise
    return fd


def clear_unfinished(folder: Path) -> list[Path]:
    """Remove the hidden folders in ``folder`` that backups which did not complete (killed, or the
    machine stopped) left behind; return them.

    One is removed only when it is a backup's hidden folder (``.NAME-xxxxxxxx.partial`` holding at most
    a folder ``NAME``), no running backup holds its lock (each holds its own until it ends) and it has
    not changed for :data:`STALE_AFTER` seconds, so a backup running beside this one keeps its folder.
    """
    cleared: list[Path] = []
    try:
        found = [(p, m["name"]) for p in folder.iterdir() if (m := _HOLDER.fullmatch(p.name))]
    except OSError:
        return cleared
    for path, name in found:
        try:
            if path.is_symlink() or not path.is_dir() or time.time() - path.stat().st_mtime < STALE_AFTER:
                continue
            if any(p.name != name for p in path.iterdir()):
                continue  # not shaped like a backup's hidden folder: not ours to remove
            held = _hold(path, wait=False)
        except OSError:  # held by a running backup (BlockingIOError), gone, or no locks here: kept
            continue
        try:
            shutil.rmtree(path, ignore_errors=True)
            cleared.append(path)
        finally:
            os.close(held)
    return cleared


def unfinished(path: Path) -> bool:
    """True when ``path`` is, or is inside, the hidden folder of a backup that did not complete."""
    return any(_HOLDER.fullmatch(part) for part in path.absolute().parts)


def _write(store: Store, folder: Path) -> tuple[Manifest, dict[str, int]]:
    """Export every table of ``store`` to ``folder`` (which must not exist) and write the manifest
    last; return it and each table's row count."""
    cur = store.cursor()
    try:
        cur.execute("CHECKPOINT")  # fold the write-ahead log into the file first
        checkpointed = True
    except duckdb.Error:
        checkpointed = False  # another transaction is running; the export below is still one snapshot
    cur.execute("BEGIN TRANSACTION")
    try:
        tables = _tables(cur)
        counts = {t: cur.execute(f"SELECT count(*) FROM {_ident(t)}").fetchone()[0] for t in tables}  # type: ignore[index]
        version = cur.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]  # type: ignore[index]
        if store.is_postgres:  # EXPORT DATABASE cannot export an attached PostgreSQL catalog
            folder.mkdir()
            for t in tables:
                cur.execute(f"COPY {_ident(t)} TO {_literal(str(folder / f'{t}.parquet'))} (FORMAT parquet)")
        else:
            cur.execute(f"EXPORT DATABASE {_literal(str(folder))} (FORMAT parquet)")
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    described: dict[str, dict[str, Any]] = {}
    for table in tables:
        path = folder / f"{table}.parquet"
        if not path.is_file():
            raise BackupError(f"the export did not write {path.name}; nothing was backed up")
        rows = _parquet_rows(path)
        if rows != counts[table]:
            raise BackupError(f"{path.name} holds {rows} rows but the table had {counts[table]}; nothing was backed up")
        described[table] = {"file": path.name, "rows": rows, "sha256": _sha256(path)}
    manifest = Manifest(
        schema_version=int(version or 0),
        created_at=utcnow().isoformat(timespec="seconds") + "Z",
        tables=described,
        duckdb_version=duckdb.__version__,
        checkpointed=checkpointed,
    )
    (folder / MANIFEST).write_text(manifest.to_json() + "\n", encoding="utf-8")
    return manifest, counts


def _relocate(folder: Path, target: Path) -> None:
    """Make DuckDB's load.sql name the files where they will be: it names the folder it exported to."""
    load = folder / "load.sql"
    if load.is_file():
        text = load.read_text(encoding="utf-8")
        quoted = str(folder).replace("'", "''") + "/"
        load.write_text(text.replace(quoted, str(target).replace("'", "''") + "/"), encoding="utf-8")


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def zip_bytes(store: Store, actor: Member) -> bytes:
    """A backup of ``store`` as one zip, made by ``actor`` (an admin), for the Admin page's download.

    ``python -m tracker restore`` reads the zip as it is.
    """
    with tempfile.TemporaryDirectory(prefix="tracker-backup-") as tmp:
        folder = Path(tmp) / "backup"
        create(store, folder, actor)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.iterdir()):
                zf.write(path, path.name)
        return out.getvalue()


def _unzip(path: Path, into: Path) -> Path:
    """Extract a backup zip safely (plain file names only, no paths) and return the folder holding it."""
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir():
                    continue
                if name.is_absolute() or ".." in name.parts or "\\" in info.filename or len(name.parts) > 2:
                    raise BackupError(
                        f"the zip contains an unexpected path '{info.filename}'; it is not a tracker backup"
                    )
                destination = into.joinpath(*name.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise BackupError(f"{path} is not a readable zip file ({exc})") from None
    if (into / MANIFEST).is_file():
        return into
    found = [p.parent for p in into.glob(f"*/{MANIFEST}")]
    if len(found) != 1:
        raise BackupError(f"{path} holds no {MANIFEST}; it is not a tracker backup")
    return found[0]


def _is_empty_database(path: Path) -> bool:
    """True when ``path`` does not exist, is an empty file, or is a database with no tables."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"cannot open {path} to check that it is empty: {exc}") from None
    try:
        return not _tables(conn.cursor())
    finally:
        conn.close()


# Created exactly as Store.migrate creates it, so later migrations apply normally.
_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


def restore(source: str | Path, db: str | Path, settings: Settings | None = None) -> Manifest:
    """Rebuild the database ``db`` (new or empty) from the backup folder or zip ``source``."""
    if pg.is_url(str(db)):
        raise BackupError(
            "restore writes a new DuckDB file (e.g. --db data/restored.duckdb), not a PostgreSQL database; "
            "back up and restore PostgreSQL with pg_dump and pg_restore (see README, 'Shared PostgreSQL mode')"
        )
    source, target = Path(source), Path(db)
    if not source.exists():
        raise BackupError(f"no such backup: {source}")
    if unfinished(source):  # even with a manifest: never moved into place nor recorded in the audit log
        raise BackupError(
            f"{source} is an unfinished backup (the hidden folder of a backup that did not complete); "
            "restore a complete backup, or make a new one"
        )
    wal = target.with_name(target.name + ".wal")
    if wal.exists() or not _is_empty_database(target):
        raise BackupError(
            f"{target} is not empty; restore only into a new database, e.g. --db data/restored.duckdb, "
            "then stop the app and put that file in place of the old one"
        )
    with tempfile.TemporaryDirectory(prefix="tracker-restore-") as tmp:
        folder = _unzip(source, Path(tmp)) if source.is_file() else source
        manifest = Manifest.read(folder)
        known = {version: (name, path) for version, name, path in migrations()}
        newest = max(known, default=0)
        if manifest.schema_version > newest:
            raise BackupError(
                f"the backup has schema version {manifest.schema_version}, newer than this tracker's "
                f"{newest}; upgrade the tracker, then restore"
            )
        for table, info in manifest.tables.items():
            path = folder / info["file"]
            if not path.is_file():
                raise BackupError(f"the backup lacks {info['file']} (table {table}); it is incomplete")
            if _sha256(path) != info["sha256"]:
                raise BackupError(f"{info['file']} does not match its checksum in {MANIFEST}; the backup is damaged")
        target.parent.mkdir(parents=True, exist_ok=True)
        building = target.with_name(target.name + ".restoring")
        for leftover in (building, building.with_name(building.name + ".wal")):
            leftover.unlink(missing_ok=True)  # only ever our own half-built file from a failed restore
        try:
            _load(building, folder, manifest, known)
            settings = settings or Settings(db=str(target))
            with Store(str(building), settings):  # migrates to the current schema, checks it opens
                pass
            if building.with_name(building.name + ".wal").exists():
                raise BackupError("the restored database did not close cleanly; nothing was restored")
            os.replace(building, target)
        except BaseException:
            building.unlink(missing_ok=True)
            raise
    return manifest


def _load(path: Path, folder: Path, manifest: Manifest, known: dict[int, tuple[str, Path]]) -> None:
    try:
        conn = duckdb.connect(str(path))
    except duckdb.Error as exc:  # e.g. a folder one may not write to
        raise BackupError(f"cannot create the database {path.with_suffix('')}: {exc}") from None
    try:
        cur = conn.cursor()
        cur.execute(_MIGRATIONS_TABLE)
        for version in sorted(v for v in known if v <= manifest.schema_version):
            name, sql = known[version]
            cur.execute("BEGIN TRANSACTION")
            text = migration_sql(sql, postgres=False)  # a restore is always a DuckDB file
            if text is not None:
                cur.execute(text)
            cur.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
            cur.execute("COMMIT")
        tables = _tables(cur)
        if sorted(manifest.tables) != tables:
            raise BackupError(
                f"the backup's tables ({', '.join(sorted(manifest.tables))}) do not match schema version "
                f"{manifest.schema_version} ({', '.join(tables)}); the backup is damaged"
            )
        cur.execute("BEGIN TRANSACTION")
        for table in tables:  # replace what the migrations seeded with exactly what was backed up
            cur.execute(f"DELETE FROM {_ident(table)}")
            cur.execute(
                f"INSERT INTO {_ident(table)} BY NAME SELECT * FROM read_parquet(?)",
                [str(folder / manifest.tables[table]["file"])],
            )
            rows = cur.execute(f"SELECT count(*) FROM {_ident(table)}").fetchone()[0]  # type: ignore[index]
            if rows != manifest.tables[table]["rows"]:
                raise BackupError(
                    f"table {table}: {rows} rows restored, the manifest says {manifest.tables[table]['rows']}"
                )
        cur.execute("COMMIT")
        cur.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise BackupError(f"the backup cannot be loaded: {exc}") from None
    finally:
        conn.close()


# -- command line --------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace) -> int:
    settings = Settings() if args.db is None else Settings(db=args.db)
    parent = Path(args.dir).parent
    if not parent.is_dir():
        print(f"error: no such folder: {parent}; create it first, or choose a folder that exists", file=sys.stderr)
        return 2
    try:
        with Store(settings.db, settings) as store:
            manifest = create(store, args.dir, system_member())
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = sum(t["rows"] for t in manifest.tables.values())
    entries = manifest.tables.get("entries", {}).get("rows", 0)
    print(
        f"backed up {pg.redact(settings.db)} to {args.dir}: {entries} entries, {rows} rows in "
        f"{len(manifest.tables)} tables "
        f"(schema version {manifest.schema_version})"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = Settings() if args.db is None else Settings(db=args.db)
    if not Path(args.backup).exists():
        print(f"error: no such backup: {args.backup}", file=sys.stderr)
        return 2
    try:
        manifest = restore(args.backup, settings.db, settings)
    except (BackupError, StoreError) as exc:
        print(f"error: {exc}; nothing was restored", file=sys.stderr)
        return 1
    entries = manifest.tables.get("entries", {}).get("rows", 0)
    print(f"restored {entries} entries into {settings.db} from the backup of {manifest.created_at}")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``backup`` and ``restore`` commands to the CLI."""
    p = sub.add_parser(
        "backup",
        parents=[common],
        help="write a consistent snapshot of the database to a new folder (Parquet files + manifest)",
    )
    p.add_argument("dir", metavar="DIR", help="a new or empty folder")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        parents=[common],
        help="rebuild a new, empty database from a backup folder or backup zip",
    )
    p.add_argument("backup", metavar="DIR", help="the backup folder (or the zip downloaded from the Admin page)")
    p.set_defaults(func=cmd_restore)
