"""Pydantic models: the single source of truth for what a valid record is.

``EntryIn`` is what a form, a file row or the CLI gives; validating it needs the
vocabulary (``EntryIn.model_validate(row, context={"vocab": vocab})``) because
the allowed terms are data. After validation its term fields hold slugs.
``Entry`` is a stored entry as read back from the database.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from tracker.taxonomy import Vocab

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
DATE_PATTERN = r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"  # ASCII digits, as the JSON Schema's pattern reads
HOSTED = "hosted-elsewhere"
KINDS: tuple[str, ...] = ("milestone", "setback")
LIST_SEPARATOR = ";"

# Field limits, named in error messages and in the JSON Schema.
MAX_ID = 64
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_NAME = 200  # host, structure, partnership
MAX_SOURCE = 1000
MAX_QUOTE = 1000
CONTRIBUTIONS: tuple[str, ...] = ("direct", "contributory", "influenced", "unclear")
"""How much the programme contributed to a change, as evaluations rate it."""
SPEAKER_ROLES: tuple[str, ...] = (
    "Partnership staff member",
    "Person with lived experience",
    "Stakeholder, Housing",
    "Stakeholder, Health",
    "Stakeholder, Health and social care",
    "Stakeholder, Police",
    "Stakeholder, Public policy",
    "Stakeholder, Substance misuse",
    "Stakeholder, Voluntary sector",
    "NECG member",
)
"""Speakers' roles as the evaluation reports give them (the form offers these; any role is accepted)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t]")


class Precision(StrEnum):
    """How much of a date the user gave: a year, a month or a day."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}


_EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's 1900 date system (serial 43630 is 2019-06-14)."""


def _spreadsheet_hint(text: str) -> str:
    """What a date as a spreadsheet writes it would be in the tracker's form ("" if it is not one):
    Excel rewrites dates when it saves a CSV (2019-06-14 as 14/06/2019, 2019-06 as Jun-19), and
    writes a date in a cell formatted as General as its serial number (43630). Serials are
    checked from 10000 (1927, the first of five digits: four are a year) to today."""
    day = re.fullmatch(r"([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})", text)
    if day:
        d, m, y = (int(part) for part in day.groups())
        if 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]:
            return (
                f"; read day/month/year as UK spreadsheets write it, that is {y:04d}-{m:02d}-{d:02d}. Excel rewrites "
                "dates when it saves a CSV: save the file as .xlsx, or format the date column as text"
            )
    month = re.fullmatch(r"([A-Za-z]{3})[- ]([0-9]{2}|[0-9]{4})", text)
    if month and month.group(1).lower() in _MONTHS:
        year = int(month.group(2)) if len(month.group(2)) == 4 else 2000 + int(month.group(2))
        if year > date.today().year:  # 'Jun-85' is 1985, not 2085
            year -= 100
        return (
            f"; a month as Excel writes it, that is {year:04d}-{_MONTHS[month.group(1).lower()]:02d}. Excel rewrites "
            "dates when it saves a CSV: save the file as .xlsx, or format the date column as text"
        )
    serial = re.fullmatch(r"([1-9][0-9]{4})(\.[0-9]+)?", text)
    if serial and int(serial.group(1)) <= (date.today() - _EXCEL_EPOCH).days:
        shown = _EXCEL_EPOCH + timedelta(days=int(serial.group(1)))
        return (
            f"; it looks like a date Excel wrote as a serial number (days since {_EXCEL_EPOCH.isoformat()}), that "
            f"is {shown.isoformat()}. The cell is formatted as a number, not a date: write the date as YYYY-MM-DD, "
            "or in Excel format the date column as a date (Format Cells → Custom → yyyy-mm-dd) before you save"
        )
    return ""


