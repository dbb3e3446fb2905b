"""Every validation rule of an entry, with the exact words a user sees.

The same model serves the form, the importer and the CLI, so these messages are
what a partnership lead reads next to a field or on a numbered row.
"""

from datetime import date, timedelta

import pytest

from tests.conftest import valid_row
from tracker.entries import validate
from tracker.errors import InvalidInput
from tracker.models import FuzzyDate, Precision


def errors(store, **changes):
    """The {column: message} a row with these changes produces (empty when valid)."""
    try:
        validate(store.vocab(), valid_row(**changes))
    except InvalidInput as exc:
        return {p.column: p.message for p in exc.problems}
    return {}


def test_valid_row_resolves_labels_to_slugs(store):
    entry = validate(store.vocab(), valid_row())
    assert entry.partnership == "voices"
    assert entry.typology == "coordinating-support"
    assert entry.status == "continuing"
    assert entry.mechanisms == ["personal-relationships", "cross-agency-networks"]  # taxonomy order
    assert entry.sectors == ["housing"]
    assert entry.host is None  # empty cells are empty


@pytest.mark.parametrize(
    ("text", "precision", "start", "end"),
    [
        ("2019", Precision.YEAR, date(2019, 1, 1), date(2019, 12, 31)),
        ("2020-02", Precision.MONTH, date(2020, 2, 1), date(2020, 2, 29)),
        ("2021-06-30", Precision.DAY, date(2021, 6, 30), date(2021, 6, 30)),
    ],
)
def test_dates_keep_their_precision(text, precision, start, end):
    d = FuzzyDate.parse(text)
    assert (d.text, d.precision, d.start, d.end) == (text, precision, start, end)


def test_year_only_date_is_kept_as_a_year_not_first_of_january(store):
    assert validate(store.vocab(), valid_row(date="2017")).date == "2017"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2019-6", "'2019-6' is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD"),
        ("19/06/2019", "is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD"),
        # as Excel rewrites dates when it saves a CSV: what they would be, and how to keep them
        ("14/06/2019", "day/month/year as UK spreadsheets write it, that is 2019-06-14. Excel rewrites dates"),
        ("Jun-19", "a month as Excel writes it, that is 2019-06. Excel rewrites dates when it saves a CSV: save"),
        ("Mar-98", "that is 1998-03"),
        ("２０１９", "is not a date in the form YYYY"),  # other scripts' digits: the schema's pattern refuses them
        ("٢٠١٩-٠٦", "is not a date in the form YYYY"),
        ("2019-13", "has month 13; months run 01 to 12"),
        ("2019-02-30", "is not a real date: February 2019 has 28 days"),
        ("1850", "year 1850 is too early"),
        (f"{date.today().year + 1}", "is in the future"),
        ("", "is required"),
    ],
)
def test_bad_dates_are_explained(store, value, message):
    assert message in errors(store, date=value)["date"]


@pytest.mark.parametrize(
    ("value", "day"),
    [("43630", "2019-06-14"), ("10000", "1927-05-18"), ("45000.75", "2023-03-15")],
)
def test_a_date_excel_wrote_as_a_serial_number_is_named_with_the_date_it_is(store, value, day):
    """A date cell formatted as General is saved by Excel as its serial number (days since
    1899-12-30): the problem says so, which date it is, and how to keep it a date."""
    assert errors(store, date=value)["date"] == (
        f"'{value}' is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2019, 2019-06 or 2019-06-30); "
        f"it looks like a date Excel wrote as a serial number (days since 1899-12-30), that is {day}. "
        "The cell is formatted as a number, not a date: write the date as YYYY-MM-DD, or in Excel format the "
        "date column as a date (Format Cells → Custom → yyyy-mm-dd) before you save"
    )


def _serial(day: date) -> str:
    return str((day - date(1899, 12, 30)).days)


@pytest.mark.parametrize(
    "value",
    [
        *("31/02/2019", "Jux-19", "2019/06/14", "14-06-2019"),
        *("09999", "123456", "43630.", "-43630", _serial(date.today() + timedelta(days=1))),  # no serials
    ],
)
def test_a_date_that_is_no_spreadsheet_date_gets_no_spreadsheet_hint(store, value):
    said = errors(store, date=value)["date"]
    assert "is not a date in the form YYYY" in said and "Excel" not in said


def test_kind_is_case_insensitive_and_suggests(store):
    assert validate(store.vocab(), valid_row(kind="Milestone")).kind == "milestone"
    assert errors(store, kind="mileston")["kind"] == "unknown kind 'mileston' — did you mean 'milestone'?"
    assert "use milestone or setback" in errors(store, kind="event")["kind"]


