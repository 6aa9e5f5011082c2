// Entities tab: find an entity by label, record one (a person needs a reasonable-suspicion
// justification tied to a criminal activity: the API's refusal is shown as it says it), and
// the entity page: its marking, the items that mention it (only those the caller may see)
// and its neighbours, drawn as a small node-link picture (SVG written here, no library) and
// listed as links. A neighbour asserted only by an item the caller may not see is never sent.
import { h } from "../shared/dom.js";
import { CATEGORIES, CLASSIFICATIONS, ENTITY_KINDS, TLPS, banner, facts, field, fill, input, plural, problemLine, select, words } from "./intel-util.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, String(v));
  }
  node.append(...children);
  return node;
}

/** A radial layout: the entity in the middle, its neighbours on a circle, edges labelled. */
export function graph(centre, neighbours, width = 560, height = 360) {
  const cx = width / 2;
  const cy = height / 2;
  const r = Math.min(width, height) / 2 - 48;
  const picture = s("svg", {
    class: "in-graph",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Graph: ${centre.label} and ${plural(neighbours.length, "neighbour")}`,
  });
  const edges = s("g", { class: "in-edges" });
  const nodes = s("g", { class: "in-nodes" });
  neighbours.forEach((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(neighbours.length, 1) - Math.PI / 2;
    const x = cx + r * Math.cos(angle);
    const y = cy + r * Math.sin(angle);
    edges.append(
      s("line", { x1: cx, y1: cy, x2: x, y2: y, class: "in-edge" }),
      s("text", { x: (cx + x) / 2, y: (cy + y) / 2 - 4, class: "in-edge-label", "text-anchor": "middle", text: words(n.relation) }),
    );
    const link = s("a", { href: `#/intel/entities/${encodeURIComponent(n.entity.id)}`, class: "in-node-link" });
    link.append(
      s("circle", { cx: x, cy: y, r: 14, class: `in-node in-kind-${n.entity.kind}` }),
      s("text", { x, y: y + 28, "text-anchor": "middle", class: "in-node-label", text: n.entity.label }),
      s("title", { text: `${words(n.entity.kind)}: ${n.entity.label}` }),
    );
    nodes.append(link);
  });
  nodes.append(
    s("circle", { cx, cy, r: 20, class: `in-node in-node-centre in-kind-${centre.kind}` }),
    s("text", { x: cx, y: cy + 36, "text-anchor": "middle", class: "in-node-label in-node-centre-label", text: centre.label }),
  );
  picture.append(edges, nodes);
  return picture;
}

