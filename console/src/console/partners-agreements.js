// The Agreements tab: what needs attention (overdue and at-risk commitments, worst first), the
// agreements the user may see, and one agreement opened: its parties, areas of collaboration
// and their commitments with health, the progress form for the responsible party, and the
// quarterly report (PDF / CSV) and signed document to download.
import { h } from "../shared/dom.js";
import { button, facts, fill, plural, problemLine, stamp, table, words } from "./soc-util.js";

const HEALTH_TEXT = { overdue: "Overdue", at_risk: "At risk", on_track: "On track", delivered: "Delivered", cancelled: "Cancelled" };

/** The current calendar quarter in South Africa (SAST, UTC+2), e.g. "2026Q4". */
export function currentQuarter(now = new Date()) {
  const sast = new Date(now.getTime() + 2 * 3600 * 1000);
  return `${sast.getUTCFullYear()}Q${Math.floor(sast.getUTCMonth() / 3) + 1}`;
}

export function healthBadge(health) {
  return h("span", { class: `pt-health h-${health}`, text: HEALTH_TEXT[health] || words(health) });
}

function day(value) {
  return value ? String(value).slice(0, 10) : "—";
}

function targetText(c) {
  if (c.target === null || c.target === undefined) return c.indicator;
  return `${c.indicator} · ${c.direction === "at_most" ? "at most" : "at least"} ${c.target}`;
}

