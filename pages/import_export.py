"""Import / export: upload a spreadsheet (checked row by row before anything is stored), download entries."""

import io

import streamlit as st

from pages import _ui
from tracker import app_state, importer, interchange, limits, queries
from tracker.entries import Conflict
from tracker.errors import Problem
from tracker.wording import quantity

_ui.frame_guard()

st.title("Import / export")
filters = _ui.current_filters()

member = app_state.member()
st.header("Import entries")
if not member.can_write:
    st.info("Viewers can export but not import. Ask an admin if you need to record entries.", icon=":material/lock:")
    upload = None
elif filters.as_at is not None:
    st.info("Imports are off while you look at the tracker as it stood in the past (As at).", icon=":material/history:")
    upload = None
else:
    st.caption(
        "CSV (UTF-8 or Excel's Windows encoding), XLSX, JSON or Parquet in the interchange format, as the "
        "export buttons below write it. The whole file is "
        "checked first; nothing is stored unless every row is valid. Rows with an existing id update "
        "that entry; importing the same file twice changes nothing."
        + ("" if member.is_admin else " You can import rows of your own partnerships only.")
    )
    upload = st.file_uploader(
        "Choose a CSV, XLSX, JSON or Parquet file",
        type=list(interchange.IMPORT_FORMATS),
        key="upload",
        max_upload_size=app_state.store().settings.max_upload_mb,
        help=f"Up to {app_state.store().settings.max_upload_mb} MB and "
        f"{app_state.store().settings.max_import_rows:,} rows per file.",
    )


def _check(data: bytes, name: str, *, dry_run: bool) -> importer.ImportReport:
    fmt = name.rsplit(".", 1)[-1].lower()
    unit = "records" if fmt in ("json", "parquet") else "rows"
    slot = st.empty() if len(data) > 200_000 else None
    # a bar against the rows the file holds; when they cannot be known cheaply, a running count (#2)
    expected = limits.expected_rows(io.BytesIO(data), fmt) if slot else None
    bar = slot.progress(0.0, text="Reading the file…") if slot and expected else None
    count = slot.status("Reading the file…") if slot and not expected else None

    def progress(rows: int) -> None:
        if bar and expected:
            bar.progress(min(rows / expected, 1.0), text=f"{rows:,} {unit} checked…")
        elif count:
            count.update(label=f"{rows:,} {unit} checked…")

    report = limits.import_stream(  # the upload size and row caps, then the importer
        app_state.store(),
        io.BytesIO(data),
        fmt,
        actor=app_state.member(),
        upload=True,
        dry_run=dry_run,
        progress=progress,
        name=name,
    )
    if slot:
        slot.empty()
    return report


if upload is None:
    st.session_state.pop("import_check", None)
else:
    # Checked again when the data changed (a missing partnership added, an entry edited): the
    # verdict is about the file against the tracker as it is now, not as it was at the upload.
    # The Import button of a valid check imports it: the import checks every row again, against the
    # data as it is then, and says so if they changed.
    key = ((upload.file_id, upload.name, upload.size), app_state.data_version(app_state.store()))
    checked = st.session_state.get("import_check")
    importing = bool(st.session_state.get("do_import")) and checked and checked[0][0] == key[0] and checked[1].ok
    if not importing and (not checked or checked[0] != key):
        checked = (key, _check(upload.getvalue(), upload.name, dry_run=True))
        st.session_state["import_check"] = checked
    report = checked[1]
    if not report.ok:
        st.error(
            f"**{_ui.inert(upload.name)}**: {report.summary()}. Fix these and upload the file again.",
            icon=":material/error:",
        )
        st.dataframe(
            [{"row": p.row, "column": p.column or "", "problem": p.message} for p in report.problems],
            hide_index=True,
            width="stretch",
            column_config={
                "row": st.column_config.NumberColumn(report.unit.capitalize(), format="%d"),
                "column": "Column",
                "problem": st.column_config.TextColumn("Problem", width="large"),
            },
        )
        if report.more_problems:
            st.caption(f"… and {quantity(report.more_problems, 'more problem')} not listed.")
    else:
        st.success(
            f"**{_ui.inert(upload.name)}** is valid. If you import it: {report.summary()}.", icon=":material/task_alt:"
        )
        st.dataframe(
            report.preview,
            hide_index=True,
            width="stretch",
            column_config={
                "row": st.column_config.NumberColumn("Row", format="%d"),
                "action": "Will",
                "id": "Id",
                "partnership": "Partnership",
                "date": "Date",
                "kind": "Kind",
                "title": "Title",
            },
        )
        if len(report.preview) < report.rows_read:
            st.caption(f"Showing the first {len(report.preview)} of {report.rows_read:,} rows.")
        if st.button(f"Import {report.rows_read:,} rows", type="primary", icon=":material/upload:", key="do_import"):
            try:
                done = _check(upload.getvalue(), upload.name, dry_run=False)
            except Conflict as exc:
                done = importer.ImportReport(problems=[Problem(None, None, str(exc))])
            if done.ok:
                st.session_state["import_done"] = done.summary()
                st.session_state.pop("import_check", None)
                st.rerun()
            else:  # the data changed since the check: check the file again, against it as it is now
                st.session_state["import_failed"] = (
                    f"Nothing was stored: {done.summary()}. The data changed since the check: "
                    + "; ".join(_ui.inert(p) for p in done.problems[:5])
                )
                st.session_state.pop("import_check", None)
                st.rerun()
if st.session_state.get("import_failed"):
    st.error(st.session_state.pop("import_failed"), icon=":material/error:")
if st.session_state.get("import_done"):
    st.success(f"Imported: {st.session_state.pop('import_done')}.", icon=":material/check_circle:")

st.header("Export entries")
matching = app_state.read(queries.count_entries, filters)
_ui.filter_caption(filters, matching)
if matching == 0:
    _ui.no_entries()
elif not _ui.too_many_to_export(matching):
    cols = st.columns(4)
    for col, fmt in zip(cols, interchange.FORMATS, strict=True):
        col.download_button(
            f"{fmt.upper()}",
            key=f"export_{fmt}",
            icon=":material/download:",
            width="stretch",
            data=lambda fmt=fmt: _ui.export_bytes(filters, fmt, member),
            file_name=f"systems-change-entries.{fmt}",
            mime=interchange.MEDIA_TYPES[fmt],
        )

st.header("Template and format")
vocab = _ui.vocab()
cols = st.columns(3)
cols[0].download_button(
    "Blank template (CSV)",
    data=lambda: interchange.template("csv"),  # built when clicked, not on every run (#6)
    file_name="template.csv",
    mime="text/csv",
    icon=":material/description:",
    width="stretch",
)
cols[1].download_button(
    "Blank template (XLSX)",
    data=lambda: interchange.template("xlsx", vocab),
    file_name="template.xlsx",
    mime=interchange.MEDIA_TYPES["xlsx"],
    icon=":material/table:",
    width="stretch",
)
description = interchange.format_description(vocab)
cols[2].download_button(
    "Format description",
    data=description,
    file_name="interchange-format.md",
    mime="text/markdown",
    icon=":material/menu_book:",
    width="stretch",
)
with st.expander("The interchange format"):
    st.markdown(description)