export function entityBoard(panel, ctx) {
  const { api } = ctx;
  let openId = null;

  // --- find -----------------------------------------------------------------------------
  const findProblem = problemLine();
  const label = h("input", { type: "search", name: "label", maxlength: 300 });
  const results = h("ul", { class: "in-results", "aria-label": "Entities found" });
  const find = h(
    "form",
    { class: "in-search", role: "search", "aria-label": "Entity search" },
    h("label", { class: "in-field" }, h("span", { text: "Find entity by label" }), label),
    h("button", { type: "submit", class: "primary small", text: "Find" }),
  );
  find.addEventListener("submit", async (event) => {
    event.preventDefault();
    findProblem.clear();
    if (!label.value.trim()) return;
    try {
      const found = await api.get(`/api/intel/entities?label=${encodeURIComponent(label.value.trim())}`);
      results.replaceChildren(
        ...(found.length
          ? found.map((e) => h("li", {}, h("a", { href: `#/intel/entities/${encodeURIComponent(e.id)}`, text: e.label }), h("span", { class: "muted", text: ` ${words(e.kind)}` })))
          : [h("li", { class: "muted", text: "No entity you may see has that label." })]),
      );
    } catch (error) {
      findProblem.show(error);
    }
  });

  // --- record ---------------------------------------------------------------------------
  const recordProblem = problemLine();
  const record = h(
    "form",
    { class: "in-form", "aria-label": "Record an entity", novalidate: true },
    select("kind", ENTITY_KINDS, { label: "Kind", chosen: "organisation" }),
    field("Label", input("label", { maxlength: 300 })),
    select("tlp", TLPS, { label: "TLP", chosen: "AMBER", text: (t) => `TLP:${t}` }),
    select("classification", CLASSIFICATIONS, { label: "Classification", chosen: "restricted" }),
    h("label", { class: "in-field in-wide" }, h("span", { text: "Reasonable-suspicion justification (a person needs one)" }), h("textarea", { name: "justification", rows: 2, maxlength: 2000 })),
    select("criminal_activity", CATEGORIES, { label: "Criminal activity", blank: "—" }),
    field("Open case reference", input("case_ref", { maxlength: 80 })),
    h("label", { class: "in-field in-wide" }, h("span", { text: "Attributes (one key=value a line)" }), h("textarea", { name: "attributes", rows: 2 })),
    recordProblem.node,
    h("div", { class: "in-actions" }, h("button", { type: "submit", class: "primary small", text: "Record entity" })),
  );
  record.addEventListener("submit", async (event) => {
    event.preventDefault();
    recordProblem.clear();
    const data = new FormData(record);
    const text = (name) => String(data.get(name) || "").trim();
    const attributes = {};
    for (const line of text("attributes").split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) attributes[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    try {
      const entity = await api.post("/api/intel/entities", {
        kind: text("kind"),
        label: text("label"),
        tlp: text("tlp"),
        classification: text("classification"),
        justification: text("justification") || null,
        criminal_activity: text("criminal_activity") || null,
        case_ref: text("case_ref") || null,
        attributes,
      });
      record.reset();
      ctx.announce(`Recorded ${entity.label}`);
      ctx.go(`#/intel/entities/${encodeURIComponent(entity.id)}`);
    } catch (error) {
      recordProblem.show(error);
    }
  });

  const page = h("section", { class: "in-detail in-entity", "aria-label": "Entity", hidden: true });
  const side = h("div", { class: "in-list" }, find, findProblem.node, results, h("h3", { text: "Record an entity" }), record);
  panel.append(h("div", { class: "in-split" }, side, page));

  function notFound() {
    const heading = h("h3", { text: "Not found", tabindex: -1 });
    page.setAttribute("aria-label", "Not found");
    page.replaceChildren(heading, h("p", { text: "No such entity is available to you." }));
    page.hidden = false;
    heading.focus();
  }

  async function open(id) {
    openId = id;
    let found;
    try {
      found = await api.get(`/api/intel/entities/${encodeURIComponent(id)}`);
    } catch (error) {
      if (ctx.gone() || openId !== id) return;
      if (error.status === 404) notFound();
      else {
        page.replaceChildren(h("p", { class: "in-problem", text: error.message }));
        page.hidden = false;
      }
      return;
    }
    if (ctx.gone() || openId !== id) return;
    render(found);
  }

  function render(found) {
    const { entity, items, neighbours } = found;
    const heading = h("h3", { text: entity.label, tabindex: -1 });
    const attrs = Object.entries(entity.attributes || {}).map(([k, v]) => `${words(k)}: ${v}`).join(" · ");
    const linkProblem = problemLine();
    const itemList = h(
      "ul",
      { class: "in-links", "aria-label": "Items mentioning it" },
      ...(items.length
        ? items.map((i) => h("li", {}, h("a", { href: `#/intel/items/${encodeURIComponent(i.id)}`, text: i.title }), h("span", { class: "muted", text: ` ${words(i.relation)}` })))
        : [h("li", { class: "muted", text: "No item you may see mentions it." })]),
    );
    const neighbourList = h(
      "ul",
      { class: "in-links", "aria-label": "Neighbours" },
      ...(neighbours.length
        ? neighbours.map((n) =>
            h(
              "li",
              {},
              h("span", { class: "muted", text: `${n.direction === "out" ? "" : "← "}${words(n.relation)}${n.direction === "out" ? " →" : ""} ` }),
              h("a", { href: `#/intel/entities/${encodeURIComponent(n.entity.id)}`, text: n.entity.label }),
              h("span", { class: "muted", text: ` (${words(n.entity.kind)})` }),
            ),
          )
        : [h("li", { class: "muted", text: "No link you may see." })]),
    );
    const linkForm = ctx.canWrite ? linkItemForm(entity, linkProblem) : null;
    page.setAttribute("aria-label", "Entity");
    fill(
      page,
      banner(entity.banner, "top"),
      heading,
      facts(
        [
          ["Kind", words(entity.kind)],
          ["Criminal activity", entity.criminal_activity ? words(entity.criminal_activity) : null],
          ["Case", entity.case_ref],
          ["Attributes", attrs],
        ],
        "Entity facts",
      ),
      graph(entity, neighbours),
      h("h4", { text: "Items" }),
      itemList,
      h("h4", { text: "Neighbours" }),
      neighbourList,
      linkForm,
      linkProblem.node,
      banner(entity.banner, "bottom"),
    );
    page.hidden = false;
    heading.focus();
  }

  function linkItemForm(entity, problem) {
    const choice = h("select", { name: "item_id" }, h("option", { value: "", text: "— an item you may see —" }));
    const relation = input("relation", { value: "mentions", maxlength: 80 });
    const form = h(
      "form",
      { class: "in-form", "aria-label": "Link an item" },
      field("Item", choice),
      field("Relation", relation),
      h("button", { type: "submit", class: "secondary small", text: "Link item" }),
    );
    api
      .get("/api/intel/items?limit=200")
      .then((items) => choice.append(...items.map((i) => h("option", { value: i.id, text: i.title }))))
      .catch(() => {});
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.clear();
      try {
        await api.post(`/api/intel/entities/${encodeURIComponent(entity.id)}/items`, { item_id: choice.value, relation: relation.value });
        open(entity.id);
      } catch (error) {
        problem.show(error);
      }
    });
    return form;
  }

  return {
    show(id) {
      if (id) open(id);
      else {
        openId = null;
        page.hidden = true;
      }
    },
    reload() {},
  };
}
