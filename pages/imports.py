"""数据导入 (admin; a liaison for their own street): upload, check the header and mapping,
preview, import with a progress bar, see and download the rejected rows; blank templates;
the batch history with rollback."""

import streamlit as st

from crm.ui.actions import read, run_action
from crm.ui.plain import plain
from crm.ui.state import language, lbl, require_page, tr
from crm.ui.widgets import flash, show_flash
from etl import app as imports

require_page("imports")
st.title(tr("import.title"))
show_flash()

KIND_LABELS = {kind: lbl("import_kind", kind) for kind in imports.KINDS}
kind = st.selectbox(tr("import.kind"), list(imports.KINDS), format_func=KIND_LABELS.get,
                    key="import_kind")
upload = st.file_uploader(tr("import.file"), type=["xlsx", "xls", "csv"], key="import_file")

if upload is not None:
    data = upload.getvalue()
    overrides_key = f"import_overrides:{kind}:{upload.name}"
    overrides = st.session_state.get(overrides_key) or None
    sheet = st.session_state.get("import_sheet")
    check = read(imports.import_file, data, kind, filename=upload.name, sheet=sheet,
                 dry_run=True, overrides=overrides)
    if len(check.sheet_names) > 1:
        st.selectbox(tr("import.sheet"), check.sheet_names,
                     index=check.sheet_names.index(check.sheet), key="import_sheet")
    st.info(tr("import.header_found", row=check.header_row,
               unmapped=plain("、".join(check.mapping.unmapped)) or "—"))

    st.subheader(tr("import.mapping"))
    fields = read(imports.field_names, kind)
    field_words = imports.field_labels(kind, language())
    mapping_rows = [{"header": c.header, "field": c.field or ""}
                    for c in check.mapping.columns if c.header]
    edited = st.data_editor(
        mapping_rows, key=f"mapping_editor:{kind}:{upload.name}", hide_index=True,
        disabled=["header"], width="stretch",
        column_config={"header": st.column_config.TextColumn(tr("import.col_header")),
                       "field": st.column_config.SelectboxColumn(
                           tr("import.col_field"), options=["", *fields],
                           format_func=lambda f: field_words.get(f, f or "—"))})
    chosen = {row["header"]: (row["field"] or None) for row in edited}
    if chosen != {row["header"]: (row["field"] or None) for row in mapping_rows}:
        st.session_state[overrides_key] = chosen
        st.rerun()
    if st.button(tr("import.save_mapping"), key="save_mapping") and run_action(
            imports.save_mapping, kind, chosen) is not None:
        st.success(tr("import.mapping_saved", n=len(chosen)))

    st.subheader(tr("import.preview"))
    names = [str(h) if h not in (None, "") else f"#{i + 1}" for i, h in enumerate(check.header)]
    unique = [f"{n} ({i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]
    st.dataframe([dict(zip(unique, (str(v) if v is not None else "" for v in row),
                           strict=False)) for row in check.sample],
                 hide_index=True, key="import_preview")
    st.write(tr("import.check", rows=check.rows_read, inserted=check.inserted,
                updated=check.updated, unchanged=check.unchanged, rejected=check.rejected))

    strict = st.checkbox(tr("import.strict"), key="import_strict")
    if st.button(tr("import.run"), type="primary", key="import_run"):
        bar = st.progress(0.0, text=tr("import.running"))

        def progress(stage: str, done: int, total: int) -> None:
            # checking the rows fills the first 60 %, writing them the rest
            part = done / total if total else 1.0
            fraction = 0.6 * part if stage == "plan" else 0.6 + 0.4 * part
            bar.progress(min(fraction, 1.0), text=tr("import.running"))

        report = run_action(imports.import_file, data, kind, filename=upload.name,
                            sheet=sheet, strict=strict, overrides=overrides, progress=progress)
        bar.progress(1.0)
        if report is not None:
            st.session_state["import_report"] = report

report = st.session_state.get("import_report")
if report is not None:
    if report.written:
        st.success(tr("import.done", id=report.batch_id, rows=report.rows_read,
                      inserted=report.inserted, updated=report.updated,
                      unchanged=report.unchanged, rejected=report.rejected))
    else:
        st.warning(tr("import.nothing_written"))
    lang = language()
    heads = {"row": tr("import.col_row"), "column": tr("import.col_column"),
             "value": tr("import.col_value"), "message": tr("import.col_reason")}

    def issue_rows(issues) -> list[dict]:
        return [{heads[k]: v for k, v in i.as_dict(lang).items()} for i in issues]

    if report.errors:
        st.subheader(tr("import.rejected_rows"))
        st.dataframe(issue_rows(report.errors), hide_index=True, key="import_errors")
    if report.warnings:
        st.subheader(tr("import.warnings"))
        st.dataframe(issue_rows(report.warnings[:1000]), hide_index=True,
                     key="import_warnings")
    if report.errors or report.warnings:
        stem = report.filename.rsplit(".", 1)[0] if "." in report.filename else report.filename
        st.download_button(tr("import.download_errors"), imports.errors_bytes(report, lang),
                           file_name=f"rejected-{stem}.xlsx", key="download_errors")

st.subheader(tr("import.templates"))
columns = st.columns(4)
for i, template_kind in enumerate(imports.KINDS):
    columns[i % 4].download_button(
        tr("import.template", kind=KIND_LABELS[template_kind]), imports.template(template_kind),
        file_name=f"{template_kind}.xlsx", key=f"template_{template_kind}")

st.subheader(tr("import.history"))
batches = read(imports.list_batches)


def _stamp(batch: dict) -> str:
    return batch["started_at"].strftime("%Y-%m-%d %H:%M") if batch["started_at"] else "—"


st.dataframe([{tr("import.col_batch"): b["id"], tr("import.col_started_at"): _stamp(b),
               tr("import.col_user"): b["user"] or tr("import.unknown_user"),
               tr("import.kind"): KIND_LABELS[b["kind"]], tr("import.file"): b["filename"],
               tr("import.sheet"): b["sheet"] or "",
               tr("import.col_status"): lbl("batch_status", b["status"]),
               tr("import.col_rows"): b["rows_read"], tr("import.col_inserted"): b["inserted"],
               tr("import.col_updated"): b["updated"],
               tr("import.col_unchanged"): b["unchanged"],
               tr("import.col_rejected"): b["rejected"]} for b in batches],
             hide_index=True, key="batch_table")
done = {b["id"]: b for b in batches if b["status"] == "done"}
if done:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    batch_id = left.selectbox(tr("import.rollback"), list(done), key="rollback_batch",
                              format_func=lambda i: f"{i} · {done[i]['filename']}")
    if right.button(tr("import.rollback_ask"), key="rollback_ask"):
        st.session_state["rollback_pending"] = batch_id
    pending = st.session_state.get("rollback_pending")
    if pending in done:  # a rollback deletes records: say exactly what, and ask
        batch = done[pending]
        st.warning(tr("import.rollback_confirm", id=pending, file=batch["filename"],
                      kind=KIND_LABELS[batch["kind"]], at=_stamp(batch),
                      who=batch["user"] or tr("import.unknown_user"),
                      rows=batch["rows_read"], inserted=batch["inserted"],
                      updated=batch["updated"]))
        yes, no, _ = st.columns([1, 1, 4])
        if no.button(tr("import.rollback_no"), key="rollback_cancel"):
            st.session_state.pop("rollback_pending", None)
            st.rerun()
        if yes.button(tr("import.rollback_yes"), key="rollback_run", type="primary"):
            st.session_state.pop("rollback_pending", None)
            result = run_action(imports.rollback, pending)
            if result is not None:
                flash(tr("import.rolled_back", **result))
                st.rerun()
