// Submit tab: a new item with every mandatory field of the API (title, body, category, TLP,
// classification, source and information grade, handling code, a locality) and the optional
// sharing. The browser checks only what it can; the API's own refusal (its `detail`, and
// the fields a 422 names) is shown under the form, word for word.
import { h } from "../shared/dom.js";
import {
  CATEGORIES,
  CLASSIFICATIONS,
  INFORMATION_GRADES,
  SOURCE_GRADES,
  TLPS,
  field,
  input,
  problemLine,
  select,
} from "./intel-util.js";

export function submitBoard(panel, ctx) {
  const { api } = ctx;
  const problem = problemLine();
  const groupsBox = h("fieldset", { class: "in-choices" }, h("legend", { text: "Sharing groups (optional)" }));
  const agenciesBox = h("fieldset", { class: "in-choices" }, h("legend", { text: "Distribution: agencies (optional)" }));
  const form = h(
    "form",
    { class: "in-form in-submit", "aria-label": "Submit an item", novalidate: true },
    field("Title", input("title", { maxlength: 300 })),
    h("label", { class: "in-field in-wide" }, h("span", { text: "Body" }), h("textarea", { name: "body", rows: 6, maxlength: 100000 })),
    select("category", CATEGORIES, { label: "Category", blank: "— choose —" }),
    select("tlp", TLPS, { label: "TLP", chosen: "AMBER", text: (t) => `TLP:${t}` }),
    select("classification", CLASSIFICATIONS, { label: "Classification", chosen: "restricted" }),
    field("Caveats (comma-separated, optional)", input("caveats", { maxlength: 200 })),
    select("source_grade", SOURCE_GRADES, { label: "Source grade (A–F)", blank: "—", text: (g) => g }),
    select("information_grade", INFORMATION_GRADES, { label: "Information grade (1–6)", blank: "—", text: (g) => g }),
    select("handling", [["P", "P — sharing permitted"], ["C", "C — with conditions"]], { label: "Handling", blank: "—" }),
    field("Province", input("province", { maxlength: 8, value: "GP" })),
    field("Municipality", input("municipality", { maxlength: 40 })),
    field("Ward (optional)", input("ward", { maxlength: 40 })),
    h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "human_source" }), h("span", { text: "Human source" })),
    field("Source reference (optional)", input("source_ref", { maxlength: 80 })),
    groupsBox,
    agenciesBox,
    h("label", { class: "in-field in-wide" }, h("span", { text: "Reason for sharing (required when shared)" }), h("textarea", { name: "share_reason", rows: 2, maxlength: 1000 })),
    problem.node,
    h("div", { class: "in-actions" }, h("button", { type: "submit", class: "primary", text: "Submit item" })),
  );
  panel.append(h("h3", { text: "Submit an item" }), form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.clear();
    const data = new FormData(form);
    const text = (name) => String(data.get(name) || "").trim();
    const body = {
      title: text("title"),
      body: text("body"),
      category: text("category"),
      tlp: text("tlp"),
      classification: text("classification"),
      caveats: text("caveats") ? text("caveats").split(",").map((c) => c.trim()).filter(Boolean) : [],
      source_grade: text("source_grade"),
      information_grade: text("information_grade") ? Number(text("information_grade")) : null,
      handling: text("handling"),
      province: text("province") || null,
      municipality: text("municipality") || null,
      ward: text("ward") || null,
      human_source: data.get("human_source") === "on",
      source_ref: text("source_ref") || null,
      sharing_groups: data.getAll("group").map(String),
      distribution: { agencies: data.getAll("agency").map(String) },
      share_reason: text("share_reason"),
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const item = await api.post("/api/intel/items", body);
      form.reset();
      ctx.announce(`Submitted: ${item.title}`);
      ctx.go(`#/intel/items/${encodeURIComponent(item.id)}`);
    } catch (error) {
      problem.show(error);
    } finally {
      button.disabled = false;
    }
  });

  async function reload() {
    let groups = [];
    try {
      groups = await api.get("/api/intel/groups");
    } catch {
      groups = [];
    }
    if (ctx.gone()) return;
    const own = ctx.me.agency ? ctx.me.agency.id : null;
    groupsBox.replaceChildren(
      h("legend", { text: "Sharing groups (optional)" }),
      ...(groups.length
        ? groups.map((g) => h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "group", value: g.id }), h("span", { text: g.name })))
        : [h("span", { class: "muted", text: "none" })]),
    );
    const others = ctx.agencies.filter((a) => a.id !== own);
    agenciesBox.replaceChildren(
      h("legend", { text: "Distribution: agencies (optional)" }),
      ...(others.length
        ? others.map((a) => h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "agency", value: a.id }), h("span", { text: a.name })))
        : [h("span", { class: "muted", text: "none" })]),
    );
  }

  return {
    show(_id, opened) {
      if (opened) reload();
    },
    reload,
  };
}
