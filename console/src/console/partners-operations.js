// The Operations tab: joint operations on a board (planned, active, closed); one operation
// opened shows its marking as a banner above the briefing (TLP:… // CLASSIFICATION), its area
// on a map, participants, the shared timeline (linked panic alerts, CCTV events, cyber alerts,
// outcomes), and the debrief. Writers taking part start it, link events, record outcomes and
// close it with a debrief; the API refuses anyone else and its reason is shown.
import { h } from "../shared/dom.js";
import { PartnerMap } from "./partners-map.js";
import { button, facts, fill, problemLine, stamp, words } from "./soc-util.js";

const COLUMNS = [
  ["planned", "Planned"],
  ["active", "Active"],
  ["closed", "Closed"],
];
const TLP_NAMES = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];

export function operationBoard(panel, ctx) {
  const { api } = ctx;
  let openId = null;
  let map = null;
  const lists = {};
  const board = h("div", { class: "pt-board" });
  for (const [status, label] of COLUMNS) {
    lists[status] = h("ul", { class: "pt-cards", "aria-label": `${label} operations` });
    board.append(h("section", { class: `pt-column pt-col-${status}` }, h("h3", { text: label }), lists[status]));
  }
  const problem = problemLine();
  const detail = h("section", { class: "pt-detail", "aria-label": "Operation", hidden: true });
  panel.append(h("div", { class: "pt-split" }, h("div", { class: "pt-list" }, board, problem.node), detail));
  ctx.onUnmount(() => map && map.destroy());

  async function reload() {
    try {
      const operations = await api.get("/api/partners/operations");
      if (ctx.gone()) return;
      problem.clear();
      for (const [status] of COLUMNS) {
        const mine = operations.filter((o) => o.status === status);
        fill(
          lists[status],
          mine.length
            ? mine.map((o) =>
                h(
                  "li",
                  {},
                  h(
                    "button",
                    { type: "button", class: "pt-card", "aria-pressed": String(o.id === openId), onclick: () => open(o.id) },
                    h("strong", { text: o.name }),
                    h("span", { class: `pt-tlp tlp-${(TLP_NAMES[o.tlp] || "").replace("+", "-").toLowerCase()}`, text: `TLP:${TLP_NAMES[o.tlp] || "?"}` }),
                    h("span", { class: "muted", text: `${stamp(o.starts_at)} → ${stamp(o.ends_at)}` }),
                    h("span", { class: "muted", text: `Commander ${o.commander}` }),
                  ),
                ),
              )
            : [h("li", { class: "muted", text: "None." })],
        );
      }
      if (openId) await open(openId, false);
    } catch (error) {
      problem.show(error);
    }
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
      const p = problemLine();
      p.show(error);
      fill(detail, p.node);
      detail.hidden = false;
      return;
    }
    if (ctx.gone()) return;
    for (const card of board.querySelectorAll(".pt-card")) card.setAttribute("aria-pressed", String(card.querySelector("strong").textContent === op.name));
    render(op, timeline);
    if (focus) detail.querySelector("h3").focus();
  }

  function render(op, timeline) {
    if (map) map.destroy();
    const mapBox = h("div", { class: "pt-map pt-map-small", role: "img", "aria-label": `Area of ${op.name}` });
    const actions = ctx.canWrite && !ctx.community ? controls(op) : null;
    fill(
      detail,
      h("p", { class: "pt-banner", role: "note", "aria-label": "Marking", text: op.banner }),
      h("h3", { text: op.name, tabindex: "-1" }),
      facts([
        ["Status", words(op.status)],
        ["Objective", op.objective],
        ["Window", `${stamp(op.starts_at)} → ${stamp(op.ends_at)}`],
        ["Commander", op.commander],
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
    map.ready.then(async () => {
      if (op.cells.length) await map.showCells(op.cells, !op.area);
      if (op.area) map.showArea(op.area);
    });
  }

  function controls(op) {
    if (op.status === "closed") return null;
    const problem = problemLine();
    const act = (fn) => async (event) => {
      if (event && event.preventDefault) event.preventDefault();
      problem.clear();
      try {
        await fn();
        await reload();
      } catch (error) {
        problem.show(error);
      }
    };
    const path = `/api/partners/operations/${encodeURIComponent(op.id)}`;
    const linkKind = h("select", { name: "kind" }, ["panic_alert", "cctv_event", "cyber_alert"].map((k) => h("option", { value: k, text: words(k) })));
    const linkRef = h("input", { type: "text", name: "ref_id", required: true, maxlength: "64" });
    const link = h("form", { class: "pt-form", "aria-label": "Link an event" }, h("label", {}, "Event", linkKind), h("label", {}, "Its id", linkRef), h("button", { type: "submit", text: "Link" }));
    link.addEventListener("submit", act(() => api.post(`${path}/links`, { kind: linkKind.value, ref_id: linkRef.value.trim() })));
    const kind = h("select", { name: "kind" }, ["arrest", "seizure", "mining_site_closed", "bylaw_notice", "other"].map((k) => h("option", { value: k, text: words(k) })));
    const quantity = h("input", { type: "number", name: "quantity", min: "1", value: "1" });
    const what = h("input", { type: "text", name: "description", required: true, minlength: "2" });
    const outcome = h("form", { class: "pt-form", "aria-label": "Record an outcome" }, h("label", {}, "Outcome", kind), h("label", {}, "How many", quantity), h("label", {}, "Description", what), h("button", { type: "submit", text: "Record outcome" }));
    outcome.addEventListener("submit", act(() => api.post(`${path}/outcomes`, { kind: kind.value, quantity: Number(quantity.value), description: what.value })));
    const text = h("textarea", { name: "debrief", rows: "3", required: true, minlength: "10" });
    const debrief = h("form", { class: "pt-form", "aria-label": "Debrief and close" }, h("label", { class: "pt-wide" }, "Debrief", text), h("button", { type: "submit", text: "Debrief and close" }));
    debrief.addEventListener("submit", act(() => api.post(`${path}/debrief`, { debrief: text.value })));
    return h(
      "div",
      { class: "pt-actions" },
      op.status === "planned" ? button("Start the operation", act(() => api.post(`${path}/start`)), "primary small") : null,
      link,
      outcome,
      debrief,
      problem.node,
    );
  }

  return { reload, open };
}
