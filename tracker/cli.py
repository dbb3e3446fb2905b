"""Command line: ``python -m tracker COMMAND``. Used by people, automation and acceptance checks.

Exit codes: 0 success; 1 invalid input (nothing stored); 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tracker import access, demo, interchange, limits, queries, verification
from tracker.access import system_member
from tracker.config import Settings, settings_problem
from tracker.entries import Conflict
from tracker.errors import InvalidInput
from tracker.importer import ImportReport
from tracker.store import Store, StoreError
from tracker.wording import quantity

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

# Modules that add commands: each has ``register(subparsers, common_parser)`` adding its own
# subcommand(s) whose ``func(args) -> int`` follows the exit codes above.
EXTENSIONS: tuple[str, ...] = ("tracker.synth", "tracker.report", "tracker.backup", "tracker.bench")

STRUCTURE_KEYS = ("partnership", "structure", "status", "host", "since", "entries")


def _table(rows: list[dict[str, Any]], keys: Sequence[str]) -> str:
    """A plain fixed-width text table."""
    cells = [[("" if r.get(k) is None else str(r[k])) for k in keys] for r in rows]
    widths = [max([len(k)] + [len(row[i]) for row in cells]) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _emit(rows: list[dict[str, Any]], keys: Sequence[str], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(keys), lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
    else:
        print(_table(rows, keys))


def _print_report(report: ImportReport) -> None:
    out = sys.stdout if report.ok else sys.stderr
    for problem in report.problems:
        print(problem, file=out)
    if report.more_problems:
        print(f"… and {quantity(report.more_problems, 'more problem')}", file=out)
    prefix = "dry run: " if report.dry_run and report.ok else ""
    print(prefix + report.summary(), file=out)


def _open(args: argparse.Namespace) -> Store:
    settings = Settings() if args.db is None else Settings(db=args.db)
    return Store(settings.db, settings)


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args) as store:
        print(f"database ready: {store.name} (schema version {store.schema_version()})")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    with _open(args) as store:
        report = limits.import_file(store, path, actor=system_member(), dry_run=args.dry_run)
    _print_report(report)
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_export(args: argparse.Namespace) -> int:
    try:
        fmt = interchange.format_for(args.file, args.format)
    except InvalidInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not Path(args.file).parent.is_dir():
        print(f"error: no such folder: {Path(args.file).parent}", file=sys.stderr)
        return EXIT_USAGE
    if Path(args.file).is_dir():
        example = Path(args.file) / "entries.csv"
        print(f"error: {args.file} is a folder; give a file name, e.g. {example}", file=sys.stderr)
        return EXIT_USAGE
    with _open(args) as store, open(args.file, "wb") as out:
        n = interchange.WRITERS[fmt](queries.export_rows(store), out)
    print(f"exported {n} entries to {args.file} ({fmt})")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    by = [f.strip() for f in args.by.split(",") if f.strip()]
    with _open(args) as store:
        try:
            rows = queries.summary(store, by)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    _emit(rows, [*by, "count"], args.format)
    return EXIT_OK


def cmd_structures(args: argparse.Namespace) -> int:
    with _open(args) as store:
        statuses = store.vocab()["status"].labels
        choices = {**{slug: slug for slug in statuses}, verification.NO_STATUS: verification.NO_STATUS}
        choices |= {label.casefold(): slug for slug, label in statuses.items()} | {
            "not recorded": verification.NO_STATUS
        }
        current = []
        for given in args.status or []:
            slug = choices.get(given.strip().casefold())
            if slug is None:
                known = ", ".join([*statuses, verification.NO_STATUS])
                print(f"error: --status {given!r} is not a status; use one of: {known}", file=sys.stderr)
                return EXIT_USAGE
            current.append(slug)
        # the legacy page's register and search (verification.register), all pages of it
        frame = verification.register(store, find=args.find, current=tuple(dict.fromkeys(current)))
    if frame.empty and (args.find.strip() or current):
        print("no structure matches the search", file=sys.stderr)
    rows = []
    for record in frame.to_dict("records"):
        row = {k: (None if _missing(record[k]) else record[k]) for k in STRUCTURE_KEYS}
        row["entries"] = int(record["entries"])
        if _missing(record["status_slug"]):
            row["status"] = None  # no entry of this structure records a status yet
        rows.append(row)
    _emit(rows, STRUCTURE_KEYS, args.format)
    return EXIT_OK


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def cmd_demo(args: argparse.Namespace) -> int:
    with _open(args) as store:
        if args.if_empty and queries.count_entries(store) > 0:
            print("database already has entries; demo data not loaded")
            return EXIT_OK
        reports = demo.load(store, system_member())
    for name, report in reports:
        print(f"{name}: ", end="")
        _print_report(report)
    return EXIT_OK if all(report.ok for _, report in reports) else EXIT_INVALID


def cmd_member(args: argparse.Namespace) -> int:
    with _open(args) as store:
        actor = system_member()
        if args.action == "list":
            rows = [
                {"email": m.email, "role": m.role, "partnerships": "; ".join(sorted(m.partnerships)), "name": m.name}
                for m in access.list_members(store)
            ]
            _emit(rows, ["email", "role", "partnerships", "name"], args.format)  # name last: columns kept in place
            return EXIT_OK
        try:
            if args.action == "remove":
                if not access.remove_member(store, actor, args.email):
                    print(f"error: {args.email} is not a member", file=sys.stderr)
                    return EXIT_INVALID
                print(f"removed {args.email}")
                return EXIT_OK
            if args.action == "rename":
                member = access.set_member_name(store, actor, args.email, None if args.clear else args.name)
            else:
                data = {"email": args.email, "role": args.role, "partnerships": args.partnership or []}
                member = access.save_member(store, actor, {**data, "name": args.name})
        except InvalidInput as exc:
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            return EXIT_INVALID
        except access.Forbidden as exc:  # e.g. the only admin: nothing was changed
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        print(f"saved {member.describe()}")
        return EXIT_OK


class _Clear(argparse.Action):
    """``--clear``, which takes no value: a name after it ("rename EMAIL --clear Jo") is refused as one
    before it is, not left to argparse's "unrecognized arguments" for the whole tool."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        if values is not None:
            parser.error("argument --clear: not allowed with argument NAME")
        setattr(namespace, self.dest, True)


