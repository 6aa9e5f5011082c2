// One alert in full: where it is (trail on the map), who pressed, what happened so far,
// notes, acknowledge, and the recommended units with one-click dispatch.
import { TYPE_LABELS, STATUS_LABELS, age, epochMs } from "./state.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const b = el("button", className, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function timeOf(iso) {
  const ms = epochMs(iso);
  if (Number.isNaN(ms)) return "";
  return new Date(ms).toLocaleTimeString("en-ZA", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

function dl(pairs) {
  const list = el("dl", "facts");
  for (const [term, value, className] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    const dd = el("dd", className, String(value));
    list.append(el("dt", null, term), dd);
  }
  return list;
}

const TIMELINE_LABELS = {
  raised: "Alert raised",
  press_joined: "Pressed again",
  acknowledged: "Acknowledged",
  note: "Note",
  location: "Location update",
  duress: "Duress PIN entered (resident shown 'cancelled')",
  cancelled: "Cancelled",
  unit_dispatched: "Unit dispatched",
  unit_redispatched: "Unit re-dispatched",
  unit_released: "Unit released",
  partner_received: "Partner received",
  escalated_unacknowledged: "Escalated: not acknowledged in time",
  escalated_not_on_scene: "Escalated: no unit on scene in time",
};

function timelineText(entry) {
  const details = entry.details || {};
  if (typeof details.text === "string") return details.text;
  if (typeof details.note === "string") return details.note;
  const parts = [];
  for (const [key, value] of Object.entries(details)) {
    if (value === null || value === undefined || typeof value === "object") continue;
    if (key === "id" || key.endsWith("_id") || value === false) continue;
    parts.push(`${key.replaceAll("_", " ")}: ${value}`);
  }
  return parts.join(" · ");
}

export class Detail {
  /**
   * @param root the panel element (hidden while closed)
   * @param ctx {api, map, state, me, canDispatch, showError(error|null), onChanged(row), onClose()}
   */
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.openId = null;
    this.data = null;
    this.recs = null;
    this.seq = 0;
  }

  get isOpen() {
    return this.openId !== null;
  }

  async open(id) {
    const reopening = this.openId === id;
    this.openId = id;
    this.root.hidden = false;
    if (!reopening) {
      this.data = null;
      this.recs = null;
      this.renderLoading();
    }
    await this.load({ focusMap: !reopening });
    clearInterval(this.recTimer);
    this.recTimer = setInterval(() => this.loadRecommendations(), 20_000);
  }

  close() {
    clearInterval(this.recTimer);
    clearTimeout(this.refreshTimer);
    this.openId = null;
    this.data = null;
    this.recs = null;
    this.root.hidden = true;
    this.root.replaceChildren();
    this.ctx.map.clearDetail();
    this.ctx.onClose();
  }

  /** A feed event touched the open alert: read it again (debounced). */
  touched(id) {
    if (id !== this.openId) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.load({ focusMap: false }), 300);
  }

  async load({ focusMap }) {
    const id = this.openId;
    const seq = ++this.seq;
    const detail = this.ctx.api.get(`/api/panic/alerts/${encodeURIComponent(id)}`);
    const recs = this.ctx.canDispatch
      ? this.ctx.api.get(`/api/panic/alerts/${encodeURIComponent(id)}/recommendations?limit=5`).catch((error) => ({ error }))
      : Promise.resolve(null);
    let data;
    try {
      data = await detail;
    } catch (error) {
      if (seq === this.seq) {
        this.ctx.showError(error);
        if (error.status === 404) this.close();
      }
      return;
    }
    const recommendations = await recs;
    if (seq !== this.seq || this.openId !== id) return;
    this.data = data;
    this.recs = recommendations;
    this.ctx.onChanged(data);
    this.render();
    const units = this.recs && !this.recs.error ? this.recs.units : [];
    this.ctx.map.showDetail(data, units);
    if (focusMap) this.ctx.map.focusDetail(data, units);
  }

  async loadRecommendations() {
    if (!this.openId || !this.ctx.canDispatch || !this.data) return;
    const id = this.openId;
    try {
      const recs = await this.ctx.api.get(`/api/panic/alerts/${encodeURIComponent(id)}/recommendations?limit=5`);
      if (this.openId !== id) return;
      this.recs = recs;
    } catch (error) {
      if (this.openId !== id) return;
      this.recs = { error };
    }
    this.renderRecommendations();
    this.ctx.map.showDetail(this.data, this.recs.error ? [] : this.recs.units);
  }

  renderLoading() {
    const head = el("div", "detail-head");
    head.append(el("h2", null, "Loading alert…"), button("Close", "ghost", () => this.close()));
    this.root.removeAttribute("aria-labelledby");
    this.root.replaceChildren(head);
  }

  render() {
    const a = this.data;
    const head = el("div", "detail-head");
    const title = el("h2", null);
    title.id = "detail-title";
    title.append(el("span", `badge p${a.priority}`, `P${a.priority}`), ` ${TYPE_LABELS[a.type] || a.type}`);
    const close = button("Close", "ghost", () => this.close());
    close.setAttribute("aria-keyshortcuts", "Escape");
    head.append(title, close);

    const status = el("p", "detail-status");
    status.append(
      el("span", `qrow-status s-${a.status}`, STATUS_LABELS[a.status] || a.status),
      ` · raised ${timeOf(a.created_at)} (${age((Date.now() - epochMs(a.created_at)) / 1000)} ago) · via ${a.channel}`,
    );
    if (a.presses > 1) status.append(` · pressed ${a.presses}×`);
    const flags = el("p", "detail-flags");
    if (a.duress) flags.append(el("span", "flag danger", "DURESS PIN used — the resident may be watched"));
    if (a.silent) flags.append(el("span", "flag danger", "SILENT alarm — do not call back openly; no sirens"));

    const actions = el("div", "detail-actions");
    if (this.ctx.canDispatch && a.status === "new") {
      const ack = button("Acknowledge", "primary", () => this.acknowledge());
      ack.setAttribute("aria-keyshortcuts", "A");
      actions.append(ack);
    }

    this.recSection = el("section", "detail-section");
    this.recSection.setAttribute("aria-labelledby", "recs-title");
    this.renderRecommendations();

    this.root.replaceChildren(
      head,
      status,
      flags,
      actions,
      this.locationSection(a),
      this.residentSection(a),
      this.recSection,
      this.timelineSection(a),
      this.noteForm(a),
    );
    this.root.setAttribute("aria-labelledby", "detail-title");
  }

  locationSection(a) {
    const section = el("section", "detail-section");
    section.append(el("h3", null, "Location"));
    if (a.location_unknown) {
      const warn = el("div", "location-unknown");
      warn.append(el("strong", null, "Location unknown — get a location"));
      warn.append(
        el(
          "p",
          null,
          a.location_text
            ? `The resident said: “${a.location_text}”. Confirm it by phone; the trail updates if their phone gets a fix.`
            : "Call the resident for a landmark or address; the trail updates if their phone gets a fix.",
        ),
      );
      section.append(warn);
    }
    const fixAge = a.location_at ? `${age((Date.now() - epochMs(a.location_at)) / 1000)} ago` : null;
    section.append(
      dl([
        ["Where", a.location_text && !a.location_unknown ? a.location_text : null],
        ["Municipality", a.municipality],
        ["Position", Number.isFinite(a.lat) && !a.location_unknown ? `${a.lat.toFixed(5)}, ${a.lon.toFixed(5)}` : null],
        ["Accuracy", a.accuracy_m ? `± ${Math.round(a.accuracy_m)} m` : null],
        ["Source", a.location_source && a.location_source !== "unknown" ? a.location_source : null],
        ["Last fix", fixAge],
        ["Trail", a.trail && a.trail.length ? `${a.trail.length} fix${a.trail.length === 1 ? "" : "es"}` : null],
        ["Coverage", a.outside_coverage ? "Outside this centre's coverage" : null, "warn"],
      ]),
    );
    return section;
  }

  residentSection(a) {
    const section = el("section", "detail-section");
    section.append(el("h3", null, "Resident"));
    const r = a.resident;
    if (!r) {
      section.append(el("p", "muted", a.resident_id ? "Profile not available." : "No registered resident (USSD, SMS or device)."));
      return section;
    }
    const badges = el("p", "detail-flags");
    if (r.vulnerable) badges.append(el("span", "flag warn", "Vulnerable person"));
    if (r.flagged_for_review) badges.append(el("span", "flag warn", "Flagged for review"));
    section.append(
      dl([
        ["Name", r.display_name || "—"],
        ["Phone", r.phone],
        ["False alarms", String(r.false_alarms ?? 0)],
      ]),
      badges,
    );
    return section;
  }

  renderRecommendations() {
    const section = this.recSection;
    if (!section) return;
    const title = el("h3", null, "Recommended units");
    title.id = "recs-title";
    const children = [title];
    const recs = this.recs;
    if (!this.ctx.canDispatch) {
      children.push(el("p", "muted", "Your role may not dispatch units."));
    } else if (!recs) {
      children.push(el("p", "muted", "Loading…"));
    } else if (recs.error) {
      children.push(el("p", "warn", `Could not load recommendations: ${recs.error.message}`));
    } else if (!recs.units.length) {
      children.push(el("p", "warn", "No available unit with a recent position nearby."));
    } else {
      if (recs.routing_fallback) children.push(el("p", "warn", "Routing is down: ETAs are straight-line estimates."));
      const list = el("ol", "recs");
      recs.units.forEach((unit, i) => {
        const item = el("li", `rec${unit.freshness === "stale" ? " stale" : ""}`);
        const who = el("div", "rec-who");
        who.append(el("strong", null, unit.callsign), el("span", "muted", ` ${unit.agency_name} · ${unit.kind.replaceAll("_", " ")}`));
        const eta = Math.max(1, Math.round(unit.eta_seconds / 60));
        const facts = el("div", "rec-facts");
        facts.append(
          el("span", "rec-eta", `ETA ${eta} min`),
          el("span", null, ` · ${(unit.distance_m / 1000).toFixed(1)} km`),
          el("span", null, ` · fix ${age(unit.location_age_seconds)} old`),
        );
        if (unit.freshness === "stale") facts.append(el("span", "flag warn", "stale position"));
        const send = button("Dispatch", i === 0 ? "primary" : "secondary", () => this.dispatch(unit));
        send.setAttribute("aria-label", `Dispatch ${unit.callsign} (ETA ${eta} min)`);
        if (i === 0) send.setAttribute("aria-keyshortcuts", "D");
        item.append(who, facts, send);
        list.append(item);
      });
      children.push(list);
      const source = recs.router === "straight_line" ? "straight-line estimates" : `from ${recs.router}`;
      children.push(el("p", "muted small", `ETAs: ${source}.`));
    }
    section.replaceChildren(...children);
  }

  timelineSection(a) {
    const section = el("section", "detail-section");
    section.append(el("h3", null, "Timeline and notes"));
    if (a.note) section.append(el("p", "resident-note", `Resident's note: ${a.note}`));
    const list = el("ol", "timeline");
    for (const entry of a.timeline || []) {
      const item = el("li", entry.kind === "note" ? "is-note" : null);
      item.append(
        el("time", null, timeOf(entry.at)),
        el("span", "tl-kind", TIMELINE_LABELS[entry.kind] || entry.kind.replaceAll("_", " ")),
        el("span", "muted", ` ${entry.actor === a.resident_id ? "resident" : entry.actor}`),
      );
      const text = timelineText(entry);
      if (text) item.append(el("div", "tl-text", text));
      list.append(item);
    }
    if (!list.children.length) section.append(el("p", "muted", "Nothing yet."));
    else section.append(list);
    return section;
  }

  noteForm(a) {
    const form = el("form", "note-form");
    const label = el("label", null, "Add a note");
    const text = el("textarea");
    text.name = "text";
    text.rows = 2;
    text.maxLength = 2000;
    text.required = true;
    label.append(text);
    const submit = el("button", "secondary", "Add note");
    submit.type = "submit";
    form.append(label, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      submit.disabled = true;
      try {
        await this.ctx.api.post(`/api/panic/alerts/${encodeURIComponent(a.id)}/notes`, { text: value });
        text.value = "";
        this.ctx.showError(null);
        await this.load({ focusMap: false });
      } catch (error) {
        this.ctx.showError(error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  /** Acknowledge alert `id` (the open one by default). */
  async acknowledge(id = this.openId) {
    if (!id) return;
    try {
      const row = await this.ctx.api.post(`/api/panic/alerts/${encodeURIComponent(id)}/acknowledge`);
      this.ctx.showError(null);
      this.ctx.onChanged(row);
      if (id === this.openId) await this.load({ focusMap: false });
    } catch (error) {
      this.ctx.showError(error);
    }
  }

  async dispatch(unit) {
    const id = this.openId;
    if (!id) return;
    try {
      await this.ctx.api.post(`/api/panic/alerts/${encodeURIComponent(id)}/dispatch`, { unit_id: unit.unit_id });
      this.ctx.showError(null);
      this.ctx.announce(`${unit.callsign} dispatched.`);
      if (id === this.openId) await this.load({ focusMap: false });
    } catch (error) {
      this.ctx.showError(error);
    }
  }

  /** `d`: dispatch the first recommended unit (loading the recommendations if needed). */
  async dispatchTop() {
    if (!this.openId) return;
    if (!this.recs) await this.load({ focusMap: false });
    const units = this.recs && !this.recs.error ? this.recs.units : [];
    if (!units.length) {
      this.ctx.showError(new Error("No recommended unit to dispatch."));
      return;
    }
    await this.dispatch(units[0]);
  }
}
