// The Operations tab: joint operations on a board (planned, active, closed); one operation
// opened shows its marking as a banner above the briefing (TLP:… // CLASSIFICATION), its area
// on a map, participants, the shared timeline (linked panic alerts, CCTV events, cyber alerts,
// outcomes), and the debrief. Police and officials plan an operation with the "Plan operation"
// form (its area clicked on the map as H3 cells, or drawn as a polygon); writers taking part
// start it, link events, record outcomes and close it with a debrief. The API refuses anyone
// else, and its reason is shown under the form that asked.
import { h } from "../shared/dom.js";
import { PartnerMap } from "./partners-map.js";
import { button, facts, fill, plural, problemLine, stamp, words } from "./soc-util.js";

const COLUMNS = [
  ["planned", "Planned"],
  ["active", "Active"],
  ["closed", "Closed"],
];
const TLP_NAMES = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];
const CLEARANCES = ["unclassified", "restricted", "confidential", "secret", "top_secret"];
const LINK_KINDS = [
  ["panic_alert", "Panic alert"],
  ["cctv_event", "Camera event"],
  ["cyber_alert", "Cyber alert"],
  ["incident", "Incident (risk log)"],
];
const OUTCOME_KINDS = ["arrest", "seizure", "mining_site_closed", "bylaw_notice", "other"];
const NO_AREA = "No area yet: click the map to add H3 cells (about 5 km² each), or draw a polygon.";

/**
 * What went wrong, in the API's words: its `detail`, and for a body the schema refused (422)
 * the fields and reasons too — "the request does not match the schema" alone says nothing.
 */
