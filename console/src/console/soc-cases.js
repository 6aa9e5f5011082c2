// SOC cases: the list (status, severity, assignee, alert count) and one case's view — the
// timeline the API builds (opened, notes, changes, alerts added, their raw events, response
// actions), a note box, and status / severity / assignee changes.
import { h } from "../shared/dom.js";
import { SEVERITIES, button, facts, fill, plural, problemLine, severityBadge, stamp, statusBadge, table, words } from "./soc-util.js";

const CASE_STATUSES = ["open", "investigating", "contained", "closed"];
const KIND_TEXT = {
  opened: "Opened",
  note: "Note",
  status: "Status",
  severity: "Severity",
  assigned: "Assigned",
  alert_added: "Alert added",
  event: "Event",
  action: "Response action",
};

export function caseBoard(panel, ctx) {
  const { api } = ctx;
  let cases = [];
  let openId = null;
  const filter = h(
    "select",
    { id: "soc-case-status" },
    h("option", { value: "live", text: "Not closed" }),
    h("option", { value: "", text: "Any status" }),
    CASE_STATUSES.map((s) => h("option", { value: s, text: words(s) })),
  );
  filter.addEventListener("change", () => reload());
  const note = h("p", { class: "muted small", role: "status" });
  const problem = problemLine();
  const body = h("tbody");
  const view = h("section", { class: "soc-case", "aria-label": "Case", hidden: true });
  panel.append(
    h(
      "div",
      { class: "soc-split" },
      h(
        "section",
        { class: "soc-cases", "aria-label": "Case list" },
        h("div", { class: "soc-filters" }, h("label", { for: "soc-case-status", text: "Status" }), filter),
        note,
        problem.node,
        table("Cases", ["Case", "Status", "Severity", "Assignee", "Alerts", "Updated"], body),
      ),
      view,
    ),
  );

  let seq = 0;
  async function reload() {
    const mine = ++seq;
    const query = new URLSearchParams();
    const chosen = filter.value === "live" ? CASE_STATUSES.filter((s) => s !== "closed") : filter.value ? [filter.value] : [];
    for (const s of chosen) query.append("status", s);
    try {
      const list = await api.get(`/api/cyber/cases?${query}`);
      if (mine !== seq || ctx.gone()) return;
      cases = list;
      problem.clear();
    } catch (error) {
      if (mine === seq && !ctx.gone()) problem.show(error);
      return;
    }
    note.textContent = cases.length ? `${plural(cases.length, "case")}, most recently changed first.` : "No cases.";
    body.replaceChildren(
      ...cases.map((c) => {
        const tr = h(
          "tr",
          { "data-case-id": c.id, tabindex: "0", "aria-selected": String(c.id === openId) },
          h("th", { scope: "row", text: c.title }),
          h("td", {}, statusBadge(c.status)),
          h("td", {}, severityBadge(c.severity)),
          h("td", { text: c.assignee || "—" }),
          h("td", { class: "soc-num", text: String(c.alerts) }),
          h("td", { text: stamp(c.updated_at) }),
        );
        tr.addEventListener("click", () => open(c.id));
        tr.addEventListener("keydown", (event) => {
          if (event.key === "Enter") open(c.id);
        });
        return tr;
      }),
    );
  }

  /** Show case `id`; `quiet`: redraw the open case in place (no placeholder, focus kept). */
  async function open(id, quiet = false) {
    openId = id;
    for (const tr of body.querySelectorAll("tr[data-case-id]")) tr.setAttribute("aria-selected", String(tr.dataset.caseId === id));
    view.hidden = false;
    if (!quiet) view.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
    try {
      const detail = await api.get(`/api/cyber/cases/${encodeURIComponent(id)}`);
      if (id !== openId || ctx.gone()) return;
      if (quiet && view.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return; // mid-edit
      draw(detail, !quiet);
    } catch (error) {
      if (id === openId && !ctx.gone()) view.replaceChildren(h("p", { class: "soc-problem", role: "alert", text: error.message }));
    }
  }

  function draw(detail, focus = false) {
    const c = detail.case;
    const problemHere = problemLine();
    const title = h("h3", { id: "soc-case-title", tabindex: "-1", text: c.title });
    view.setAttribute("aria-labelledby", "soc-case-title");
    const send = async (method, path, body) => {
      problemHere.clear();
      try {
        const changed = await api.request(method, path, body);
        draw(changed);
        reload();
        return true;
      } catch (error) {
        problemHere.show(error);
        return false;
      }
    };
    const base = `/api/cyber/cases/${encodeURIComponent(c.id)}`;

    let controls = null;
    if (ctx.canRespond) {
      const status = h("select", { id: "soc-case-set-status" }, CASE_STATUSES.map((s) => h("option", { value: s, text: words(s) })));
      status.value = c.status;
      const severity = h("select", { id: "soc-case-set-severity" }, SEVERITIES.map((s) => h("option", { value: s, text: s })));
      severity.value = c.severity;
      const assignee = h("input", { id: "soc-case-set-assignee", type: "text", maxlength: "80", value: c.assignee || "", placeholder: "username" });
      const change = h("form", { class: "soc-form soc-case-change", "aria-label": "Change the case" });
      change.append(
        h("label", { for: "soc-case-set-status", text: "Status" }),
        status,
        h("label", { for: "soc-case-set-severity", text: "Severity" }),
        severity,
        h("label", { for: "soc-case-set-assignee", text: "Assignee" }),
        assignee,
        h("button", { type: "submit", class: "secondary small", text: "Save changes" }),
      );
      change.addEventListener("submit", (event) => {
        event.preventDefault();
        const patch = {};
        if (status.value !== c.status) patch.status = status.value;
        if (severity.value !== c.severity) patch.severity = severity.value;
        const who = assignee.value.trim();
        if (who && who !== c.assignee) patch.assignee = who;
        if (!who && c.assignee) patch.unassign = true;
        if (Object.keys(patch).length) send("PATCH", base, patch);
      });
      const text = h("textarea", { id: "soc-case-note", rows: "3", maxlength: "10000", placeholder: "What was found, what was done" });
      const noteForm = h("form", { class: "soc-form soc-note", "aria-label": "Add a note" });
      noteForm.append(h("label", { for: "soc-case-note", text: "Note" }), text, h("button", { type: "submit", class: "primary small", text: "Add note" }));
      noteForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!text.value.trim()) return;
        if (await send("POST", `${base}/notes`, { text: text.value })) ctx.announce("Note added to the case.");
      });
      controls = h("div", {}, change, noteForm);
    }

    const alertsList = h(
      "ul",
      { class: "soc-case-alerts", "aria-label": "Alerts in this case" },
      detail.alerts.map((a) =>
        h("li", {}, severityBadge(a.severity), " ", button(a.title, () => ctx.openAlert(a.id), "link"), h("span", { class: "muted small", text: ` ${a.host || ""} ${a.source || ""} · ${a.count} events` })),
      ),
    );
    const timeline = h(
      "ol",
      { class: "soc-timeline", "aria-label": "Case timeline" },
      detail.timeline.map((e) =>
        h(
          "li",
          { class: `soc-tl soc-tl-${e.kind}` },
          h(
            "div",
            { class: "soc-tl-head" },
            h("time", { text: stamp(e.at) }),
            h("span", { class: "soc-tl-kind", text: KIND_TEXT[e.kind] || words(e.kind) }),
            e.actor ? h("span", { class: "muted", text: e.actor }) : null,
          ),
          h("div", { class: "soc-tl-text", text: e.text }),
          e.raw ? h("pre", { class: "soc-raw", text: e.raw }) : null,
        ),
      ),
    );
    fill(
      view,
      h("div", { class: "soc-case-head" }, title, button("Close", () => {
        view.hidden = true;
        openId = null;
        const back = body.querySelector(`tr[data-case-id="${CSS.escape(c.id)}"]`);
        if (back) back.focus();
      }, "ghost small")),
      facts([
        ["Status", statusBadge(c.status)],
        ["Severity", severityBadge(c.severity)],
        ["Assignee", c.assignee || "nobody"],
        ["Opened", `${stamp(c.created_at)} by ${c.created_by}`],
        ["Alerts", String(c.alerts)],
      ]),
      controls,
      problemHere.node,
      h("h4", { text: "Alerts" }),
      alertsList,
      h("h4", { text: "Timeline" }),
      timeline,
    );
    if (focus) title.focus();
  }

  return {
    reload,
    open,
    /** Cases an alert can still be added to. */
    async openCases() {
      return api.get("/api/cyber/cases?status=open&status=investigating&status=contained");
    },
    refreshOpen() {
      if (openId && !view.hidden) open(openId, true);
    },
  };
}