def test_unknown_typology_suggests_the_nearest_label(store):
    assert errors(store, typology="Leadrship") == {
        "typology": "unknown typology 'Leadrship' — did you mean 'Leadership'?"
    }


def test_unknown_partnership_suggests(store):
    assert errors(store, partnership="Golden Keys")["partnership"] == (
        "unknown partnership 'Golden Keys' — did you mean 'Golden Key'?"
    )


def test_unknown_term_with_nothing_close_lists_the_choices(store):
    message = errors(store, status="paused")["status"]
    assert message.startswith("unknown status 'paused'; use one of: Continuing, Hosted elsewhere")


def test_status_required_for_milestones_optional_for_setbacks(store):
    assert "is required for a milestone" in errors(store, status="")["status"]
    assert errors(store, kind="setback", status="", mechanisms="") == {}


def test_host_required_when_hosted_elsewhere(store):
    assert "is required when the status is 'Hosted elsewhere'" in errors(store, status="hosted elsewhere")["host"]
    entry = validate(store.vocab(), valid_row(status="hosted elsewhere", host="Stoke-on-Trent City Council"))
    assert (entry.status, entry.host) == ("hosted-elsewhere", "Stoke-on-Trent City Council")


def test_host_forbidden_otherwise(store):
    assert errors(store, host="Council")["host"].startswith(
        "must be empty unless the status is 'Hosted elsewhere' (status is 'Continuing')"
    )
    assert "status is empty" in errors(store, kind="setback", status="", host="Council")["host"]


def test_mechanisms_required_for_milestones(store):
    assert errors(store, mechanisms="")["mechanisms"] == (
        "at least one contributing mechanism is required for a milestone"
    )


def test_every_unknown_list_item_is_named(store):
    message = errors(store, mechanisms="Flexibilty; Personal relationships; Austerty")["mechanisms"]
    assert "unknown mechanism 'Flexibilty' — did you mean 'Flexibility'?" in message
    assert "unknown mechanism 'Austerty' — did you mean 'Austerity'?" in message


def test_list_duplicates_collapse_and_blank_items_are_ignored(store):
    entry = validate(store.vocab(), valid_row(mechanisms="flexibility;; Flexibility ;", sectors=" ; "))
    assert entry.mechanisms == ["flexibility"]
    assert entry.sectors == []


@pytest.mark.parametrize(
    ("field", "limit"),
    [("title", 200), ("description", 5000), ("host", 200), ("structure", 200), ("source", 1000)],
)
def test_long_fields_name_their_limit(store, field, limit):
    changes = {field: "x" * (limit + 1)}
    if field == "host":
        changes["status"] = "hosted elsewhere"
    assert errors(store, **changes)[field] == (f"is too long: {limit + 1} characters, the limit is {limit}; shorten it")


def test_title_required(store):
    assert errors(store, title="   ") == {"title": "is required"}


def test_title_must_be_one_line_description_may_not(store):
    assert "single line" in errors(store, title="a\nb")["title"]
    assert errors(store, description="first line\nsecond line") == {}


def test_control_characters_rejected(store):
    assert "control character" in errors(store, description="bell \x07 here")["description"]


def test_id_pattern(store):
    assert "may contain only letters, digits" in errors(store, id="has space")["id"]
    assert errors(store, id="") == {}  # empty id: a new one is generated on save


def test_several_problems_reported_at_once(store):
    found = errors(store, typology="x", date="soon", kind="setback", host="Council", status="")
    assert set(found) == {"typology", "date", "host"}


def test_unknown_field_rejected(store):
    row = valid_row()
    row["notes"] = "x"
    with pytest.raises(InvalidInput) as info:
        validate(store.vocab(), row)
    assert info.value.problems[0].column == "notes"


def test_numbers_from_spreadsheets_become_text(store):
    entry = validate(store.vocab(), valid_row(id=123, date=2018, title=42))
    assert (entry.id, entry.date, entry.title) == ("123", "2018", "42")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # 2019.06 typed into a spreadsheet cell is a number: say what to write instead
        (2019.06, "2019.06 is a number, not a date: write it as YYYY, YYYY-MM or YYYY-MM-DD (e.g. 2019, 2019-06"),
        (2019.5, "2019.5 is a number, not a date: write it as YYYY, YYYY-MM or YYYY-MM-DD"),
        (float("nan"), "is required"),  # an empty cell of a column of numbers (a DataFrame, Parquet)
    ],
)
def test_a_date_given_as_a_number_that_is_not_a_year_is_explained(store, value, message):
    assert errors(store, date=value)["date"].startswith(message)
