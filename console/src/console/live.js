// The live picture: the map beside the alert queue, the open alert's detail, fed by the
// live feed. Feed events change the state at once and are drawn together in the next
// animation frame, so a burst of events costs one redraw.
import { Feed } from "../shared/feed.js";
import { Detail } from "./detail.js";
import { installKeyboard } from "./keyboard.js";
import { LiveMap } from "./map.js";
import { Queue } from "./queue.js";
import { beep } from "./sound.js";
import { DEFAULT_TARGETS, LiveState, OPEN_STATUSES, TYPE_LABELS } from "./state.js";

const DEFAULT_MAP = { tile_url: null, tile_attribution: null, center: [-26.1, 28.05], zoom: 10, max_zoom: 18 };
const PAGE = 10000; // the most alerts GET /api/panic/alerts returns at once
const APPLIED_KEPT = 5000;
const MAX_BUFFERED = 20_000; // events held while the lists load (the oldest are covered by the lists)
const NEW_HIGHLIGHT_MS = 10_000;
const DETAIL_ONLY = ["trail", "timeline", "resident", "note", "resident_id"];

// Measurement hooks for the benchmark (see README): `ready` resolves after the first full
// render; `applied` records when each feed event reached the screen.
const hooks = (window.khusela = window.khusela || {});
let resolveReady;
hooks.ready = new Promise((resolve) => {
  resolveReady = resolve;
});
hooks.applied = [];
hooks.frames = []; // the last 100 redraws: {events, ms} (what one frame of feed updates costs)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function queueRow(row) {
  const out = { ...row };
  for (const key of DETAIL_ONLY) delete out[key];
  return out;
}

/**
 * Mount the live picture in `container`.
 * @param ui {setConnection(state), showHelp(), isHelpOpen()}
 */