export function explain(error) {
  const problem = error && error.problem;
  const errors = problem && Array.isArray(problem.errors) ? problem.errors : [];
  const fields = errors.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`);
  const message = error ? error.message || String(error) : "";
  return fields.length ? `${message} (${fields.join("; ")})` : message;
}

/** A problem line whose text is `explain(error)`. */
export function formProblem() {
  const line = problemLine();
  return { ...line, show: (error) => line.show(error ? { message: explain(error) } : null) };
}

/** A `datetime-local` value for `date` in the browser's time zone (minutes). */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value as the API's ISO time (UTC), or null when empty or invalid. */
export function isoOf(value) {
  const t = value ? new Date(value) : null;
  return t && !Number.isNaN(t.getTime()) ? t.toISOString() : null;
}

function options(values, chosen) {
  return values.map(([value, label]) => h("option", { value, text: label, selected: value === chosen }));
}

/**
 * The agencies an operation can be planned with. Operators may list every agency; officials
 * may not (no agency.read), so their partners are the parties of the agreements they see.
 */
async function plannableAgencies(ctx, agreements) {
  const { api, me } = ctx;
  const found = new Map();
  if (me.agency) found.set(me.agency.id, { id: me.agency.id, name: me.agency.name });
  if (me.permissions.includes("agency.read")) {
    for (const a of await api.get("/api/agencies")) found.set(a.id, { id: a.id, name: a.name });
  } else {
    for (const agreement of agreements) for (const p of agreement.parties) found.set(p.id, { id: p.id, name: p.name });
  }
  const mine = me.agency ? me.agency.id : null;
  return [...found.values()].sort((a, b) => (a.id === mine ? -1 : b.id === mine ? 1 : a.name.localeCompare(b.name)));
}

export function operationBoard(panel, ctx) {
  const { api } = ctx;
  const canPlan = ctx.canWrite && !ctx.community;
  let openId = null;
  let map = null;
  let planner = null;
  const lists = {};
  const board = h("div", { class: "pt-board" });
  for (const [status, label] of COLUMNS) {
    lists[status] = h("ul", { class: "pt-cards", "aria-label": `${label} operations` });
    board.append(h("section", { class: `pt-column pt-col-${status}` }, h("h3", { text: label }), lists[status]));
  }
  const problem = formProblem();
  const detail = h("section", { class: "pt-detail", "aria-label": "Operation", hidden: true });
  const planButton = canPlan ? button("Plan operation", () => showPlanner(), "primary small") : null;
  const bar = h("div", { class: "pt-bar" }, h("h3", { text: "Joint operations" }), planButton);
  panel.append(h("div", { class: "pt-split" }, h("div", { class: "pt-list" }, bar, board, problem.node), detail));
  ctx.onUnmount(() => {
    if (map) map.destroy();
    if (planner) planner.destroy();
  });

  async function reload() {
    try {
      const operations = await api.get("/api/partners/operations");
      if (ctx.gone()) return;
      problem.clear();
      for (const [status] of COLUMNS) {
        const mine = operations.filter((o) => o.status === status);
        fill(lists[status], mine.length ? mine.map(card) : [h("li", { class: "muted", text: "None." })]);
      }
      if (openId) await open(openId, false);
    } catch (error) {
      problem.show(error);
    }
  }

  function card(o) {
    const tlp = TLP_NAMES[o.tlp] || "?";
    return h(
      "li",
      {},
      h(
        "button",
        { type: "button", class: "pt-card", "aria-pressed": String(o.id === openId), "data-id": o.id, onclick: () => open(o.id) },
        h("strong", { text: o.name }),
        h("span", { class: `pt-tlp tlp-${tlp.replace("+", "-").toLowerCase()}`, text: `TLP:${tlp}` }),
        h("span", { class: "muted", text: `${stamp(o.starts_at)} → ${stamp(o.ends_at)}` }),
        h("span", { class: "muted", text: `Commander ${o.commander}` }),
      ),
    );
  }

  function closePlanner() {
    if (planner) planner.destroy();
    planner = null;
  }

  function showPlanner() {
    openId = null;
    if (map) map.destroy();
    map = null;
    closePlanner();
    for (const c of board.querySelectorAll(".pt-card")) c.setAttribute("aria-pressed", "false");
    planner = planForm(ctx, {
      async planned(op) {
        closePlanner();
        ctx.announce(`Planned: ${op.name}`);
        openId = op.id;
        await reload();
      },
      cancelled() {
        closePlanner();
        detail.hidden = true;
        planButton.focus();
      },
    });
    fill(detail, planner.node);
    detail.setAttribute("aria-label", "Plan an operation");
    detail.hidden = false;
    planner.start();
    detail.querySelector("input").focus();
  }

  async function open(id, focus = true) {
    openId = id;
    let op;
    let timeline;
    try {
      [op, timeline] = await Promise.all([
        api.get(`/api/partners/operations/${encodeURIComponent(id)}`),
        api.get(`/api/partners/operations/${encodeURIComponent(id)}/timeline`),
      ]);
    } catch (error) {
      const p = formProblem();
      p.show(error);
      closePlanner();
      fill(detail, p.node);
      detail.hidden = false;
      return;
    }
    if (ctx.gone() || openId !== id) return;
    closePlanner();
    for (const c of board.querySelectorAll(".pt-card")) c.setAttribute("aria-pressed", String(c.dataset.id === op.id));
    render(op, timeline);
    if (focus) detail.querySelector("h3").focus();
  }

  function render(op, timeline) {
    if (map) map.destroy();
    const mapBox = h("div", { class: "pt-map pt-map-small", role: "img", "aria-label": `Area of ${op.name}` });
    const actions = canPlan ? controls(op) : null;
    detail.setAttribute("aria-label", "Operation");
    fill(
      detail,
      h("p", { class: "pt-banner", role: "note", "aria-label": "Marking", text: op.banner }),
      h("h3", { text: op.name, tabindex: "-1" }),
      facts([
        ["Status", words(op.status)],
        ["Objective", op.objective],
        ["Window", `${stamp(op.starts_at)} → ${stamp(op.ends_at)}`],
        ["Commander", op.commander],
        ["Area", op.cells.length ? plural(op.cells.length, "H3 cell") : ""],
        ["Caveats", op.caveats.join(", ")],
      ]),
      h("h4", { text: "Participants" }),
      h("ul", { "aria-label": "Participants" }, op.participants.map((p) => h("li", { text: p.units.length ? `${p.name}: ${p.units.join(", ")}` : p.name }))),
      h("h4", { text: "Briefing" }),
      h("p", { class: "pt-pre", text: op.briefing || "—" }),
      mapBox,
      h("h4", { text: "Shared timeline" }),
      h(
        "ol",
        { class: "pt-timeline", "aria-label": "Shared timeline" },
        timeline.map((e) => h("li", { class: `pt-tl-${e.kind.split(":")[0]}` }, h("span", { class: "pt-when", text: stamp(e.at) }), h("span", { class: "soc-badge", text: words(e.kind) }), h("span", { text: e.summary }))),
      ),
      h("h4", { text: "Outcomes" }),
      op.outcomes.length
        ? h("ul", { "aria-label": "Outcomes" }, op.outcomes.map((o) => h("li", { text: `${o.quantity} × ${words(o.kind)} — ${o.description}` })))
        : h("p", { class: "muted", text: "No outcomes recorded." }),
      h("h4", { text: "Debrief" }),
      h("p", { class: "pt-pre", text: op.debrief || "Not debriefed yet." }),
      actions,
    );
    detail.hidden = false;
    map = new PartnerMap(mapBox, api);
    const shown = map;
    map.ready.then(async () => {
      if (shown.destroyed) return;
      if (op.cells.length) await shown.showCells(op.cells, !op.area);
      if (op.area && !shown.destroyed) shown.showArea(op.area);
    });
  }

  function controls(op) {
    if (op.status === "closed") return null;
    const problem = formProblem();
    const act = (done, fn) => async (event) => {
      if (event && event.preventDefault) event.preventDefault();
      problem.clear();
      try {
        await fn();
        ctx.announce(`${op.name}: ${done}`);
        await reload();
      } catch (error) {
        problem.show(error);
      }
    };
    const path = `/api/partners/operations/${encodeURIComponent(op.id)}`;
    const linkKind = h("select", { name: "kind" }, options(LINK_KINDS, "panic_alert"));
    const linkRef = h("input", { type: "text", name: "ref_id", required: true, maxlength: "64" });
    const link = h("form", { class: "pt-form", "aria-label": "Link an event" }, h("label", {}, "Event", linkKind), h("label", {}, "Its id", linkRef), h("button", { type: "submit", text: "Link" }));
    link.addEventListener("submit", act("event linked", () => api.post(`${path}/links`, { kind: linkKind.value, ref_id: linkRef.value.trim() })));
    const kind = h("select", { name: "kind" }, options(OUTCOME_KINDS.map((k) => [k, words(k)]), "arrest"));
    const quantity = h("input", { type: "number", name: "quantity", min: "1", value: "1" });
    const what = h("input", { type: "text", name: "description", required: true, minlength: "2" });
    const outcome = h("form", { class: "pt-form", "aria-label": "Record an outcome" }, h("label", {}, "Outcome", kind), h("label", {}, "How many", quantity), h("label", {}, "Description", what), h("button", { type: "submit", text: "Record outcome" }));
    outcome.addEventListener("submit", act("outcome recorded", () => api.post(`${path}/outcomes`, { kind: kind.value, quantity: Number(quantity.value), description: what.value })));
    const text = h("textarea", { name: "debrief", rows: "3", required: true, minlength: "10" });
    const debrief = h("form", { class: "pt-form", "aria-label": "Debrief and close" }, h("label", { class: "pt-wide" }, "Debrief", text), h("button", { type: "submit", text: "Debrief and close" }));
    debrief.addEventListener("submit", act("debriefed and closed", () => api.post(`${path}/debrief`, { debrief: text.value })));
    return h(
      "div",
      { class: "pt-actions" },
      op.status === "planned" ? button("Start the operation", act("started", () => api.post(`${path}/start`)), "primary small") : null,
      link,
      outcome,
      debrief,
      problem.node,
    );
  }

  return { reload, open };
}

/**
 * The "Plan operation" form: name, objective, window, lead and participating agencies with
 * their units, commander, the area (H3 cells clicked on the map and/or a drawn polygon, the
 * union stored), an optional agreement its outcomes count toward, and the briefing under its
 * marking (TLP, classification up to the planner's own clearance, caveats).
 * `on.planned(op)` runs after the API created it; `on.cancelled()` when the planner gives up.
 */
function planForm(ctx, on) {
  const { api, me } = ctx;
  const problem = formProblem();
  const now = new Date();
  now.setSeconds(0, 0);
  const name = h("input", { type: "text", name: "name", required: true, minlength: "2", maxlength: "200" });
  const objective = h("textarea", { name: "objective", rows: "2", required: true, minlength: "2", maxlength: "5000" });
  const starts = h("input", { type: "datetime-local", name: "starts_at", required: true, value: localInput(new Date(now.getTime() + 3600e3)) });
  const ends = h("input", { type: "datetime-local", name: "ends_at", required: true, value: localInput(new Date(now.getTime() + 5 * 3600e3)) });
  const commander = h("input", { type: "text", name: "commander", required: true, minlength: "2", maxlength: "200" });
  const lead = h("select", { name: "lead_agency_id", required: true });
  const agreement = h("select", { name: "agreement_id" }, h("option", { value: "", text: "None" }));
  const municipality = h("input", { type: "text", name: "municipality", maxlength: "16", size: "6" });
  const province = h("input", { type: "text", name: "province", maxlength: "8", size: "4" });
  const find = h("input", { type: "search", "aria-label": "Find an agency", placeholder: "Find an agency" });
  const agencyList = h("ul", { class: "pt-agency-list", "aria-label": "Participating agencies" }, h("li", { class: "muted", text: "Loading agencies…" }));
  const tlp = h("select", { name: "tlp" }, options(TLP_NAMES.map((t) => [t, `TLP:${t}`]), "AMBER"));
  const ceiling = Math.max(0, CLEARANCES.indexOf(me.clearance));
  const classification = h("select", { name: "classification" }, options(CLEARANCES.slice(0, ceiling + 1).map((c) => [c, words(c)]), "unclassified"));
  const caveats = h("input", { type: "text", name: "caveats", maxlength: "200", title: "Comma-separated: LEO, ORCON, NOFED, POPIA, SOURCE, CASE or a local X- code" });
  const briefing = h("textarea", { name: "briefing", rows: "4", maxlength: "20000" });
  const mapBox = h("div", { class: "pt-map pt-map-plan", "aria-label": "Operation area map" });
  const picked = h("p", { class: "pt-picked", role: "status", text: NO_AREA });
  const cellsMode = h("input", { type: "radio", name: "area_mode", value: "cells", checked: true });
  const polygonMode = h("input", { type: "radio", name: "area_mode", value: "polygon" });
  let map = null;
  let cells = [];
  let corners = [];
  const units = new Map(); // agency id → [checkbox, units input]

  const areaText = () => {
    const parts = [];
    if (cells.length) parts.push(`${plural(cells.length, "cell")} chosen`);
    if (corners.length) parts.push(`polygon of ${plural(corners.length, "corner")}${corners.length < 3 ? " (needs 3)" : ""}`);
    picked.textContent = parts.length ? parts.join(" and ") : NO_AREA;
  };
  const setMode = () => {
    if (!map) return;
    if (polygonMode.checked) map.drawPath("polygon", (points) => ((corners = points), areaText()));
    else map.pauseDrawing();
  };
  cellsMode.addEventListener("change", setMode);
  polygonMode.addEventListener("change", setMode);
  const clear = button("Clear area", () => {
    if (!map) return;
    map.clearPicked();
    map.clearPath();
  });
  const undo = button("Undo last corner", () => map && map.undoPoint());

  const form = h(
    "form",
    { class: "pt-form pt-plan", "aria-label": "Plan an operation" },
    h("label", { class: "pt-wide" }, "Name", name),
    h("label", { class: "pt-wide" }, "Objective", objective),
    h("label", {}, "Starts", starts),
    h("label", {}, "Ends", ends),
    h("label", {}, "Commander", commander),
    h("label", {}, "Lead agency", lead),
    h("fieldset", { class: "pt-wide pt-fieldset" }, h("legend", { text: "Participating agencies and their units" }), find, agencyList),
    h(
      "fieldset",
      { class: "pt-wide pt-fieldset" },
      h("legend", { text: "Area" }),
      h("div", { class: "pt-bar" }, h("label", { class: "pt-check" }, cellsMode, "Click H3 cells"), h("label", { class: "pt-check" }, polygonMode, "Draw a polygon (click its corners)")),
      mapBox,
      h("div", { class: "pt-bar" }, picked, undo, clear),
    ),
    h("label", {}, "Municipality", municipality),
    h("label", {}, "Province", province),
    h("label", { class: "pt-wide" }, "Counts toward agreement", agreement),
    h(
      "fieldset",
      { class: "pt-wide pt-fieldset" },
      h("legend", { text: "Briefing notes and their marking" }),
      h("div", { class: "pt-form" }, h("label", {}, "TLP marking", tlp), h("label", {}, "Classification", classification), h("label", {}, "Caveats", caveats)),
      h("label", { class: "pt-stack" }, "Briefing notes", briefing),
    ),
    h("div", { class: "pt-wide pt-bar" }, h("button", { type: "submit", class: "primary", text: "Plan operation" }), button("Cancel", () => on.cancelled())),
    problem.node,
  );
  find.addEventListener("input", () => {
    const q = find.value.trim().toLowerCase();
    for (const li of agencyList.children) li.hidden = Boolean(q) && !li.textContent.toLowerCase().includes(q) && !li.querySelector("input:checked");
  });

  async function loadChoices() {
    try {
      const agreements = await api.get("/api/partners/agreements");
      const agencies = await plannableAgencies(ctx, agreements);
      if (ctx.gone()) return;
      fill(lead, agencies.map((a) => h("option", { value: a.id, text: a.name })));
      fill(agreement, h("option", { value: "", text: "None" }), agreements.filter((a) => a.status === "active").map((a) => h("option", { value: a.id, text: a.title })));
      fill(agencyList, agencies.map(agencyRow));
    } catch (error) {
      problem.show(error);
    }
  }

  function agencyRow(a) {
    const box = h("input", { type: "checkbox", value: a.id });
    const callSigns = h("input", { type: "text", "aria-label": `Units of ${a.name}`, placeholder: "units, comma-separated", maxlength: "300", disabled: true });
    box.addEventListener("change", () => {
      callSigns.disabled = !box.checked;
      if (box.checked) callSigns.focus();
    });
    units.set(a.id, [box, callSigns]);
    return h("li", {}, h("label", { class: "pt-check" }, box, a.name), callSigns);
  }

  function body() {
    const participants = {};
    for (const [id, [box, callSigns]] of units) {
      if (!box.checked) continue;
      participants[id] = callSigns.value.split(",").map((u) => u.trim()).filter(Boolean);
    }
    const spec = {
      name: name.value.trim(),
      objective: objective.value.trim(),
      starts_at: isoOf(starts.value),
      ends_at: isoOf(ends.value),
      lead_agency_id: lead.value,
      commander: commander.value.trim(),
      participants,
      cells,
      briefing: briefing.value,
      marking: { tlp: tlp.value, classification: classification.value, caveats: caveats.value.split(",").map((c) => c.trim()).filter(Boolean) },
    };
    if (corners.length) spec.polygon = corners;
    if (agreement.value) spec.agreement_id = agreement.value;
    if (municipality.value.trim()) spec.municipality = municipality.value.trim();
    if (province.value.trim()) spec.province = province.value.trim();
    return spec;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.clear();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      on.planned(await api.post("/api/partners/operations", body()));
    } catch (error) {
      problem.show(error);
    } finally {
      submit.disabled = false;
    }
  });

  return {
    node: h("div", {}, h("h3", { text: "Plan an operation", tabindex: "-1" }), form),
    start() {
      loadChoices();
      map = new PartnerMap(mapBox, api);
      const made = map;
      made.ready.then(() =>
        made.pickCells((chosen, municipalities) => {
          cells = chosen;
          areaText();
          if (municipalities.length === 1) municipality.value = municipalities[0];
          else if (!chosen.length) municipality.value = "";
        }),
      );
      const hooks = (window.khusela = window.khusela || {});
      hooks.partnersPlanMap = map;
    },
    destroy() {
      if (map) map.destroy();
      map = null;
      const hooks = window.khusela || {};
      delete hooks.partnersPlanMap;
    },
  };
}
