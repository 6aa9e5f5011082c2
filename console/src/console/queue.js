// The alert queue: a virtualised list box. Only the rows in view exist in the DOM (a few
// dozen, recycled), so 2,000 open alerts cost the same as twenty; their timers are updated
// once a second. The selection follows the alert (by id), not the position.
import { TYPE_LABELS, STATUS_LABELS, age, clock, timerOf } from "./state.js";

export const ROW_HEIGHT = 76;
const OVERSCAN = 6;
const ROW_TYPES = { ...TYPE_LABELS, gbv: "GBV" }; // the queue is narrow; the detail says it in full

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Set text only when it changed (DOM writes are what costs). */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setClass(node, className) {
  if (node.className !== className) node.className = className;
}

export class Queue {
  /**
   * @param root element to build the queue in
   * @param state the LiveState
   * @param targets escalation targets from the console config
   * @param handlers {onSelect(id), onOpen(id), needFull(id): a partial row (from an event) is on screen}
   */
  constructor(root, state, targets, handlers) {
    this.state = state;
    this.targets = targets;
    this.handlers = handlers;
    this.selectedId = null;
    this.rows = [];
    this.order = [];

    const head = el("div", "queue-head");
    const title = el("h2", null, "Open alerts");
    title.id = "queue-title";
    this.count = el("span", "queue-count", "0");
    this.count.setAttribute("aria-label", "open alerts");
    this.unknownButton = el("button", "queue-unknown", "");
    this.unknownButton.type = "button";
    this.unknownButton.hidden = true;
    this.unknownButton.title = "Select the next alert without a location";
    this.unknownButton.addEventListener("click", () => this.selectNextUnknown());
    head.append(title, this.count, this.unknownButton);

    this.list = el("div", "queue-list");
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-labelledby", "queue-title");
    this.list.tabIndex = 0;
    this.spacer = el("div", "queue-spacer");
    this.spacer.setAttribute("role", "presentation");
    this.list.append(this.spacer);
    this.empty = el("p", "queue-empty", "No open alerts.");
    this.empty.hidden = true;

    root.replaceChildren(head, this.empty, this.list);

    this.list.addEventListener("scroll", () => this.requestRender(), { passive: true });
    this.list.addEventListener("click", (event) => {
      const row = event.target.closest(".qrow");
      if (row && row.alertId) {
        this.select(row.alertId);
        this.handlers.onOpen(row.alertId);
      }
    });
    this.resize = new ResizeObserver(() => this.requestRender());
    this.resize.observe(this.list);
    this.timer = setInterval(() => this.tick(), 1000);
  }

  destroy() {
    clearInterval(this.timer);
    this.resize.disconnect();
    cancelAnimationFrame(this.frame);
  }