export function mountLive(container, api, me, ui) {
  const permissions = new Set(me.permissions);
  const canDispatch = permissions.has("panic.dispatch");
  const canUnits = permissions.has("unit.read");
  const state = new LiveState();
  let map = null;
  let queue = null;
  let detail = null;
  let feed = null;
  let stopKeys = () => {};
  let frame = 0;
  let pending = [];
  let loading = true;
  let buffered = [];
  let loads = 0;
  let reloads = 0;
  let retryTimer = 0;
  let reloadFailed = false;
  let unmounted = false;
  const wanted = new Set();
  let fetchTimer = 0;

  const root = el("div", "live");
  const banner = el("div", "live-error");
  banner.setAttribute("role", "alert");
  const bannerText = el("span");
  const dismiss = el("button", "ghost small", "Dismiss");
  dismiss.type = "button";
  dismiss.hidden = true;
  dismiss.addEventListener("click", () => showError(null));
  banner.append(bannerText, dismiss);
  const notice = el("div", "live-notice");
  notice.hidden = true;
  const queuePanel = el("section", "queue-panel");
  queuePanel.setAttribute("aria-label", "Alert queue");
  const mapPanel = el("div", "map-panel");
  const mapBox = el("div", "map");
  mapBox.setAttribute("aria-label", "Live map of alerts and units");
  mapPanel.append(mapBox, legend());
  const detailPanel = el("aside", "detail-panel");
  detailPanel.hidden = true;
  detailPanel.setAttribute("aria-label", "Alert detail");
  const announcer = el("div", "sr-only");
  announcer.setAttribute("role", "status");
  announcer.setAttribute("aria-live", "polite");
  root.append(banner, notice, queuePanel, mapPanel, detailPanel, announcer);
  container.replaceChildren(root);

  function showError(error) {
    if (!error) {
      bannerText.textContent = "";
      dismiss.hidden = true;
      root.classList.remove("has-error");
      return;
    }
    if (error.status === 401) return; // signing out
    bannerText.textContent = error.message || String(error);
    dismiss.hidden = false;
    root.classList.add("has-error");
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function scheduleFlush() {
    if (!frame && !unmounted) frame = requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    if (unmounted) return;
    const began = performance.now();
    const changes = state.takeChanges();
    map.render(changes, state);
    queue.render();
    hooks.frames.push({ events: pending.length, ms: performance.now() - began });
    if (hooks.frames.length > 100) hooks.frames.shift();
    const records = pending;
    pending = [];
    const firstLoad = changes.reset ? changes.loadTimes : null;
    // Leaflet draws its canvases in the following frame: stamp after that one.
    requestAnimationFrame(() => {
      const t = performance.now();
      if (records.length) {
        const applied = hooks.applied;
        for (const r of records) {
          r.appliedAt = t;
          applied.push(r);
        }
        if (applied.length > APPLIED_KEPT) applied.splice(0, applied.length - APPLIED_KEPT);
      }
      if (firstLoad) {
        resolveReady({
          renderMs: t - firstLoad.loaded,
          loadMs: t - firstLoad.started,
          alerts: state.alerts.size,
          units: state.units.size,
        });
      }
    });
  }

  async function loadOpenAlerts() {
    const rows = await api.get(`/api/panic/alerts?status=open&limit=${PAGE}`);
    if (rows.length !== PAGE) {
      notice.hidden = true;
      return rows;
    }
    // One page is full: ask status by status to see more of the queue.
    const lists = await Promise.all(
      [...OPEN_STATUSES].map((s) => api.get(`/api/panic/alerts?status=${s}&limit=${PAGE}`)),
    );
    const full = lists.some((list) => list.length >= PAGE);
    notice.hidden = !full;
    notice.textContent = full
      ? `More than ${PAGE.toLocaleString("en-ZA")} alerts in one status: the queue shows the most urgent ${PAGE.toLocaleString("en-ZA")} of each.`
      : "";
    const byId = new Map();
    for (const list of lists) for (const row of list) byId.set(row.id, row);
    return [...byId.values()];
  }

  /** `feed.ready`: load the lists, then apply what arrived meanwhile. */
  async function reload() {
    const seq = ++reloads;
    clearTimeout(retryTimer);
    if (!loading) buffered = [];
    loading = true;
    const started = performance.now();
    const before = loads > 0 ? new Set(state.alerts.keys()) : null;
    let alerts;
    let units;
    try {
      [alerts, units] = await Promise.all([loadOpenAlerts(), canUnits ? api.get("/api/panic/units") : []]);
    } catch (error) {
      if (unmounted || seq !== reloads) return;
      showError(error);
      reloadFailed = true;
      // Keep buffering events and try again (a 401 signs out; a 403 will not change by waiting).
      if (error.status !== 401 && error.status !== 403) retryTimer = setTimeout(reload, 3000);
      return;
    }
    if (unmounted || seq !== reloads) return; // a newer reload (feed reset) is under way
    if (reloadFailed) showError(null);
    reloadFailed = false;
    const loaded = performance.now();
    loads += 1;
    state.load(alerts, units);
    state.loadTimes = { started, loaded };
    if (before) {
      // Alerts raised while we were disconnected are new to the operator too.
      const until = Date.now() + NEW_HIGHLIGHT_MS;
      let fresh = 0;
      for (const alert of state.alerts.values()) {
        if (!before.has(alert.id)) {
          alert.isNewUntil = until;
          fresh += 1;
        }
      }
      if (fresh) beep(true);
    }
    loading = false;
    const events = buffered;
    buffered = [];
    for (const [subject, payload, receivedAt] of events) apply(subject, payload, receivedAt);
    scheduleFlush();
  }

  function onEvent(subject, payload, receivedAt) {
    if (loading) {
      buffered.push([subject, payload, receivedAt]);
      if (buffered.length > MAX_BUFFERED) buffered.splice(0, buffered.length - MAX_BUFFERED);
      return;
    }
    apply(subject, payload, receivedAt);
  }

  function apply(subject, payload, receivedAt) {
    let result = "ignored";
    let id;
    if (subject === "panic.alert_raised" || subject === "panic.alert_changed") {
      id = payload.alert_id;
      result = state.applyAlert(subject, payload);
      if (result === "added" || result === "added-late") {
        const alert = state.alerts.get(id);
        if (result === "added") {
          alert.isNewUntil = Date.now() + NEW_HIGHLIGHT_MS;
          beep(alert.priority === 1);
          announce(`New P${alert.priority} alert: ${TYPE_LABELS[alert.type] || alert.type}.`);
        }
      }
      if (result !== "ignored") detail.touched(id);
    } else if (subject === "panic.escalated") {
      id = payload.alert_id;
      result = state.applyEscalation(payload);
      if (result !== "ignored") {
        beep(true);
        detail.touched(id);
      }
    } else if (subject === "panic.unit_changed") {
      id = payload.unit_id;
      result = state.applyUnit(payload);
    }
    if (result === "ignored") return;
    pending.push({ subject, id, receivedAt, appliedAt: null });
    scheduleFlush();
  }

  /**
   * An alert known only from its event, now on screen: read its full row soon (batched).
   * Rows are fetched only when shown, so a burst of alerts does not become a burst of reads.
   */
  function wantFull(id) {
    wanted.add(id);
    if (!fetchTimer) fetchTimer = setTimeout(fetchWanted, 250);
  }

  async function fetchWanted() {
    fetchTimer = 0;
    const ids = [...wanted];
    wanted.clear();
    if (!ids.length || unmounted) return;
    try {
      if (ids.length > 40) {
        const want = new Set(ids);
        for (const row of await loadOpenAlerts()) if (want.has(row.id)) state.mergeFull(row);
      } else {
        const queueIds = [...ids];
        const worker = async () => {
          while (queueIds.length) {
            const id = queueIds.shift();
            try {
              state.mergeFull(queueRow(await api.get(`/api/panic/alerts/${encodeURIComponent(id)}`)));
            } catch (error) {
              if (error.status === 404 || error.status === 403) state.drop(id);
            }
          }
        };
        await Promise.all([worker(), worker(), worker(), worker()]);
      }
    } catch (error) {
      showError(error);
    }
    scheduleFlush();
  }

  function openAlert(id) {
    if (!id) return;
    if (queue.selectedId !== id) queue.select(id);
    root.classList.add("has-detail");
    detail.open(id);
  }

  function selectedOrFirst() {
    if (!queue.selectedId) queue.move(1);
    return queue.selectedId;
  }

  async function start() {
    let config = {};
    try {
      config = await api.get("/api/console/config");
    } catch (error) {
      if (error.status === 401) return;
      config = {};
    }
    if (unmounted) return;
    const mapConfig = { ...DEFAULT_MAP, ...(config.map || {}) };
    const targets = {
      acknowledge_seconds: config.targets?.acknowledge_seconds ?? DEFAULT_TARGETS.acknowledge_seconds,
      on_scene_seconds: { ...DEFAULT_TARGETS.on_scene_seconds, ...(config.targets?.on_scene_seconds || {}) },
    };
    map = new LiveMap(mapBox, api, mapConfig, (id) => openAlert(id), { cameras: permissions.has("cctv.read") });
    map.loadBase();
    queue = new Queue(queuePanel, state, targets, {
      onSelect: (id) => map.select(id, state, { pan: true }),
      onOpen: (id) => openAlert(id),
      needFull: (id) => wantFull(id),
    });
    detail = new Detail(detailPanel, {
      api,
      map,
      state,
      me,
      canDispatch,
      showError,
      announce,
      onChanged: (row) => {
        state.mergeFull(queueRow(row));
        scheduleFlush();
      },
      onClose: () => {
        root.classList.remove("has-detail");
        queue.focus();
      },
    });
    stopKeys = installKeyboard({
      next: () => queue.move(1),
      previous: () => queue.move(-1),
      open: () => openAlert(selectedOrFirst()),
      acknowledge: () => {
        const id = selectedOrFirst();
        if (!id) return;
        if (!canDispatch) return showError(new Error("Your role may not acknowledge alerts."));
        detail.acknowledge(id);
      },
      dispatch: async () => {
        const id = selectedOrFirst();
        if (!id) return;
        if (!canDispatch) return showError(new Error("Your role may not dispatch units."));
        if (detail.openId !== id) {
          root.classList.add("has-detail");
          await detail.open(id);
        }
        await detail.dispatchTop();
      },
      escape: () => {
        if (detail.isOpen) {
          detail.close();
          return true;
        }
        return false;
      },
      help: () => ui.showHelp(),
      isDialogOpen: () => ui.isHelpOpen(),
    });
    feed = new Feed(api, {
      onReady: reload,
      onEvent,
      onState: (s) => ui.setConnection(s),
      onClosed: () => api.forget(),
    });
    feed.start();
    queue.focus();
  }

  start();

  return {
    unmount() {
      unmounted = true;
      cancelAnimationFrame(frame);
      clearTimeout(fetchTimer);
      clearTimeout(retryTimer);
      stopKeys();
      if (feed) feed.stop();
      if (detail && detail.isOpen) detail.close();
      if (queue) queue.destroy();
      if (map) map.destroy();
      ui.setConnection("off");
    },
  };
}

function legend() {
  const box = el("div", "map-legend");
  box.setAttribute("aria-label", "Map legend");
  const rows = [
    ["dot p1", "P1 alert"],
    ["dot p2", "P2"],
    ["dot p3", "P3"],
    ["dot p4", "P4"],
    ["dot u-available", "unit available"],
    ["dot u-assigned", "assigned"],
    ["dot u-en_route", "en route"],
    ["dot u-on_scene", "on scene"],
    ["dot u-off_duty", "off duty"],
  ];
  for (const [className, label] of rows) {
    const item = el("span", "legend-item");
    item.append(el("span", className), label);
    box.append(item);
  }
  return box;
}
