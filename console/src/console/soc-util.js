// Small pieces the SOC panel's sections share: times as an analyst reads them, severity
// and status badges, a problem line that shows the API's own `detail`, and the ATT&CK link
// of a technique tag. Everything is text (textContent), never markup.
import { h } from "../shared/dom.js";

export const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
export const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

export function when(value) {
  if (!value) return null;
  // The API's datetimes may lack a zone (SQLite): they are UTC.
  const text = typeof value === "string" && !/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? `${value}Z` : value;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? null : t;
}

export function stamp(value) {
  const t = value instanceof Date ? value : when(value);
  if (!t) return "—";
  return `${t.toLocaleDateString("en-ZA")} ${t.toLocaleTimeString("en-ZA", { hour12: false })}`;
}

/** "1 h 59 min" until `value` (or "expired"). */
export function until(value, now = Date.now()) {
  const t = when(value);
  if (!t) return "no expiry";
  const s = Math.round((t.getTime() - now) / 1000);
  if (s <= 0) return "expired";
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function words(value) {
  return String(value ?? "").replaceAll("_", " ");
}

export function severityBadge(severity) {
  return h("span", { class: `soc-badge sev-${severity}`, text: severity });
}

export function statusBadge(status) {
  return h("span", { class: `soc-badge st-${status}`, text: words(status) });
}

/** A `role=alert` line under a form or list: `show(error)` puts the server's detail in it. */
export function problemLine() {
  const node = h("p", { class: "soc-problem", role: "alert" });
  return {
    node,
    show(error) {
      node.textContent = error ? error.message || String(error) : "";
    },
    clear() {
      node.textContent = "";
    },
  };
}

const TECHNIQUE = /^attack\.(t\d{4})(?:\.(\d{3}))?$/i;

/** An ATT&CK tag as a chip; technique tags link to their page on attack.mitre.org. */
export function tagChip(tag) {
  const match = TECHNIQUE.exec(tag);
  if (!match) return h("span", { class: "soc-tag", text: tag });
  const id = match[1].toUpperCase();
  const sub = match[2];
  return h("a", {
    class: "soc-tag soc-tag-technique",
    href: `https://attack.mitre.org/techniques/${id}/${sub ? `${sub}/` : ""}`,
    target: "_blank",
    rel: "noopener noreferrer",
    text: sub ? `${id}.${sub}` : id,
    title: tag,
  });
}

/** A definition list from [label, value-or-node] pairs, skipping empty values. */
export function facts(pairs, className = "facts") {
  const list = h("dl", { class: className });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.append(h("dt", { text: label }), value instanceof Node ? h("dd", {}, value) : h("dd", { text: String(value) }));
  }
  return list;
}

export function isIp(value) {
  if (!value) return false;
  return /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(value) || (/^[0-9a-f:]+(\/\d{1,3})?$/i.test(value) && value.includes(":"));
}

export function table(label, headings, body, className = "") {
  return h(
    "div",
    { class: "soc-table-wrap" },
    h(
      "table",
      { class: `soc-table ${className}`.trim(), "aria-label": label },
      h("thead", {}, h("tr", {}, ...headings.map((t) => h("th", { scope: "col", text: t })))),
      body,
    ),
  );
}

export function button(text, onclick, className = "secondary small", extra = {}) {
  return h("button", { type: "button", class: className, text, onclick, ...extra });
}

/** `node.replaceChildren` that skips absent parts (the DOM would print "null"). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