  requestRender() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderWindow();
    });
  }

  /** Called from the live view's frame with what changed. */
  render() {
    this.order = this.state.sorted();
    const n = this.order.length;
    this.spacer.style.height = `${n * ROW_HEIGHT}px`;
    setText(this.count, String(n));
    this.empty.hidden = n > 0;
    let unknown = 0;
    for (const alert of this.order) if (alert.location_unknown) unknown += 1;
    this.unknownButton.hidden = unknown === 0;
    setText(this.unknownButton, `${unknown} without a location`);
    if (this.selectedId && !this.state.alerts.has(this.selectedId)) {
      // The selected alert left the queue: select the one that took its place.
      const next = this.order[Math.min(this.selectedIndex ?? 0, n - 1)];
      this.selectedId = next ? next.id : null;
      if (this.selectedId) this.handlers.onSelect(this.selectedId, { fromRemoval: true });
    }
    this.selectedIndex = this.indexOf(this.selectedId);
    this.renderWindow();
  }

  indexOf(id) {
    if (!id) return -1;
    return this.order.findIndex((a) => a.id === id);
  }

  /** Rows for the alerts in view (plus a few either side), recycled. */
  renderWindow() {
    const n = this.order.length;
    const top = this.list.scrollTop;
    const height = this.list.clientHeight || 800;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const wanted = last - first;
    while (this.rows.length < wanted) this.rows.push(this.makeRow());
    const now = Date.now();
    for (let i = 0; i < this.rows.length; i++) {
      const row = this.rows[i];
      const index = first + i;
      if (i < wanted) {
        if (!row.isConnected) this.spacer.append(row);
        row.hidden = false;
        this.fill(row, this.order[index], index, n, now);
      } else if (!row.hidden) {
        row.hidden = true;
        row.alertId = null;
        row.removeAttribute("id");
      }
    }
    this.first = first;
    this.last = last;
    const at = this.indexOf(this.selectedId);
    if (at >= first && at < last) {
      this.list.setAttribute("aria-activedescendant", rowId(this.selectedId));
    } else {
      this.list.removeAttribute("aria-activedescendant");
    }
  }

  makeRow() {
    const row = el("div", "qrow");
    row.setAttribute("role", "option");
    const line1 = el("div", "qrow-line");
    row.badge = el("span", "badge");
    row.type = el("span", "qrow-type");
    row.status = el("span", "qrow-status");
    row.flags = el("span", "qrow-flags");
    row.esc = el("span", "qrow-esc");
    line1.append(row.badge, row.type, row.flags, row.esc);
    const line2 = el("div", "qrow-line");
    row.where = el("span", "qrow-where");
    row.age = el("span", "qrow-age");
    row.age.title = "Time since the press";
    row.timer = el("span", "qrow-timer");
    line1.append(row.timer);
    line2.append(row.where, row.status, row.age);
    row.append(line1, line2);
    row.cache = {};
    return row;
  }

  fill(row, alert, index, n, now) {
    if (alert.partial && !alert.fullRequested) {
      alert.fullRequested = true;
      this.handlers.needFull(alert.id);
    }
    if (row.alertId !== alert.id) {
      row.alertId = alert.id;
      row.id = rowId(alert.id);
    }
    row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    row.setAttribute("aria-posinset", String(index + 1));
    row.setAttribute("aria-setsize", String(n));
    const selected = alert.id === this.selectedId;
    row.setAttribute("aria-selected", selected ? "true" : "false");
    const fresh = alert.isNewUntil && alert.isNewUntil > now;
    const classes = ["qrow", `p${alert.priority}`];
    if (selected) classes.push("is-selected");
    if (fresh) classes.push("is-new");
    if (alert.location_unknown) classes.push("no-location");
    if (alert.escalated) classes.push("is-escalated");
    setClass(row, classes.join(" "));

    setText(row.badge, `P${alert.priority}`);
    setClass(row.badge, `badge p${alert.priority}`);
    setText(row.type, ROW_TYPES[alert.type] || alert.type || "Alert");
    row.type.title = TYPE_LABELS[alert.type] || "";
    setText(row.status, STATUS_LABELS[alert.status] || alert.status);
    setClass(row.status, `qrow-status s-${alert.status}`);
    const flags = [];
    if (fresh) flags.push("NEW");
    if (alert.duress) flags.push("DURESS");
    if (alert.silent) flags.push("SILENT");
    if (alert.presses > 1) flags.push(`×${alert.presses}`);
    if (alert.channel && alert.channel !== "app") flags.push(alert.channel.toUpperCase());
    setText(row.flags, flags.join(" · "));
    const esc = alert.escalated
      ? `Escalated: ${Object.keys(alert.escalated)
          .map((k) => (k === "acknowledge" ? "ack" : "on scene"))
          .join(", ")}`
      : "";
    setText(row.esc, esc);
    let where;
    if (alert.location_unknown) {
      where = alert.location_text
        ? `Location unknown — “${alert.location_text}”: get a location`
        : "Location unknown — get a location";
    } else {
      where = alert.location_text || alert.municipality || `${alert.lat?.toFixed(4)}, ${alert.lon?.toFixed(4)}`;
      if (alert.outside_coverage) where += " (outside coverage)";
    }
    setText(row.where, where);
    if (row.where.title !== where) row.where.title = where;
    this.fillTimes(row, alert, now);
  }

  fillTimes(row, alert, now) {
    setText(row.age, age((now - alert.createdMs) / 1000));
    const timer = timerOf(alert, this.targets, now);
    let text;
    let className = "qrow-timer";
    if (timer.kind === "done") {
      text = "on scene";
      className += " done";
    } else {
      const label = timer.kind === "ack" ? "ack" : "on scene";
      if (timer.left >= 0) {
        text = `${label} ${clock(timer.left)}`;
        if (timer.left <= 10 || (timer.kind === "on_scene" && timer.left <= 120)) className += " soon";
      } else {
        text = `${label} overdue ${clock(-timer.left)}`;
        className += " overdue";
      }
    }
    setText(row.timer, text);
    setClass(row.timer, className);
  }

  /** Once a second: the visible rows' ages and timers (and the end of "new" highlights). */
  tick() {
    const now = Date.now();
    for (const row of this.rows) {
      if (row.hidden || !row.alertId) continue;
      const alert = this.state.alerts.get(row.alertId);
      if (!alert) continue;
      if (alert.isNewUntil && alert.isNewUntil <= now && row.classList.contains("is-new")) {
        delete alert.isNewUntil;
        const index = this.indexOf(alert.id);
        if (index >= 0) this.fill(row, alert, index, this.order.length, now);
      } else {
        this.fillTimes(row, alert, now);
      }
    }
  }

  select(id, { scroll = true } = {}) {
    this.selectedId = id;
    this.selectedIndex = this.indexOf(id);
    if (scroll && this.selectedIndex >= 0) this.scrollToIndex(this.selectedIndex);
    this.renderWindow();
    this.handlers.onSelect(id, {});
  }

  scrollToIndex(index) {
    const top = index * ROW_HEIGHT;
    const bottom = top + ROW_HEIGHT;
    const view = this.list.clientHeight;
    if (top < this.list.scrollTop) this.list.scrollTop = top;
    else if (bottom > this.list.scrollTop + view) this.list.scrollTop = bottom - view;
  }

  /** j/k: the next or previous alert (the first if none is selected). */
  move(delta) {
    const n = this.order.length;
    if (!n) return null;
    let index = this.indexOf(this.selectedId);
    index = index < 0 ? (delta > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, index + delta));
    this.select(this.order[index].id);
    return this.selectedId;
  }

  selectNextUnknown() {
    const n = this.order.length;
    const start = this.indexOf(this.selectedId);
    for (let step = 1; step <= n; step++) {
      const alert = this.order[(start + step + n) % n];
      if (alert.location_unknown) {
        this.select(alert.id);
        this.list.focus();
        return;
      }
    }
  }

  focus() {
    this.list.focus();
  }
}

export function rowId(alertId) {
  return `alert-${alertId}`;
}
