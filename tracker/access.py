"""Who may do what: members, roles per partnership, and the checks every write makes.

Roles: ``admin`` (everything), ``viewer`` (funders: read everything, write nothing),
``editor`` (partnership leads: create, edit, delete and restore entries of their own
partnerships). The checks live here and are called by the write functions themselves, so
hiding a button in the UI is never the only protection.
"""

from __future__ import annotations

import getpass
import json
import re
import socket
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tracker.errors import InvalidInput, Problem, problems
from tracker.models import check_text
from tracker.store import Store, utcnow

Role = Literal["admin", "viewer", "editor"]
ROLES: tuple[str, ...] = ("admin", "viewer", "editor")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Forbidden(Exception):
    """The acting member may not do this; the message says what and why."""


@dataclass(frozen=True)
class Member:
    """A person (or the system) acting on the tracker."""

    email: str
    role: str
    partnerships: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        """Admins manage members, partnerships and taxonomy, and edit everything."""
        return self.role == "admin"

    def can_edit(self, partnership: str) -> bool:
        """May this member create, edit, delete or restore entries of ``partnership``?"""
        return self.role == "admin" or (self.role == "editor" and partnership in self.partnerships)

    @property
    def can_write(self) -> bool:
        """May this member write anything at all?"""
        return self.role == "admin" or (self.role == "editor" and bool(self.partnerships))

    def describe(self) -> str:
        """The member as shown to people and in the audit log: "Jo Smith <jo@example.org> (editor: voices)",
        or "jo@example.org (editor: voices)" without a name."""
        scope = f": {', '.join(sorted(self.partnerships))}" if self.role == "editor" else ""
        who = f"{self.name} <{self.email}>" if self.name else self.email
        return f"{who} ({self.role}{scope})"


