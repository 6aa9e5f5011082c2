// The unit's current assignment: what, how urgent, where (with a link that opens the
// phone's navigation), the ETA, and the status buttons. Only the next step of the state
// machine (khusela/panic/dispatch.py) is enabled: assigned → acknowledged → en route →
// on scene → resolved, the last one with an outcome.
import { h } from "../shared/dom.js";
import { ALERT_TYPES, OUTCOMES, coordinates, hhmm, minutes, timeOf, words } from "./format.js";

export const STEPS = [
  { status: "acknowledged", label: "Acknowledge", from: "assigned", stamp: "acknowledged_at" },
  { status: "en_route", label: "En route", from: "acknowledged", stamp: "en_route_at" },
  { status: "on_scene", label: "On scene", from: "en_route", stamp: "on_scene_at" },
  { status: "resolved", label: "Resolved", from: "on_scene", stamp: null },
];
const ORDER = ["assigned", "acknowledged", "en_route", "on_scene", "resolved"];

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function safeLink(href, scheme) {
  return typeof href === "string" && href.startsWith(scheme) ? href : null;
}

function where(a) {
  const lines = [];
  if (a.location_text) lines.push(h("p", { class: "r-where-text", text: a.location_text }));
  const coords = coordinates(a.lat, a.lon, a.accuracy_m);
  if (coords) lines.push(h("p", { class: "r-coords", text: coords }));
  if (!lines.length) lines.push(h("p", { class: "r-warning-text", text: "Location unknown: ask the command centre." }));
  const navigate = safeLink(a.navigation_uri, "geo:");
  const map = safeLink(a.map_url, "https://");
  const links = h(
    "div",
    { class: "r-links" },
    navigate ? h("a", { class: "r-button r-primary", href: navigate, text: "Navigate" }) : null,
    map ? h("a", { class: "r-button r-secondary", href: map, target: "_blank", rel: "noopener noreferrer", text: "Open map" }) : null,
  );
  return h("section", { class: "r-where", "aria-label": "Location" }, h("h3", { text: "Where" }), lines, links);
}

function eta(a) {
  if (a.eta_seconds === null || a.eta_seconds === undefined) return null;
  const arrival = new Date(new Date(a.assigned_at).getTime() + a.eta_seconds * 1000);
  return h("p", { class: "r-eta" }, h("strong", { text: `ETA ${hhmm(arrival)}` }), ` — ${minutes(a.eta_seconds)} from dispatch`);
}

/**
 * Render `a` (an item of GET /api/panic/assignments) with its buttons.
 * `onStep(status, outcome)` is called when a step button is pressed; it returns a promise.
 */
export function assignmentCard(a, { onStep, onOutcome, outcome, busy, error, fresh }) {
  const at = ORDER.indexOf(a.status);
  const type = ALERT_TYPES[a.alert_type] || words(a.alert_type);
  const card = h("article", { class: `r-card r-p${a.priority}${fresh ? " r-arrive" : ""}`, "aria-labelledby": "r-job-title" });
  card.append(
    h(
      "header",
      { class: "r-job-head" },
      h("h2", { id: "r-job-title" }, h("span", { class: "r-priority", text: `P${a.priority}` }), ` ${type}`),
      h("p", { class: "r-job-status", text: `Status: ${sentence(words(a.status))}` }),
    ),
  );
  if (a.silent) {
    card.append(
      h("p", { class: "r-silent", role: "alert" }, h("strong", { text: "SILENT ALARM" }), " — no sirens, no lights. The person cannot speak freely."),
    );
  }
  card.append(where(a));
  const e = eta(a);
  if (e) card.append(e);
  card.append(h("p", { class: "r-times", text: `Dispatched ${timeOf(a.assigned_at)}` }));

  const outcomeName = `outcome-${a.id}`;
  const resolving = a.status === "on_scene";
  const outcomes = h(
    "fieldset",
    { class: "r-outcomes", disabled: busy, hidden: !resolving },
    h("legend", { text: "Outcome (to resolve)" }),
    OUTCOMES.map(([value, label]) =>
      h(
        "label",
        { class: "r-outcome" },
        h("input", { type: "radio", name: outcomeName, value, checked: resolving && value === outcome }),
        h("span", { text: label }),
      ),
    ),
  );
  const buttons = STEPS.map((step, i) => {
    const done = at > i;
    const next = step.from === a.status;
    const button = h(
      "button",
      {
        type: "button",
        class: `r-step${done ? " r-done" : ""}${next ? " r-next" : ""}`,
        disabled: !next || busy,
        "data-status": step.status,
      },
      h("span", { class: "r-step-mark", "aria-hidden": "true", text: done ? "✓" : String(i + 1) }),
      h("span", { class: "r-step-label", text: step.label }),
      step.stamp && a[step.stamp] ? h("span", { class: "r-step-time", text: hhmm(a[step.stamp]) }) : null,
    );
    button.addEventListener("click", () => {
      if (step.status !== "resolved") {
        onStep(step.status);
        return;
      }
      const chosen = outcomes.querySelector("input:checked");
      onStep(step.status, chosen ? chosen.value : null);
    });
    return button;
  });
  const resolveButton = buttons[3];
  if (resolving) {
    resolveButton.disabled = busy || !outcomes.querySelector("input:checked");
    resolveButton.setAttribute("aria-describedby", "r-outcome-hint");
    outcomes.addEventListener("change", () => {
      const chosen = outcomes.querySelector("input:checked");
      resolveButton.disabled = busy || !chosen;
      onOutcome(chosen ? chosen.value : null);
    });
  }
  card.append(
    h(
      "section",
      { class: "r-steps", "aria-label": "Report progress" },
      buttons.slice(0, 3),
      outcomes,
      resolving ? h("p", { class: "r-hint", id: "r-outcome-hint", text: "Choose an outcome, then press Resolved." }) : null,
      resolveButton,
      h("p", { class: "r-error", role: "alert", text: error || "" }),
    ),
  );
  return card;
}