class _RenameHelp(argparse.HelpFormatter):
    """Help that shows ``--clear`` as the flag it is (it takes a value only to refuse one)."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        return "--clear" if isinstance(action, _Clear) else super()._format_action_invocation(action)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and for the README's usage text)."""
    common = argparse.ArgumentParser(add_help=False)
    db_help = (
        "database file, or postgresql://user:password@host:port/dbname (default: $TRACKER_DB or data/tracker.duckdb)"
    )
    common.add_argument("--db", metavar="PATH", help=db_help)
    parser = argparse.ArgumentParser(
        prog="python -m tracker", description="Systems Change Tracker: manage the tracker database."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create or migrate the database")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", parents=[common], help="import a CSV, XLSX, JSON or Parquet file (all or nothing)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--dry-run", action="store_true", help="validate and report without storing")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", parents=[common], help="export all entries in the interchange format")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=interchange.FORMATS, help="default: from the file extension")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("summary", parents=[common], help="entry counts grouped by one or two fields")
    p.add_argument(
        "--by",
        required=True,
        metavar="FIELD[,FIELD]",
        help=f"one or two of: {', '.join(queries.SUMMARY_FIELDS)}",
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("structures", parents=[common], help="one row per structure with its current status")
    p.add_argument(
        "--find",
        default="",
        metavar="TEXT",
        help="only structures whose name, host or partnership contains TEXT (any case, taken literally)",
    )
    p.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help="only structures whose current status is STATUS (continuing, hosted-elsewhere, decommissioned or "
        "not-recorded; a label such as 'Hosted elsewhere' also works); repeat for several",
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=cmd_structures)

    p = sub.add_parser("demo", parents=[common], help="load the demo data set (idempotent)")
    p.add_argument("--if-empty", action="store_true", help="only when the database has no entries yet")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("member", parents=[common], help="manage who may use the tracker (acts as system admin)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    # --db after the action too; its default is left out so that it never replaces one given before the
    # action (argparse copies every default of the action's parser over what the outer parser set)
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help=db_help)
    add = actions.add_parser("add", parents=[after], help="add a member, or change their role (and name)")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--role", required=True, choices=access.ROLES)
    add.add_argument("--partnership", action="append", metavar="NAME", help="for editors; repeat for several")
    add.add_argument("--name", help="the member's name as shown to people (default: keep the stored one)")
    rename = actions.add_parser(
        "rename",
        parents=[after],
        help="change a member's name only, or clear it",
        usage="%(prog)s [-h] [--db PATH] EMAIL (NAME | --clear)",
        formatter_class=_RenameHelp,
    )
    rename.add_argument("email", metavar="EMAIL")
    named = rename.add_mutually_exclusive_group(required=True)
    named.add_argument("name", metavar="NAME", nargs="?", help="the new name")
    named.add_argument("--clear", action=_Clear, nargs="?", default=False, help="take the stored name away")
    listing = actions.add_parser("list", parents=[after], help="list members")
    listing.add_argument("--format", choices=("table", "json", "csv"), default="table")
    remove = actions.add_parser("remove", parents=[after], help="remove a member")
    remove.add_argument("email", metavar="EMAIL")
    p.set_defaults(func=cmd_member)

    for module in EXTENSIONS:
        importlib.import_module(module).register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = build_parser().parse_args(argv)
    if getattr(args, "db", None) is not None and not args.db.strip():
        # DuckDB would open a throwaway in-memory database, report success and keep nothing
        hint = "give a database file (e.g. data/tracker.duckdb) or leave --db out"
        print(f"error: --db is empty; {hint}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        return EXIT_OK
    except Conflict as exc:  # another session wrote the same entries first; the write was rolled back
        print(f"error: {exc}; nothing was stored, run the command again", file=sys.stderr)
        return EXIT_INVALID
    except ValidationError as exc:  # the TRACKER_* environment (e.g. TRACKER_DB set but empty)
        problem = settings_problem(exc)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. an output file in a folder one may not write to
        where = exc.filename if exc.filename is not None else "a file"
        print(f"error: cannot use {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