def system_member() -> Member:
    """The command line acts as a system administrator; the OS user is recorded as the actor."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Member(f"system:cli:{user}@{socket.gethostname()}", "admin", name="Command line")


LOCAL_ADMIN = Member("local-admin", "admin", name="Local mode (no sign-in)")


def require_edit(member: Member, partnership: str, what: str = "change entries of") -> None:
    """Raise :class:`Forbidden` unless ``member`` may edit ``partnership``."""
    if not member.can_edit(partnership):
        if member.role == "viewer":
            raise Forbidden(f"{member.email} is a viewer and cannot {what} any partnership")
        raise Forbidden(f"{member.email} cannot {what} partnership '{partnership}' (not one of theirs)")


def require_admin(member: Member, what: str) -> None:
    """Raise :class:`Forbidden` unless ``member`` is an admin."""
    if not member.is_admin:
        raise Forbidden(f"only admins can {what}; {member.email} is {member.role}")


class MemberIn(BaseModel):
    """A member as an admin (or the CLI) enters them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(max_length=254)
    role: Role
    partnerships: list[str] = Field(default_factory=list, validate_default=True)
    name: str | None = Field(default=None, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        # a blank name is no name: a change of role keeps the one stored
        return check_text(value, multiline=False) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError(f"'{value}' is not an email address")
        return value.lower()

    @field_validator("partnerships")
    @classmethod
    def _partnerships(cls, value: list[str], info: Any) -> list[str]:
        vocab = (info.context or {}).get("vocab")
        if vocab is None:
            return value
        slugs, unknown = [], []
        for item in value:
            slug = vocab["partnership"].resolve(item)
            if slug is None:
                hint = vocab["partnership"].suggest(item)
                unknown.append(f"unknown partnership '{item}'" + (f" — did you mean '{hint}'?" if hint else ""))
            elif slug not in slugs:
                slugs.append(slug)
        if unknown:
            raise ValueError("; ".join(unknown))
        if info.data.get("role") == "editor" and not slugs:
            raise ValueError("an editor needs at least one partnership")
        if info.data.get("role") in ("admin", "viewer") and slugs:
            raise ValueError("only editors have partnerships (admins and viewers see and do everything they may)")
        return slugs


_WRITES = [0]  # audit events written by this process (every write records one)


def writes() -> int:
    """How many audit events this process has written: changes whenever this process writes."""
    return _WRITES[0]


def audit(cur: Any, actor: Member, action: str, entry_id: str | None = None, **detail: Any) -> str:
    """Append one event to the audit log (inside the caller's transaction); return its id."""
    import uuid

    event = uuid.uuid4().hex
    cur.execute(
        "INSERT INTO audit_log (id, happened_at, actor, action, entry_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [event, utcnow(), actor.email, action, entry_id, json.dumps(detail, default=str, ensure_ascii=False)],
    )
    _WRITES[0] += 1
    return event


def get_member(store: Store, email: str) -> Member | None:
    """The member with this email (case-insensitive), or ``None`` if they are not a member."""
    cur = store.cursor()
    row = cur.execute("SELECT email, role, name FROM members WHERE email = ?", [email.strip().lower()]).fetchone()
    if row is None:
        return None
    parts = cur.execute("SELECT partnership FROM member_partnerships WHERE email = ?", [row[0]]).fetchall()
    return Member(row[0], row[1], frozenset(p[0] for p in parts), row[2])


def list_members(store: Store) -> list[Member]:
    """Every member, by email."""
    cur = store.cursor()
    rows = cur.execute("SELECT email, role, name FROM members ORDER BY email").fetchall()
    links: dict[str, set[str]] = {}
    for email, partnership in cur.execute("SELECT email, partnership FROM member_partnerships").fetchall():
        links.setdefault(email, set()).add(partnership)
    return [Member(e, r, frozenset(links.get(e, ())), n) for e, r, n in rows]


def _keep_an_admin(cur: Any, email: str) -> None:
    """Raise :class:`Forbidden` if the admin ``email`` is the only one (inside the caller's transaction):
    without an admin nobody could manage members on the Admin page. The local-mode admin and the
    command line are not members, so they could otherwise remove or demote the last one."""
    others = cur.execute("SELECT count(*) FROM members WHERE role = 'admin' AND email <> ?", [email]).fetchone()[0]
    if not others:
        raise Forbidden(f"{email} is the only admin; make another member an admin first")


def save_member(store: Store, actor: Member, data: dict[str, Any]) -> Member:
    """Add a member or change their role and partnerships (admins only; audited). A change keeps
    when and by whom the member was added, and their name unless ``data`` gives a new one."""
    require_admin(actor, "manage members")
    try:
        member = MemberIn.model_validate(data, context={"vocab": store.vocab()})
    except ValidationError as exc:
        raise InvalidInput(problems(exc)) from None
    before = get_member(store, member.email)
    if before is not None and before.email == actor.email and before.role == "admin" and member.role != "admin":
        # as with removing yourself: the last admin would otherwise lock everyone out of this page
        raise Forbidden("you cannot take away your own admin role; ask another admin")
    with store.transaction() as cur:
        if before is not None and before.role == "admin" and member.role != "admin":
            _keep_an_admin(cur, before.email)
        cur.execute("DELETE FROM member_partnerships WHERE email = ?", [member.email])
        # A change keeps when and by whom the member was added, and their name unless a new one is given.
        changed = cur.execute(
            "UPDATE members SET role = ?, name = coalesce(?, name) WHERE email = ?",
            [member.role, member.name, member.email],
        ).fetchone()[0]  # type: ignore[index]
        if not changed:
            cur.execute(
                "INSERT INTO members (email, role, name, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
                [member.email, member.role, member.name, utcnow(), actor.email],
            )
        if member.partnerships:
            cur.executemany(
                "INSERT INTO member_partnerships VALUES (?, ?)", [[member.email, p] for p in member.partnerships]
            )
        name = member.name if member.name is not None else (before.name if before else None)
        audit(
            cur,
            actor,
            "member.update" if before else "member.add",
            before=before.describe() if before else None,
            after=Member(member.email, member.role, frozenset(member.partnerships), name).describe(),
        )
    saved = get_member(store, member.email)
    assert saved is not None
    return saved


def set_member_name(store: Store, actor: Member, email: str, name: str | None) -> Member:
    """Change a member's name, or clear it with ``name=None`` (admins only; audited as any change of a
    member). Their role and partnerships, and when and by whom they were added, stay as they are.
    A blank name is refused: unlike a change of role, where it keeps the stored name, here it would
    mean nothing, and clearing a name is asked for by ``None``."""
    require_admin(actor, "manage members")
    if name is not None and not name.strip():
        raise InvalidInput([Problem(None, "name", "is blank: give the new name, or clear the name")])
    before = get_member(store, email)
    if before is None:
        raise InvalidInput([Problem(None, "email", f"{email.strip().lower()} is not a member; add them first")])
    data = {"email": before.email, "role": before.role, "partnerships": sorted(before.partnerships), "name": name}
    try:
        member = MemberIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(problems(exc)) from None
    with store.transaction() as cur:
        sql = "UPDATE members SET name = ? WHERE email = ?"
        changed = cur.execute(sql, [member.name, before.email]).fetchone()[0]  # type: ignore[index]
        if not changed:  # removed meanwhile: nothing to name
            raise InvalidInput([Problem(None, "email", f"{before.email} is not a member; add them first")])
        audit(cur, actor, "member.update", before=before.describe(), after=replace(before, name=member.name).describe())
    saved = get_member(store, before.email)
    assert saved is not None
    return saved


def remove_member(store: Store, actor: Member, email: str) -> bool:
    """Remove a member (admins only; audited). Returns False if there was no such member."""
    require_admin(actor, "manage members")
    before = get_member(store, email)
    if before is None:
        return False
    if before.email == actor.email:
        raise Forbidden("you cannot remove yourself; ask another admin")
    with store.transaction() as cur:
        if before.role == "admin":
            _keep_an_admin(cur, before.email)
        cur.execute("DELETE FROM member_partnerships WHERE email = ?", [before.email])
        cur.execute("DELETE FROM members WHERE email = ?", [before.email])
        audit(cur, actor, "member.remove", before=before.describe())
    return True