class FuzzyDate(BaseModel):
    """A date as entered, with its precision and the period it covers.

    ``2019`` covers 2019-01-01..2019-12-31; it is kept and shown as ``2019``,
    never silently turned into 1 January.
    """

    model_config = ConfigDict(frozen=True)

    text: str
    precision: Precision
    start: date
    end: date

    @classmethod
    def parse(cls, text: str) -> FuzzyDate:
        """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; raise ``ValueError`` in plain words."""
        text = text.strip()
        if not re.fullmatch(DATE_PATTERN, text):
            raise ValueError(
                f"'{text}' is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2019, 2019-06 or 2019-06-30)"
                + _spreadsheet_hint(text)
            )
        parts = [int(p) for p in text.split("-")]
        year = parts[0]
        if year < 1900:
            raise ValueError(f"year {year} is too early (1900 or later)")
        if len(parts) == 1:
            return cls(text=text, precision=Precision.YEAR, start=date(year, 1, 1), end=date(year, 12, 31))
        month = parts[1]
        if not 1 <= month <= 12:
            raise ValueError(f"'{text}' has month {month:02d}; months run 01 to 12")
        last = calendar.monthrange(year, month)[1]
        if len(parts) == 2:
            return cls(text=text, precision=Precision.MONTH, start=date(year, month, 1), end=date(year, month, last))
        day = parts[2]
        if not 1 <= day <= last:
            raise ValueError(f"'{text}' is not a real date: {calendar.month_name[month]} {year} has {last} days")
        d = date(year, month, day)
        return cls(text=text, precision=Precision.DAY, start=d, end=d)


class Partnership(BaseModel):
    """A funded local partnership, e.g. VOICES in Stoke-on-Trent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    slug: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    programme: str = Field(min_length=1, max_length=MAX_NAME)
    area: str = Field(min_length=1, max_length=MAX_NAME)
    start_date: date | None = None
    end_date: date | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        # in words of its own: the pattern's message is the one for entry ids ("letters, digits and . _ : -")
        if not value:
            raise ValueError("is required")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            raise ValueError(
                f"'{value}' may contain only lower-case letters, digits and single hyphens, "
                "e.g. 'changing-futures-lancashire'"
            )
        return value

    @field_validator("name", "programme", "area")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # one line each, as titles and members' names: a line break split the register and the CSV
        return check_text(value, multiline=False)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Partnership:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end date is before start date")
        return self


def _vocab(info: ValidationInfo) -> Vocab:
    vocab = (info.context or {}).get("vocab")
    if vocab is None:
        raise RuntimeError("EntryIn validation needs context={'vocab': Vocab}")
    return vocab  # type: ignore[no-any-return]


def _resolve(vocab: Vocab, vocabulary: str, value: str) -> str:
    lookup = vocab[vocabulary]
    slug = lookup.resolve(value)
    if slug is not None:
        return slug
    hint = lookup.suggest(value)
    if hint:
        raise PydanticCustomError(
            "unknown_term",
            "unknown {noun} '{value}' — did you mean '{hint}'?",
            {"noun": vocabulary, "value": value, "hint": hint},
        )
    allowed = ", ".join(lookup.labels.values())
    raise PydanticCustomError(
        "unknown_term",
        "unknown {noun} '{value}'; use one of: {allowed}",
        {"noun": vocabulary, "value": value, "allowed": allowed},
    )


def check_text(value: str, multiline: bool) -> str:
    """``value`` if it has no control character (and, unless ``multiline``, no line break or tab);
    otherwise a validation error saying what to fix. For every free-text field of a model."""
    if _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character", "contains a control character (invisible code); retype or remove it"
        )
    if not multiline and _LINE_BREAK.search(value):
        raise PydanticCustomError("line_break", "must be a single line (it contains a line break or tab)")
    return value


def _as_text(value: Any) -> Any:
    """Empty cells are empty: blank strings become None; numbers from spreadsheets become text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return value


