// The live picture's data: open alerts and units, kept in step with the feed.
//
// Lists are loaded on `feed.ready`; events are applied on top by `version` (an event not
// newer than what we hold is ignored, so a repeat or a late event is harmless). Every
// change marks what must be redrawn; the views read the marks once per animation frame.

export const OPEN_STATUSES = new Set(["new", "acknowledged", "dispatched", "en_route", "on_scene"]);

export const DEFAULT_TARGETS = {
  acknowledge_seconds: 30,
  on_scene_seconds: { 1: 600, 2: 900, 3: 1800, 4: 3600 },
};

const ALERT_EVENT_FIELDS = [
  "status",
  "priority",
  "type",
  "channel",
  "silent",
  "duress",
  "province",
  "municipality",
  "lat",
  "lon",
  "location_unknown",
  "assigned_agency_id",
  "version",
];

const UNIT_EVENT_FIELDS = ["agency_id", "callsign", "kind", "status", "lat", "lon", "municipality", "location_at"];

/** Milliseconds since the epoch of an ISO time from the API (naive times are UTC). */
export function epochMs(iso) {
  if (!iso) return NaN;
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(iso);
  return Date.parse(hasZone ? iso : `${iso}Z`);
}

/** Queue order: most urgent first, then oldest first (as the server sorts). */
function compareAlerts(a, b) {
  return a.priority - b.priority || a.createdMs - b.createdMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class LiveState {
  constructor() {
    this.alerts = new Map();
    this.units = new Map();
    /** Versions of alerts that left the open queue, so a late event cannot bring one back. */
    this.gone = new Map();
    this.order = [];
    this.orderDirty = true;
    this.changedAlerts = new Set();
    this.removedAlerts = new Set();
    this.changedUnits = new Set();
    this.reset = true;
  }

  /** Replace everything with freshly loaded lists (on `feed.ready`). */
  load(alertList, unitList) {
    this.alerts.clear();
    this.units.clear();
    this.gone.clear();
    for (const row of alertList) {
      if (OPEN_STATUSES.has(row.status)) this.alerts.set(row.id, withDerived(row));
    }
    for (const row of unitList) this.units.set(row.id, row);
    this.orderDirty = true;
    this.reset = true;
    this.changedAlerts.clear();
    this.removedAlerts.clear();
    this.changedUnits.clear();
  }

  /** The open alerts in queue order (sorted again only after a change that needs it). */
  sorted() {
    if (this.orderDirty) {
      this.order = [...this.alerts.values()].sort(compareAlerts);
      this.orderDirty = false;
    }
    return this.order;
  }

  /**
   * Apply `panic.alert_raised|alert_changed`. Returns what happened: "added" (a new row,
   * partial until the full row is fetched), "updated", "removed" or "ignored".
   */
  applyAlert(subject, payload) {
    const id = payload.alert_id;
    if (!id) return "ignored";
    const held = this.alerts.get(id);
    const version = Number(payload.version ?? 0);
    if (held && version <= held.version) return "ignored";
    if (!held && this.gone.has(id) && version <= this.gone.get(id)) return "ignored";
    if (!OPEN_STATUSES.has(payload.status)) {
      this.gone.set(id, version);
      if (this.gone.size > 20000) this.gone.delete(this.gone.keys().next().value);
      if (held) {
        this.alerts.delete(id);
        this.removedAlerts.add(id);
        this.orderDirty = true;
        return "removed";
      }
      return "ignored";
    }
    if (held) {
      const before = held.priority;
      for (const key of ALERT_EVENT_FIELDS) if (key in payload) held[key] = payload[key];
      stampTransitions(held);
      if (held.priority !== before) this.orderDirty = true;
      this.changedAlerts.add(id);
      return "updated";
    }
    const row = { id, partial: true, created_at: new Date().toISOString(), presses: 1 };
    for (const key of ALERT_EVENT_FIELDS) if (key in payload) row[key] = payload[key];
    row.version = version;
    stampTransitions(row);
    this.alerts.set(id, withDerived(row));
    this.changedAlerts.add(id);
    this.orderDirty = true;
    return subject === "panic.alert_raised" || payload.change === "raised" ? "added" : "added-late";
  }

  /** Merge a full row fetched from the API (if it is not older than what we hold). */
  mergeFull(row) {
    const held = this.alerts.get(row.id);
    if (!held) {
      if (this.gone.has(row.id) && row.version <= this.gone.get(row.id)) return false;
      if (!OPEN_STATUSES.has(row.status)) return false;
      this.alerts.set(row.id, withDerived(row));
      this.orderDirty = true;
      this.changedAlerts.add(row.id);
      return true;
    }
    if (row.version < held.version) return false;
    const fresh = withDerived(row);
    const keep = { escalated: { ...(fresh.escalated || {}), ...(held.escalated || {}) }, isNewUntil: held.isNewUntil };
    if (!Object.keys(keep.escalated).length) delete keep.escalated;
    if (!OPEN_STATUSES.has(row.status)) {
      this.alerts.delete(row.id);
      this.gone.set(row.id, row.version);
      this.removedAlerts.add(row.id);
      this.orderDirty = true;
      return true;
    }
    for (const key of Object.keys(held)) delete held[key];
    Object.assign(held, fresh, keep);
    delete held.partial;
    this.orderDirty = true;
    this.changedAlerts.add(row.id);
    return true;
  }

  /** An alert we may no longer read (404/403 when fetched): out of the queue. */
  drop(id) {
    if (this.alerts.delete(id)) {
      this.removedAlerts.add(id);
      this.orderDirty = true;
    }
  }

  /** `panic.escalated`: mark the alert (it stays where it is in the queue). */
  applyEscalation(payload) {
    const held = this.alerts.get(payload.alert_id);
    if (!held) return "ignored";
    held.escalated = held.escalated || {};
    held.escalated[escalationKind(payload.kind)] = {
      target: payload.target_seconds,
      waited: payload.waited_seconds,
    };
    if (payload.priority !== undefined && payload.priority !== held.priority) {
      held.priority = payload.priority;
      this.orderDirty = true;
    }
    this.changedAlerts.add(held.id);
    return "updated";
  }

  /** `panic.unit_changed`: a unit moved or changed status (or appeared). */
  applyUnit(payload) {
    const id = payload.unit_id;
    if (!id) return "ignored";
    let unit = this.units.get(id);
    const added = !unit;
    if (added) {
      unit = { id };
      this.units.set(id, unit);
    }
    for (const key of UNIT_EVENT_FIELDS) if (key in payload) unit[key] = payload[key];
    this.changedUnits.add(id);
    return added ? "added" : "updated";
  }

  /** What changed since the last call (and forget it). */
  takeChanges() {
    const changes = {
      reset: this.reset,
      alerts: this.changedAlerts,
      removed: this.removedAlerts,
      units: this.changedUnits,
      reordered: this.orderDirty,
      loadTimes: this.reset ? this.loadTimes : null,
    };
    this.reset = false;
    this.loadTimes = null;
    this.changedAlerts = new Set();
    this.removedAlerts = new Set();
    this.changedUnits = new Set();
    return changes;
  }
}

/** "unacknowledged" (server) or "acknowledge" → "acknowledge"; else "on_scene". */
export function escalationKind(kind) {
  return kind === "unacknowledged" || kind === "acknowledge" ? "acknowledge" : "on_scene";
}

function withDerived(row) {
  // Escalations recorded before this load (a reloaded console must still show them).
  for (const kind of row.escalations || []) {
    row.escalated = row.escalated || {};
    row.escalated[escalationKind(kind)] = row.escalated[escalationKind(kind)] || {};
  }
  row.createdMs = epochMs(row.created_at);
  if (Number.isNaN(row.createdMs)) row.createdMs = Date.now();
  return row;
}

/** An event says the new status, not when it changed: note "about now" until the row is fetched. */
function stampTransitions(row) {
  const now = new Date().toISOString();
  if (row.status !== "new" && !row.acknowledged_at) row.acknowledged_at = now;
  if (["dispatched", "en_route", "on_scene"].includes(row.status) && !row.dispatched_at) row.dispatched_at = now;
  if (row.status === "on_scene" && !row.on_scene_at) row.on_scene_at = now;
}

/** The escalation timer an alert shows now: which target, and seconds left (negative: overdue). */
export function timerOf(alert, targets, nowMs) {
  const age = (nowMs - alert.createdMs) / 1000;
  if (alert.status === "new") {
    return { kind: "ack", left: targets.acknowledge_seconds - age };
  }
  if (alert.status === "on_scene") return { kind: "done", left: 0 };
  const target = targets.on_scene_seconds[String(alert.priority)] ?? targets.on_scene_seconds[alert.priority] ?? 3600;
  return { kind: "on_scene", left: target - age };
}

/** 75 → "1:15"; 3725 → "1:02:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(Math.abs(seconds)));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** 75 → "1m 15s", 4000 → "1h 06m". */
export function age(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const TYPE_LABELS = {
  crime: "Crime",
  medical: "Medical",
  fire: "Fire",
  gbv: "Gender-based violence",
  accident: "Accident",
  other: "Other",
};

export const STATUS_LABELS = {
  new: "New",
  acknowledged: "Acknowledged",
  dispatched: "Dispatched",
  en_route: "En route",
  on_scene: "On scene",
  resolved: "Resolved",
  cancelled: "Cancelled",
};
