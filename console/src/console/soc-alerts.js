// The SOC alert queue: a filtered table (severity, host, status) kept live from the feed —
// new alerts at the top with a highlight, changed ones updated in place — and the detail of
// the selected alert: its matching events (raw text), ATT&CK tags, and what an analyst can
// do with it (soc-alert-actions.js).
import { h } from "../shared/dom.js";
import { alertActions } from "./soc-alert-actions.js";
import {
  SEVERITIES,
  button,
  facts,
  fill,
  plural,
  problemLine,
  severityBadge,
  stamp,
  statusBadge,
  table,
  tagChip,
} from "./soc-util.js";

const STATUS_CHOICES = [
  ["open", "Open (new or acknowledged)"],
  ["", "Any status"],
  ["new", "New"],
  ["acknowledged", "Acknowledged"],
  ["closed", "Closed"],
  ["false_positive", "False positive"],
];
const STATUS_SETS = { open: ["new", "acknowledged"], "": [] };
const LIMIT = 500;

export function alertQueue(panel, ctx) {
  const { api } = ctx;
  let alerts = new Map(); // id -> alert, as last read or pushed
  let order = []; // ids shown, top first
  const selected = new Set(); // ids ticked for a case
  let openId = null;

  // --- filters ---------------------------------------------------------------------------
  const severityBoxes = SEVERITIES.map((s) => {
    const box = h("input", { type: "checkbox", value: s, id: `soc-sev-${s}` });
    box.addEventListener("change", () => reload());
    return box;
  });
  const hostInput = h("input", { type: "search", id: "soc-host", list: "soc-hosts", placeholder: "e.g. dc01.gauteng.local", autocomplete: "off" });
  const hostList = h("datalist", { id: "soc-hosts" });
  const statusSelect = h("select", { id: "soc-status" }, STATUS_CHOICES.map(([v, t]) => h("option", { value: v, text: t })));
  let hostTimer = null;
  hostInput.addEventListener("input", () => {
    clearTimeout(hostTimer);
    hostTimer = setTimeout(() => reload(), 300);
  });
  statusSelect.addEventListener("change", () => reload());
  const filters = h(
    "div",
    { class: "soc-filters" },
    h(
      "fieldset",
      { class: "soc-severities" },
      h("legend", { text: "Severity" }),
      ...severityBoxes.map((box) => h("label", { class: "soc-check", for: box.id }, box, ` ${box.value}`)),
    ),
    h("label", { for: "soc-host", text: "Host" }),
    hostInput,
    hostList,
    h("label", { for: "soc-status", text: "Status" }),
    statusSelect,
  );

  function chosenSeverities() {
    return severityBoxes.filter((b) => b.checked).map((b) => b.value);
  }

  function chosenStatuses() {
    const v = statusSelect.value;
    return STATUS_SETS[v] ?? [v];
  }

  function matches(a) {
    const sev = chosenSeverities();
    if (sev.length && !sev.includes(a.severity)) return false;
    const host = hostInput.value.trim().toLowerCase();
    if (host && String(a.host || "").toLowerCase() !== host) return false;
    const statuses = chosenStatuses();
    if (statuses.length && !statuses.includes(a.status)) return false;
    return true;
  }

  // --- the table -------------------------------------------------------------------------
  const note = h("p", { class: "muted small", role: "status" });
  const problem = problemLine();
  const body = h("tbody");
  const newCase = button("New case from selected alerts", () => openCaseFrom([...selected]), "secondary small", { disabled: true });
  const selection = h("span", { class: "muted small" });
  const queue = h(
    "section",
    { class: "soc-queue", "aria-labelledby": "soc-queue-title" },
    h("h3", { id: "soc-queue-title", class: "sr-only", text: "Alert queue" }),
    filters,
    h("div", { class: "soc-queue-bar" }, note, selection, ctx.canRespond ? newCase : null),
    problem.node,
    table(
      "Alert queue",
      ["", "Severity", "Alert", "Rule author", "Host", "Source", "Count", "First seen", "Last seen", "Status"],
      body,
      "soc-alerts",
    ),
  );
  const detail = h("aside", { class: "soc-detail", "aria-label": "Alert detail" }, h("p", { class: "muted", text: "Select an alert to see its events." }));
  panel.append(h("div", { class: "soc-split" }, queue, detail));

  function row(a) {
    const tick = h("input", { type: "checkbox", "aria-label": `Select ${a.title}` });
    tick.checked = selected.has(a.id);
    tick.addEventListener("click", (event) => event.stopPropagation());
    tick.addEventListener("change", () => {
      if (tick.checked) selected.add(a.id);
      else selected.delete(a.id);
      renderSelection();
    });
    const tr = h(
      "tr",
      { class: `soc-alert sev-row-${a.severity}`, "data-alert-id": a.id, tabindex: "0", "aria-selected": String(a.id === openId) },
      h("td", {}, tick),
      h("td", {}, severityBadge(a.severity)),
      h("th", { scope: "row", class: "soc-title", text: a.title }),
      h("td", { class: "soc-author", text: a.author || "—" }),
      h("td", { class: "soc-mono", text: a.host || "—" }),
      h("td", { class: "soc-mono", text: a.kind === "phishing" ? "reported e-mail" : a.source || "—" }),
      h("td", { class: "soc-num", text: String(a.count) }),
      h("td", { text: stamp(a.first_seen) }),
      h("td", { text: stamp(a.last_seen) }),
      h("td", {}, statusBadge(a.status), a.case_id ? h("span", { class: "soc-in-case", text: " in case" }) : null),
    );
    tr.addEventListener("click", () => open(a.id));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open(a.id);
      else if (event.key === "ArrowDown" && tr.nextElementSibling) tr.nextElementSibling.focus();
      else if (event.key === "ArrowUp" && tr.previousElementSibling) tr.previousElementSibling.focus();
    });
    return tr;
  }

  function render() {
    body.replaceChildren(...order.map((id) => row(alerts.get(id))));
    renderNote();
    const hosts = [...new Set([...alerts.values()].map((a) => a.host).filter(Boolean))].sort();
    hostList.replaceChildren(...hosts.map((v) => h("option", { value: v })));
  }

  function renderNote() {
    note.textContent = order.length ? `${plural(order.length, "alert")}, latest activity first.` : "No alerts match.";
  }

  function renderSelection() {
    for (const id of [...selected]) if (!alerts.has(id)) selected.delete(id);
    selection.textContent = selected.size ? `${selected.size} selected` : "";
    newCase.disabled = selected.size === 0;
  }

  let seq = 0;
  async function reload() {
    const mine = ++seq;
    const query = new URLSearchParams({ limit: String(LIMIT) });
    for (const s of chosenSeverities()) query.append("severity", s);
    const host = hostInput.value.trim();
    if (host) query.set("host", host);
    for (const s of chosenStatuses()) query.append("status", s);
    let list;
    try {
      list = await api.get(`/api/cyber/alerts?${query}`);
    } catch (error) {
      if (mine === seq && !ctx.gone()) problem.show(error);
      return;
    }
    if (mine !== seq || ctx.gone()) return;
    problem.clear();
    alerts = new Map(list.map((a) => [a.id, a]));
    order = list.map((a) => a.id);
    render();
    renderSelection();
  }

  /** A feed event: raised alerts go on top (highlighted), changed ones update where they are. */
  function onFeed(subject, a) {
    if (!a || !a.id) return;
    const known = alerts.has(a.id);
    alerts.set(a.id, a);
    const existing = body.querySelector(`tr[data-alert-id="${CSS.escape(a.id)}"]`);
    if (!matches(a)) {
      if (existing) {
        existing.remove();
        order = order.filter((id) => id !== a.id);
        renderNote();
      }
    } else if (existing) {
      const fresh = row(a);
      if (existing.classList.contains("is-new")) fresh.classList.add("is-new");
      fresh.classList.add("is-changed");
      existing.replaceWith(fresh);
    } else {
      order.unshift(a.id);
      const fresh = row(a);
      fresh.classList.add("is-new");
      body.prepend(fresh);
      renderNote();
      if (subject === "cyber.alert_raised" || !known) ctx.announce(`New ${a.severity} alert: ${a.title}${a.host ? ` on ${a.host}` : ""}.`);
    }
    if (a.id === openId) refreshDetail();
  }

  // --- the detail ------------------------------------------------------------------------
  async function open(id) {
    openId = id;
    for (const tr of body.querySelectorAll("tr[data-alert-id]")) tr.setAttribute("aria-selected", String(tr.dataset.alertId === id));
    const a = alerts.get(id);
    detail.replaceChildren(h("h3", { id: "soc-detail-title", tabindex: "-1", text: a ? a.title : "Alert" }), h("p", { class: "muted", text: "Loading…" }));
    await refreshDetail(true);
  }

  async function refreshDetail(focus = false) {
    const id = openId;
    if (!id) return;
    let full;
    try {
      full = await api.get(`/api/cyber/alerts/${encodeURIComponent(id)}`);
    } catch (error) {
      if (id === openId && !ctx.gone()) detail.replaceChildren(h("p", { class: "soc-problem", role: "alert", text: error.message }));
      return;
    }
    if (id !== openId || ctx.gone()) return;
    alerts.set(id, { ...alerts.get(id), ...full, events: undefined });
    const editing = detail.contains(document.activeElement) && document.activeElement.matches("input, select, textarea");
    if (!focus && editing) return; // the analyst is filling a form: the feed's change waits
    drawDetail(full);
    if (focus) detail.querySelector("h3").focus();
  }

  function drawDetail(a) {
    const title = h("h3", { id: "soc-detail-title", tabindex: "-1", text: a.title });
    const problemHere = problemLine();
    const info = facts([
      ["Severity", severityBadge(a.severity)],
      ["Status", statusBadge(a.status)],
      ["Rule", a.rule_id],
      ["Rule author", a.author || "—"],
      ["Kind", a.kind],
      ["Host", a.host],
      ["Source", a.kind === "phishing" ? null : a.source],
      ["Events", String(a.count)],
      ["First seen", stamp(a.first_seen)],
      ["Last seen", stamp(a.last_seen)],
      ["Case", a.case_id ? button("Open the case", () => ctx.openCase(a.case_id), "ghost small") : null],
    ]);
    const tags = h("ul", { class: "soc-tags", "aria-label": "ATT&CK tags" }, (a.tags || []).map((t) => h("li", {}, tagChip(t))));
    const reasons = Array.isArray(a.detail?.reasons) && a.detail.reasons.length
      ? h("ul", { class: "soc-reasons" }, a.detail.reasons.map((r) => h("li", { text: r })))
      : null;
    const events = h(
      "ol",
      { class: "soc-events", "aria-label": "Matching events" },
      (a.events || []).map((e) =>
        h(
          "li",
          { class: "soc-event" },
          h("div", { class: "soc-event-head" }, h("time", { text: stamp(e.at || e.received_at) }), h("span", { class: "muted small", text: ` received ${stamp(e.received_at)}` })),
          h("pre", { class: "soc-raw", text: e.raw }),
          h(
            "details",
            {},
            h("summary", { text: "Fields" }),
            facts(Object.entries(e.fields || {}).map(([k, v]) => [k, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)]), "facts soc-fields"),
          ),
        ),
      ),
    );
    fill(
      detail,
      title,
      info,
      tags,
      reasons,
      ctx.canRespond ? alertActions(a, problemHere, ctx, self) : null,
      problemHere.node,
      h("h4", { text: `Matching events (${(a.events || []).length} kept of ${a.count})` }),
      events,
    );
  }

  async function openCaseFrom(ids, problemHere = problem) {
    if (!ids.length) return;
    problemHere.clear();
    const first = alerts.get(ids[0]);
    const worst = ids.map((id) => alerts.get(id)?.severity).filter(Boolean).sort((x, y) => SEVERITIES.indexOf(x) - SEVERITIES.indexOf(y))[0] || "medium";
    const title = ids.length === 1 && first ? `${first.title}${first.host ? ` on ${first.host}` : ""}` : `${ids.length} related alerts`;
    try {
      const made = await api.post("/api/cyber/cases", {
        title: title.slice(0, 300),
        severity: worst === "informational" ? "low" : worst,
        alert_ids: ids,
        assignee: ctx.me.username,
      });
      selected.clear();
      renderSelection();
      ctx.casesChanged();
      await reload();
      ctx.openCase(made.case.id);
    } catch (error) {
      problemHere.show(error);
    }
  }

  const self = {
    reload,
    onFeed,
    open,
    refreshDetail,
    openCaseFrom,
    selected,
    get openId() {
      return openId;
    },
    count: () => order.length,
  };
  return self;
}