class EntryIn(BaseModel):
    """One log record as given by a person or a file (labels or slugs, any case)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        title="Entry",
        json_schema_extra={
            "description": (
                "One record of the Systems Change Tracker interchange format. In CSV/XLSX the list "
                "fields (mechanisms, sectors) are one cell separated by ';'. Term fields take a label "
                "or a slug from the taxonomy, case-insensitive."
            )
        },
    )

    id: str | None = Field(
        default=None,
        max_length=MAX_ID,
        pattern=ID_PATTERN,
        description="Stable key. Re-importing a row with an existing id updates that entry; empty = new entry.",
    )
    partnership: str = Field(max_length=MAX_NAME, description="Partnership name or slug.")
    date: str = Field(pattern=DATE_PATTERN, description="YYYY, YYYY-MM or YYYY-MM-DD; kept at the precision given.")
    kind: Literal["milestone", "setback"] = Field(description="milestone or setback.")
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    typology: str = Field(max_length=MAX_NAME, description="Typology category (label or slug).")
    status: str | None = Field(
        default=None,
        validate_default=True,
        max_length=MAX_NAME,
        description="Sustainability status (label or slug); required for milestones.",
    )
    host: str | None = Field(
        default=None,
        validate_default=True,
        max_length=MAX_NAME,
        description="Organisation now hosting it; required when status is hosted elsewhere, else empty.",
    )
    mechanisms: list[str] = Field(
        default_factory=list,
        validate_default=True,
        description="Contributing mechanisms (labels or slugs); at least one for milestones.",
    )
    structure: str | None = Field(
        default=None,
        max_length=MAX_NAME,
        description="Board, network, service or policy the entry is about; names its history.",
    )
    sectors: list[str] = Field(default_factory=list, description="Sectors (labels or slugs).")
    source: str | None = Field(default=None, max_length=MAX_SOURCE, description="Citation or link.")
    quote: str | None = Field(
        default=None, max_length=MAX_QUOTE, description="A short quote about the change, in the speaker's words."
    )
    speaker: str | None = Field(
        default=None,
        validate_default=True,
        max_length=MAX_NAME,
        description="The quoted person's role, e.g. 'Stakeholder, Housing' or 'Person with lived experience'.",
    )
    contribution: Literal["direct", "contributory", "influenced", "unclear"] | None = Field(
        default=None, description="The programme's contribution: direct, contributory, influenced or unclear."
    )

    @field_validator(
        "id",
        "partnership",
        "title",
        "description",
        "typology",
        "status",
        "host",
        "structure",
        "source",
        "quote",
        "speaker",
        mode="before",
    )
    @classmethod
    def _blank_is_empty(cls, value: Any) -> Any:
        return _as_text(value)

    @field_validator("mechanisms", "sectors", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            value = value.isoformat()  # a date cell (Parquet, a DataFrame): checked as the text would be
        value = _as_text(value)
        if isinstance(value, float):  # a spreadsheet or DataFrame number that is not a whole year
            if value != value:
                return None  # NaN: an empty cell of a column of numbers
            raise PydanticCustomError(
                "bad_date",
                "{value} is a number, not a date: write it as YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2019, 2019-06 "
                "or 2019-06-30); a spreadsheet takes a date typed with a point (2019.06) as a number",
                {"value": repr(value)},
            )
        if not isinstance(value, str):
            return value
        try:
            parsed = FuzzyDate.parse(value)
        except ValueError as exc:
            raise PydanticCustomError("bad_date", str(exc)) from None
        if parsed.start > date.today():
            raise PydanticCustomError("future_date", "'{value}' is in the future", {"value": value})
        return parsed.text

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        value = _as_text(value)
        if not isinstance(value, str):
            return value
        key = value.strip().casefold()
        if key in KINDS:
            return key
        close = [k for k in KINDS if k.startswith(key[:4]) and key] or None
        if close:
            raise PydanticCustomError(
                "unknown_kind",
                "unknown kind '{value}' — did you mean '{hint}'?",
                {"value": value, "hint": close[0]},
            )
        raise PydanticCustomError("unknown_kind", "unknown kind '{value}'; use milestone or setback", {"value": value})

    @field_validator("title", "host", "structure", "partnership", "typology", "status", "source", "speaker")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, multiline=False)

    @field_validator("description", "quote")
    @classmethod
    def _multi_line(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, multiline=True)

    @field_validator("partnership")
    @classmethod
    def _partnership(cls, value: str, info: ValidationInfo) -> str:
        return _resolve(_vocab(info), "partnership", value)

    @field_validator("typology")
    @classmethod
    def _typology(cls, value: str, info: ValidationInfo) -> str:
        return _resolve(_vocab(info), "typology", value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("kind") == "milestone":
                raise PydanticCustomError(
                    "status_required",
                    "is required for a milestone: continuing, hosted elsewhere or decommissioned",
                )
            return None
        return _resolve(_vocab(info), "status", value)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "status" not in info.data:
            return value  # the status itself is invalid; that error is enough
        status = info.data["status"]
        if status == HOSTED and not value:
            raise PydanticCustomError(
                "host_required",
                "is required when the status is 'Hosted elsewhere': name the organisation that hosts it now",
            )
        if status != HOSTED and value:
            shown = _vocab(info)["status"].label(status) if status else "empty"
            raise PydanticCustomError(
                "host_forbidden",
                "must be empty unless the status is 'Hosted elsewhere' (status is {status}); "
                "clear the host or change the status",
                {"status": f"'{shown}'" if status else "empty"},
            )
        return value

    @field_validator("contribution", mode="before")
    @classmethod
    def _contribution(cls, value: Any) -> Any:
        value = _as_text(value)
        if not isinstance(value, str):
            return value
        key = value.strip().casefold()
        if key in CONTRIBUTIONS:
            return key
        close = [c for c in CONTRIBUTIONS if key and c.startswith(key[:4])]
        if close:
            raise PydanticCustomError(
                "unknown_contribution",
                "unknown contribution '{value}' — did you mean '{hint}'?",
                {"value": value, "hint": close[0]},
            )
        raise PydanticCustomError(
            "unknown_contribution",
            "unknown contribution '{value}'; use direct, contributory, influenced or unclear",
            {"value": value},
        )

    @field_validator("speaker")
    @classmethod
    def _speaker_needs_a_quote(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and "quote" in info.data and not info.data["quote"]:
            raise PydanticCustomError(
                "speaker_without_quote",
                "is the role of the person quoted: add the quote, or clear the speaker",
            )
        return value

    @field_validator("mechanisms", "sectors")
    @classmethod
    def _terms(cls, value: list[str], info: ValidationInfo) -> list[str]:
        vocab = _vocab(info)
        vocabulary = "mechanism" if info.field_name == "mechanisms" else "sector"
        slugs: list[str] = []
        problems: list[str] = []
        for item in value:
            try:
                slugs.append(_resolve(vocab, vocabulary, item))
            except PydanticCustomError as exc:
                problems.append(exc.message())
        if problems:
            raise PydanticCustomError("unknown_term", "{detail}", {"detail": "; ".join(problems)})
        if vocabulary == "mechanism" and not slugs and info.data.get("kind") == "milestone":
            raise PydanticCustomError(
                "mechanism_required", "at least one contributing mechanism is required for a milestone"
            )
        order = list(vocab[vocabulary].labels)
        return sorted(set(slugs), key=order.index)

    @property
    def fuzzy_date(self) -> FuzzyDate:
        """The entry's date with its precision and the period it covers."""
        return FuzzyDate.parse(self.date)


class Entry(BaseModel):
    """A stored entry, term fields as slugs."""

    model_config = ConfigDict(frozen=True)

    id: str
    partnership: str
    date: FuzzyDate
    kind: Literal["milestone", "setback"]
    title: str
    description: str | None = None
    typology: str
    status: str | None = None
    host: str | None = None
    mechanisms: list[str] = Field(default_factory=list)
    structure: str | None = None
    sectors: list[str] = Field(default_factory=list)
    source: str | None = None
    quote: str | None = None
    speaker: str | None = None
    contribution: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    created_by: str | None = None
    updated_by: str | None = None
    deleted_at: datetime | None = None
    deleted_by: str | None = None
