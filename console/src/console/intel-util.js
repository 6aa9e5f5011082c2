// Small pieces the Intel desk's sections share: marking banners coloured by TLP, times, a
// problem line that shows the API's own `detail` (and a 422's field messages), and the
// vocabularies the API accepts. Everything is text (textContent), never markup.
import { h } from "../shared/dom.js";

export const CATEGORIES = [
  "illegal_mining",
  "drug_trafficking",
  "violent_crime",
  "extortion",
  "gang_activity",
  "infrastructure_theft",
  "unrest",
  "bylaw_non_enforcement",
  "cyber",
  "other",
];
export const TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"];
export const CLASSIFICATIONS = ["unclassified", "restricted", "confidential", "secret", "top_secret"];
export const SOURCE_GRADES = ["A", "B", "C", "D", "E", "F"];
export const INFORMATION_GRADES = ["1", "2", "3", "4", "5", "6"];
export const ENTITY_KINDS = ["person", "organisation", "vehicle", "location", "phone", "business", "mine_site"];

export function words(value) {
  return String(value ?? "").replaceAll("_", " ");
}

/** The TLP word of a banner or label (`TLP:AMBER+STRICT // …` → `amber-strict`), for its colour. */
export function tlpClass(text) {
  const match = /TLP:\s*([A-Z+]+)/i.exec(String(text || ""));
  return match ? `in-tlp-${match[1].toLowerCase().replace("+", "-")}` : "in-tlp-none";
}

/** The marking line printed above and below an item (TLP 2.0 colours on black). */
export function banner(text, where = "top") {
  return h("p", {
    class: `in-banner ${tlpClass(text)}`,
    role: "note",
    "aria-label": where === "top" ? "Marking" : "Marking (bottom)",
    text,
  });
}

export function tlpBadge(tlp) {
  return h("span", { class: `in-tlp ${tlpClass(tlp)}`, text: tlp });
}

export function stamp(value) {
  if (!value) return "—";
  const text = typeof value === "string" && !/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? `${value}Z` : value;
  const t = new Date(text);
  if (Number.isNaN(t.getTime())) return "—";
  return `${t.toLocaleDateString("en-ZA")} ${t.toLocaleTimeString("en-ZA", { hour12: false, hour: "2-digit", minute: "2-digit" })}`;
}

export function day(value) {
  if (!value) return "—";
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? "—" : t.toLocaleDateString("en-ZA");
}

/** A `role=alert` line: `show(error)` prints the server's detail and, for a 422, which field. */
export function problemLine() {
  const node = h("p", { class: "in-problem", role: "alert" });
  return {
    node,
    show(error) {
      if (!error) {
        node.textContent = "";
        return;
      }
      let text = error.message || String(error);
      const fields = error.problem && Array.isArray(error.problem.errors) ? error.problem.errors : [];
      const named = fields.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`);
      if (named.length) text = `${text} (${named.join("; ")})`;
      node.textContent = text;
    },
    clear() {
      node.textContent = "";
    },
  };
}

/** A definition list from [label, value-or-node] pairs, skipping empty values. */
export function facts(pairs, label) {
  const list = h("dl", { class: "in-facts", "aria-label": label });
  for (const [name, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.append(h("dt", { text: name }), value instanceof Node ? h("dd", {}, value) : h("dd", { text: String(value) }));
  }
  return list;
}

export function table(label, headings, body) {
  return h(
    "div",
    { class: "in-table-wrap" },
    h(
      "table",
      { class: "in-table", "aria-label": label },
      h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col", text: t })))),
      body,
    ),
  );
}

export function select(name, values, { label, chosen, blank, text = words } = {}) {
  const node = h("select", { name, id: `in-${name}-${Math.random().toString(36).slice(2, 8)}` });
  if (blank !== undefined) node.append(h("option", { value: "", text: blank }));
  for (const value of values) {
    const [v, t] = Array.isArray(value) ? value : [value, text(value)];
    node.append(h("option", { value: v, text: t, selected: v === chosen }));
  }
  return label ? field(label, node) : node;
}

/** A label wrapping its control, so `getByLabel` and screen readers find it. */
export function field(label, control) {
  return h("label", { class: "in-field" }, h("span", { text: label }), control);
}

export function input(name, props = {}) {
  return h("input", { name, type: "text", ...props });
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Agency names for ids (analysts may read the directory; others see "another agency"). */
export function agencyNamer(agencies, me) {
  const names = new Map(agencies.map((a) => [a.id, a.name]));
  if (me.agency) names.set(me.agency.id, me.agency.name);
  return (id) => names.get(id) || (id ? "another agency" : "—");
}

/** `node.replaceChildren` that skips absent parts (the DOM would print "null"). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