export function agreementBoard(panel, ctx) {
  const { api, me } = ctx;
  const myAgency = me.agency ? me.agency.id : null;
  let openId = null;
  let progressFor = null; // commitment id whose form is open

  const dashboardBody = h("tbody");
  const dashboardEmpty = h("p", { class: "muted", text: "Nothing overdue or at risk." });
  const listBody = h("tbody");
  const listProblem = problemLine();
  const detail = h("section", { class: "pt-detail", "aria-label": "Agreement", hidden: true });
  const list = h(
    "div",
    { class: "pt-list" },
    h("h3", { text: "Needs attention" }),
    table("Overdue and at-risk commitments", ["Health", "Commitment", "Agreement", "Responsible", "Due"], dashboardBody),
    dashboardEmpty,
    h("h3", { text: "Agreements" }),
    table("Agreements", ["Title", "Type", "Status", "Parties", "Signed"], listBody),
    listProblem.node,
  );
  panel.append(h("div", { class: "pt-split" }, list, detail));

  async function reload() {
    try {
      const [agreements, dashboard] = await Promise.all([api.get("/api/partners/agreements"), api.get("/api/partners/dashboard")]);
      if (ctx.gone()) return;
      listProblem.clear();
      fill(
        listBody,
        agreements.map((a) => {
          const row = h(
            "tr",
            { tabindex: "0", "aria-selected": String(a.id === openId), onclick: () => open(a.id) },
            h("th", { scope: "row", text: a.title }),
            h("td", { text: words(a.type) }),
            h("td", {}, h("span", { class: `soc-badge st-${a.status}`, text: words(a.status) })),
            h("td", { text: a.parties.map((p) => p.name).join(", ") }),
            h("td", { text: day(a.signed_on) }),
          );
          row.dataset.id = a.id;
          row.addEventListener("keydown", (e) => e.key === "Enter" && open(a.id));
          return row;
        }),
      );
      if (!agreements.length) fill(listBody, h("tr", {}, h("td", { colspan: "5", class: "muted", text: "No agreements you may see." })));
      fill(
        dashboardBody,
        dashboard.map((c) =>
          h(
            "tr",
            { class: `pt-${c.health}`, tabindex: "0", onclick: () => open(c.agreement_id) },
            h("td", {}, healthBadge(c.health)),
            h("th", { scope: "row", text: c.what }),
            h("td", { text: c.agreement_title }),
            h("td", { text: c.responsible_agency || "" }),
            h("td", { text: day(c.due_on) }),
          ),
        ),
      );
      dashboardEmpty.hidden = dashboard.length > 0;
      if (openId) await open(openId, false);
    } catch (error) {
      listProblem.show(error);
    }
  }

  async function open(id, focus = true) {
    openId = id;
    for (const row of listBody.querySelectorAll("tr[data-id]")) row.setAttribute("aria-selected", String(row.dataset.id === id));
    let a;
    try {
      a = await api.get(`/api/partners/agreements/${encodeURIComponent(id)}`);
    } catch (error) {
      const p = problemLine();
      p.show(error);
      fill(detail, p.node);
      detail.hidden = false;
      return;
    }
    if (ctx.gone()) return;
    renderDetail(a);
    if (focus) detail.querySelector("h3").focus();
  }

  function renderDetail(a) {
    const title = h("h3", { text: a.title, tabindex: "-1" });
    detail.setAttribute("aria-label", a.title);
    const quarter = h("input", { type: "text", value: currentQuarter(), size: "8", "aria-label": "Quarter", pattern: "\\d{4}Q[1-4]" });
    const downloads = problemLine();
    const download = (format) => async () => {
      downloads.clear();
      const q = quarter.value.trim();
      try {
        await api.download(
          `/api/partners/agreements/${encodeURIComponent(a.id)}/report?quarter=${encodeURIComponent(q)}&format=${format}`,
          `agreement-${a.id.slice(0, 8)}-${q}.${format}`,
        );
      } catch (error) {
        downloads.show(error);
      }
    };
    const reportBar = h(
      "div",
      { class: "pt-bar", role: "group", "aria-label": "Quarterly report" },
      h("span", { class: "muted", text: "Quarterly report" }),
      quarter,
      button("Download PDF", download("pdf")),
      button("Download CSV", download("csv")),
      a.document_sha256
        ? button(`Signed document (${a.document_name || "PDF"})`, async () => {
            try {
              await api.download(`/api/partners/agreements/${encodeURIComponent(a.id)}/document`, a.document_name || "agreement.pdf");
            } catch (error) {
              downloads.show(error);
            }
          })
        : h("span", { class: "muted", text: "No signed document stored" }),
    );
    const parties = h("ul", { class: "pt-parties", "aria-label": "Parties" }, a.parties.map((p) => h("li", { text: `${p.name} (${words(p.type)})` })));
    const areas = a.areas.map((area) => renderArea(area));
    fill(
      detail,
      title,
      facts([
        ["Type", words(a.type)],
        ["Status", words(a.status)],
        ["Signed", a.signed_on ? day(a.signed_on) : "not signed"],
        ["Review", a.review_on ? day(a.review_on) : null],
        ["Ends", a.ends_on ? day(a.ends_on) : null],
        ["Where", [a.province, a.municipality].filter(Boolean).join(" · ")],
      ]),
      a.summary ? h("p", { text: a.summary }) : null,
      h("h4", { text: "Parties" }),
      parties,
      reportBar,
      downloads.node,
      h("h4", { text: `Areas of collaboration (${a.areas.length})` }),
      areas.length ? areas : h("p", { class: "muted", text: "No areas of collaboration recorded yet." }),
    );
    detail.hidden = false;
  }

  function renderArea(area) {
    const body = h("tbody");
    for (const c of area.commitments) {
      const mine = ctx.canWrite && myAgency && c.responsible_agency_id === myAgency;
      const progress = c.last_report_at
        ? `${c.percent} %${c.reported_value !== null && c.reported_value !== undefined ? ` · value ${c.reported_value}` : ""} · ${stamp(c.last_report_at)}`
        : "no report yet";
      const row = h(
        "tr",
        { class: `pt-${c.health}` },
        h("td", {}, healthBadge(c.health)),
        h("th", { scope: "row", text: c.what }),
        h("td", { text: c.responsible_agency || "" }),
        h("td", { text: day(c.due_on) }),
        h("td", { text: targetText(c) }),
        h("td", { text: words(c.status) }),
        h("td", { class: "pt-progress", text: progress }),
        h(
          "td",
          {},
          mine ? button("Report progress", () => toggleForm(c)) : null,
          button("History", () => showHistory(c, row)),
        ),
      );
      body.append(row);
      if (progressFor === c.id && mine) body.append(h("tr", { class: "pt-form-row" }, h("td", { colspan: "8" }, progressForm(c))));
    }
    if (!area.commitments.length) body.append(h("tr", {}, h("td", { colspan: "8", class: "muted", text: "No commitments yet." })));
    return h(
      "div",
      { class: "pt-area" },
      h("h5", { text: `${area.title} · ${words(area.kind)}` }),
      area.description ? h("p", { class: "muted", text: area.description }) : null,
      table(`Commitments: ${area.title}`, ["Health", "Commitment", "Responsible", "Due", "Indicator / target", "Status", "Latest progress", ""], body, "pt-commitments"),
    );
  }

  function toggleForm(c) {
    progressFor = progressFor === c.id ? null : c.id;
    open(openId, false).then(() => {
      const field = detail.querySelector(".pt-progress-form input[name=percent]");
      if (field) field.focus();
    });
  }

  async function showHistory(c, row) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("pt-history-row")) {
      next.remove();
      return;
    }
    let reports;
    try {
      reports = await api.get(`/api/partners/commitments/${encodeURIComponent(c.id)}/progress`);
    } catch (error) {
      reports = [];
      ctx.announce(error.message);
    }
    const items = reports
      .slice()
      .reverse()
      .map((r) =>
        h("li", {}, h("strong", { text: `${r.percent} %${r.on_track ? "" : " · not on track"}` }), h("span", { class: "muted", text: ` ${stamp(r.at)} · ${r.reported_by}` }), h("div", { text: r.note })),
      );
    row.after(
      h(
        "tr",
        { class: "pt-history-row" },
        h("td", { colspan: "8" }, items.length ? h("ol", { class: "pt-history", "aria-label": `Progress of ${c.what}` }, items) : h("p", { class: "muted", text: "No progress reported yet." })),
      ),
    );
  }

  function progressForm(c) {
    const problem = problemLine();
    const percent = h("input", { type: "number", name: "percent", min: "0", max: "100", value: String(c.percent || 0), required: true });
    const onTrack = h("input", { type: "checkbox", name: "on_track", checked: true });
    const value = h("input", { type: "number", name: "value", step: "any" });
    const note = h("textarea", { name: "note", rows: "2", required: true, maxlength: "5000" });
    const status = h(
      "select",
      { name: "status" },
      h("option", { value: "", text: "(unchanged)" }),
      ...["in_progress", "delivered", "cancelled"].map((s) => h("option", { value: s, text: words(s) })),
    );
    const evidence = h("input", { type: "file", name: "evidence", accept: "application/pdf,image/jpeg,image/png,image/webp" });
    const form = h(
      "form",
      { class: "pt-form pt-progress-form", "aria-label": `Progress on ${c.what}` },
      h("label", {}, "Percent done", percent),
      h("label", { class: "pt-check" }, onTrack, "On track"),
      h("label", {}, "Indicator value", value),
      h("label", {}, "Status", status),
      h("label", { class: "pt-wide" }, "Note", note),
      h("label", { class: "pt-wide" }, "Evidence of delivery (PDF or image)", evidence),
      h("div", { class: "pt-wide pt-bar" }, h("button", { type: "submit", text: "Submit progress" }), button("Cancel", () => toggleForm(c))),
      problem.node,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.clear();
      const body = { percent: Number(percent.value), on_track: onTrack.checked, note: note.value };
      if (value.value !== "") body.value = Number(value.value);
      if (status.value) body.status = status.value;
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const file = evidence.files && evidence.files[0];
        if (file) body.evidence_sha256 = (await uploadEvidence(file)).sha256;
        const updated = await api.post(`/api/partners/commitments/${encodeURIComponent(c.id)}/progress`, body);
        progressFor = null;
        ctx.announce(`Progress recorded: ${updated.what} is ${HEALTH_TEXT[updated.health] || updated.health}.`);
        await reload();
      } catch (error) {
        problem.show(error);
        submit.disabled = false;
      }
    });
    return form;
  }

  /** Raw upload (the API takes the body as is, addressed by its SHA-256). */
  async function uploadEvidence(file) {
    const response = await fetch("/api/partners/files", {
      method: "POST",
      headers: { authorization: `Bearer ${api.token}`, "content-type": file.type || "application/pdf", accept: "application/json, application/problem+json" },
      body: file,
    });
    const payload = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(payload.detail || `the file was refused (HTTP ${response.status})`);
    return payload;
  }

  return {
    reload,
    open,
    summary: () => plural(listBody.querySelectorAll("tr[data-id]").length, "agreement"),
  };
}
