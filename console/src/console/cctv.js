// The CCTV panel (#/cctv): the video wall of an area, the detection event timeline, the
// cameras' health and the evidence cases. Camera status and detections arrive on the live
// feed (cctv.camera_offline|online, cctv.event); endpoints a server does not have yet
// (404) leave their part of the panel saying so, and are asked again later.
import { panelFeed } from "../shared/panel-feed.js";
import "./cctv.css";
import { h } from "../shared/dom.js";
import { LAYOUTS, STATUS_TEXT, VideoWall, liveUrl, statusBadge, streams } from "./cctv-wall.js";

const CCTV_SUBJECTS = ["cctv.event", "cctv.camera_offline", "cctv.camera_online"];
const EVENTS_KEPT = 200;
const CAMERAS_REFRESH_MS = 30_000;
const EVENTS_POLL_MS = 30_000;
const UNAVAILABLE_RETRY_MS = 60_000;
const STATUS_ORDER = { offline: 0, unknown: 1, disabled: 2, online: 3 };
const LABELS = { person: "Person", plate: "Plate", vehicle: "Vehicle", car: "Vehicle" };
const TABS = [
  ["wall", "Video wall"],
  ["health", "Camera health"],
  ["evidence", "Evidence cases"],
];

const hooks = (window.khusela = window.khusela || {});

function when(value) {
  if (!value) return null;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t;
}

function clock(t) {
  return t ? t.toLocaleTimeString("en-ZA", { hour12: false }) : "—";
}

function stamp(t) {
  return t ? `${t.toLocaleDateString("en-ZA")} ${clock(t)}` : "—";
}

export function age(t, now = Date.now()) {
  if (!t) return "never";
  const s = Math.max(0, Math.round((now - t.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** An uptime row in whichever shape the server gives: a fraction 0..1, or null. */
function uptimeFraction(row) {
  if (!row) return null;
  for (const key of ["uptime_pct", "uptime_percent", "percent"]) if (Number.isFinite(row[key])) return row[key] / 100;
  for (const key of ["uptime", "ratio", "fraction"]) if (Number.isFinite(row[key])) return row[key] > 1 ? row[key] / 100 : row[key];
  const up = row.online_seconds ?? row.up_seconds;
  const total = row.observed_seconds ?? row.total_seconds ?? row.seconds;
  if (Number.isFinite(up) && Number.isFinite(total) && total > 0) return up / total;
  return null;
}

/** A detection from the list or the feed, in one shape. */
function detection(raw) {
  const id = raw.id ?? raw.event_id;
  let snapshot = null;
  if (raw.snapshot_url) snapshot = raw.snapshot_url;
  else if ((raw.has_snapshot || raw.snapshot_sha256) && id) snapshot = `/api/cctv/events/${encodeURIComponent(id)}/snapshot.jpg`;
  return {
    id: id == null ? null : String(id),
    cameraId: raw.camera_id,
    cameraName: raw.camera_name || null,
    ended: raw.kind === "end",
    at: when(raw.at || raw.occurred_at || raw.detected_at),
    label: String(raw.label || "object"),
    score: Number.isFinite(raw.score) ? raw.score : null,
    plate: raw.plate || null,
    zone: raw.zone || null,
    snapshot,
  };
}

/**
 * Mount the CCTV panel in `container`.
 * @returns {{unmount(): void}}
 */
export function mountCctv(container, api, me) {
  const permissions = new Set(me.permissions);
  const canEvidence = permissions.has("evidence.read");
  let unmounted = false;
  let cameras = new Map(); // id -> camera
  let municipalityNames = new Map();
  let area = "";
  let tab = "wall";
  const timers = new Set();
  const objectUrls = new Set();

  const later = (fn, ms) => {
    const id = setTimeout(() => {
      timers.delete(id);
      if (!unmounted) fn();
    }, ms);
    timers.add(id);
    return id;
  };
  const every = (fn, ms) => {
    const id = setInterval(() => {
      if (!unmounted) fn();
    }, ms);
    timers.add(id);
    return id;
  };

  // --- layout --------------------------------------------------------------------------
  const banner = h("div", { class: "cctv-error", role: "alert" });
  const areaSelect = h("select", { id: "cctv-area" });
  const layoutSelect = h(
    "select",
    { id: "cctv-layout" },
    Object.keys(LAYOUTS).map((key) => h("option", { value: key, text: key.replace("x", " × ") })),
  );
  const toolbar = h(
    "div",
    { class: "cctv-toolbar" },
    h("h2", { text: "CCTV" }),
    h("label", { for: "cctv-area", text: "Area" }),
    areaSelect,
    h("label", { for: "cctv-layout", text: "Layout" }),
    layoutSelect,
    h("span", { class: "cctv-summary muted", role: "status" }),
  );
  const summary = toolbar.querySelector(".cctv-summary");
  const tabList = h("div", { class: "cctv-tabs", role: "tablist", "aria-label": "CCTV sections" });
  const panels = {};
  const tabButtons = {};
  for (const [key, label] of TABS) {
    if (key === "evidence" && !canEvidence) continue;
    const button = h("button", {
      type: "button",
      role: "tab",
      id: `cctv-tab-${key}`,
      "aria-controls": `cctv-panel-${key}`,
      text: label,
      onclick: () => selectTab(key, true),
    });
    button.addEventListener("keydown", (event) => {
      const keys = Object.keys(tabButtons);
      const i = keys.indexOf(key);
      let next = null;
      if (event.key === "ArrowRight") next = keys[(i + 1) % keys.length];
      else if (event.key === "ArrowLeft") next = keys[(i - 1 + keys.length) % keys.length];
      else if (event.key === "Home") next = keys[0];
      else if (event.key === "End") next = keys[keys.length - 1];
      if (next) {
        event.preventDefault();
        selectTab(next, true);
      }
    });
    tabButtons[key] = button;
    tabList.append(button);
    panels[key] = h("section", {
      class: `cctv-panel cctv-panel-${key}`,
      role: "tabpanel",
      id: `cctv-panel-${key}`,
      "aria-labelledby": `cctv-tab-${key}`,
    });
  }
  const eventsPanel = h("aside", { class: "cctv-events", "aria-labelledby": "cctv-events-title" });
  const main = h("div", { class: "cctv-main" }, tabList, ...Object.values(panels));
  const announcer = h("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  const root = h("div", { class: "cctv" }, banner, toolbar, main, eventsPanel, announcer);
  container.replaceChildren(root);

  function showError(error) {
    if (!error || error.status === 401) {
      banner.textContent = "";
      root.classList.remove("has-error");
      return;
    }
    banner.textContent = error.message || String(error);
    root.classList.add("has-error");
  }

  // --- the wall --------------------------------------------------------------------------
  const wall = new VideoWall(panels.wall, api, (camera) => enlarge(camera));
  const dialog = h("dialog", { class: "cctv-enlarged", "aria-labelledby": "cctv-enlarged-title" });
  root.append(dialog);
  dialog.addEventListener("close", () => {
    const img = dialog.querySelector("img");
    if (img) img.removeAttribute("src");
    dialog.replaceChildren();
    wall.setActive(tab === "wall");
    const back = dialog.dataset.cameraId && panels.wall.querySelector(`[data-camera-id="${CSS.escape(dialog.dataset.cameraId)}"]`);
    if (back) back.focus();
  });

  function enlarge(camera) {
    wall.setActive(false); // one stream at a time while the enlarged view is open
    dialog.dataset.cameraId = camera.id;
    const img = h("img", { class: "cctv-enlarged-video", alt: `Live view of ${camera.name}` });
    const note = h("p", { class: "cctv-placeholder-text muted" });
    if (streams(camera)) {
      img.src = liveUrl(api, camera.id);
      img.addEventListener("error", () => {
        img.removeAttribute("src");
        note.textContent = "The live view is not available from this server.";
      });
    } else {
      note.textContent = camera.status === "disabled" ? "The camera is disabled." : `Offline${camera.status_reason ? `: ${camera.status_reason}` : ""}.`;
    }
    const facts = h(
      "dl",
      { class: "facts" },
      h("dt", { text: "Status" }),
      h("dd", {}, statusBadge(camera), camera.status_reason ? ` ${camera.status_reason}` : ""),
      h("dt", { text: "Area" }),
      h("dd", { text: areaName(camera.municipality) }),
      h("dt", { text: "Last frame" }),
      h("dd", { text: stamp(when(camera.last_frame_at)) }),
      h("dt", { text: "Position" }),
      h("dd", { text: `${camera.lat.toFixed(5)}, ${camera.lon.toFixed(5)}${camera.bearing_deg != null ? ` · facing ${Math.round(camera.bearing_deg)}°` : ""}` }),
    );
    const close = h("button", { type: "button", class: "primary", text: "Close", onclick: () => dialog.close() });
    dialog.replaceChildren(
      h("div", { class: "cctv-enlarged-head" }, h("h2", { id: "cctv-enlarged-title", text: camera.name }), close),
      h("div", { class: "cctv-enlarged-frame" }, img, note),
      facts,
    );
    if (!dialog.open) dialog.showModal();
    close.focus();
  }

  function areaName(code) {
    if (!code) return "No municipality";
    return municipalityNames.get(code) || code;
  }

  function areaCameras() {
    const list = [...cameras.values()].filter((c) => !area || c.municipality === area);
    return list.sort((a, b) => a.name.localeCompare(b.name));
  }

  function fillAreas() {
    const counts = new Map();
    for (const c of cameras.values()) counts.set(c.municipality || "", (counts.get(c.municipality || "") || 0) + 1);
    const codes = [...counts.keys()].sort((a, b) => areaName(a).localeCompare(areaName(b)));
    const options = [h("option", { value: "", text: `All areas (${cameras.size})` })];
    for (const code of codes) {
      if (!code) continue;
      options.push(h("option", { value: code, text: `${areaName(code)} (${counts.get(code)})` }));
    }
    areaSelect.replaceChildren(...options);
    if (area && !counts.has(area)) area = "";
    areaSelect.value = area;
  }

  areaSelect.addEventListener("change", () => {
    area = areaSelect.value;
    wall.show(areaCameras());
    renderHealth();
  });
  layoutSelect.addEventListener("change", () => wall.setLayout(layoutSelect.value));

  function selectTab(key, focus = false) {
    if (!panels[key]) key = "wall";
    tab = key;
    for (const [k, button] of Object.entries(tabButtons)) {
      const on = k === key;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    if (focus) tabButtons[key].focus();
    wall.setActive(key === "wall" && !dialog.open);
    if (key === "evidence") loadCases();
    if (key === "health") renderHealth();
  }

  // --- cameras -------------------------------------------------------------------------
  async function loadCameras() {
    let list;
    try {
      list = await api.get("/api/cctv/cameras");
    } catch (error) {
      if (!unmounted) showError(error);
      return false;
    }
    if (unmounted) return false;
    const first = cameras.size === 0;
    cameras = new Map(list.map((c) => [c.id, c]));
    fillAreas();
    wall.show(areaCameras(), { keepPage: !first });
    renderHealth();
    renderSummary();
    renderCameraFilter();
    return true;
  }

  async function loadNames() {
    try {
      const base = await api.get("/api/map/base");
      const names = new Map();
      for (const f of base.features || []) {
        const p = f.properties || {};
        if (p.layer === "municipality" && p.code) names.set(p.code, p.name || p.code);
      }
      municipalityNames = names;
    } catch {
      return; // codes are shown instead
    }
    if (unmounted) return;
    fillAreas();
    renderHealth();
    renderCameraFilter();
  }

  function renderSummary() {
    const all = [...cameras.values()];
    const offline = all.filter((c) => c.status === "offline").length;
    const online = all.filter((c) => c.status === "online").length;
    summary.textContent = `${all.length} cameras · ${online} online · ${offline} offline`;
  }

  function cameraChanged(cameraId, patch) {
    const camera = cameras.get(cameraId);
    if (!camera) return;
    const updated = { ...camera, ...patch };
    cameras.set(cameraId, updated);
    wall.update(updated);
    renderHealth();
    renderSummary();
  }

  // --- camera health -------------------------------------------------------------------
  let uptime = new Map(); // camera id -> fraction
  let uptimeState = "loading"; // loading | ok | unavailable
  let sortKey = "status";
  let sortDir = 1;
  const healthNote = h("p", { class: "muted small" });
  const healthBody = h("tbody");
  const sortButtons = {};
  const header = (key, label) => {
    const button = h("button", {
      type: "button",
      class: "cctv-sort",
      text: label,
      onclick: () => {
        sortDir = sortKey === key ? -sortDir : 1;
        sortKey = key;
        renderHealth();
      },
    });
    sortButtons[key] = button;
    return h("th", { scope: "col", "data-key": key }, button);
  };
  panels.health.append(
    h("h3", { class: "sr-only", text: "Camera health" }),
    healthNote,
    h(
      "div",
      { class: "cctv-table-wrap" },
      h(
        "table",
        { class: "cctv-table cctv-health", "aria-label": "Camera health" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            header("name", "Camera"),
            header("area", "Area"),
            header("status", "Status"),
            h("th", { scope: "col", text: "Reason" }),
            header("frame", "Last frame"),
            header("uptime", "Uptime 24 h"),
          ),
        ),
        healthBody,
      ),
    ),
  );

  function compareHealth(a, b) {
    let d = 0;
    if (sortKey === "status") d = (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9);
    else if (sortKey === "area") d = areaName(a.municipality).localeCompare(areaName(b.municipality));
    else if (sortKey === "frame") d = (when(a.last_frame_at)?.getTime() ?? 0) - (when(b.last_frame_at)?.getTime() ?? 0);
    else if (sortKey === "uptime") d = (uptime.get(a.id) ?? -1) - (uptime.get(b.id) ?? -1);
    return sortDir * d || a.name.localeCompare(b.name);
  }

  function renderHealth() {
    if (!panels.health || tab !== "health") return;
    for (const [key, button] of Object.entries(sortButtons)) {
      const th = button.parentElement;
      if (key === sortKey) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    const rows = areaCameras().sort(compareHealth);
    healthNote.textContent =
      uptimeState === "unavailable"
        ? "Uptime is not available from this server yet."
        : `${rows.length} cameras${area ? ` in ${areaName(area)}` : ""}; offline cameras first. Sort by a column heading.`;
    const now = Date.now();
    healthBody.replaceChildren(
      ...rows.map((c) => {
        const frame = when(c.last_frame_at);
        const up = uptime.get(c.id);
        const row = h(
          "tr",
          { class: `st-row-${c.status}`, "data-camera-id": c.id },
          h("th", { scope: "row", text: c.name }),
          h("td", { text: areaName(c.municipality) }),
          h("td", {}, statusBadge(c)),
          h("td", { class: "cctv-reason", text: c.status_reason || "" }),
          h("td", { class: "cctv-age", "data-at": frame ? String(frame.getTime()) : "", text: age(frame, now) }),
          h("td", { class: "cctv-num", text: up == null ? "—" : `${(up * 100).toFixed(1)} %` }),
        );
        return row;
      }),
    );
  }

  function tickAges() {
    if (tab !== "health") return;
    const now = Date.now();
    for (const cell of healthBody.querySelectorAll(".cctv-age")) {
      const at = cell.dataset.at;
      cell.textContent = at ? age(new Date(Number(at)), now) : "never";
    }
  }

  async function loadUptime() {
    const until = new Date();
    const since = new Date(until.getTime() - 24 * 3600 * 1000);
    const query = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}&group_by=camera`;
    try {
      const body = await api.get(`/api/cctv/uptime?${query}`);
      const rows = Array.isArray(body) ? body : body.rows || body.cameras || body.items || [];
      const next = new Map();
      for (const row of rows) {
        const id = row.camera_id ?? row.id ?? row.key;
        const f = uptimeFraction(row);
        if (id != null && f != null) next.set(String(id), Math.max(0, Math.min(1, f)));
      }
      uptime = next;
      uptimeState = "ok";
    } catch (error) {
      if (unmounted) return;
      uptimeState = "unavailable";
      if (error.status === 404 || error.status === 405) later(loadUptime, UNAVAILABLE_RETRY_MS);
    }
    renderHealth();
  }

  // --- event timeline ------------------------------------------------------------------
  let events = []; // newest first
  let eventsState = "loading";
  const labelFilter = h(
    "select",
    { id: "cctv-label" },
    h("option", { value: "", text: "All labels" }),
    h("option", { value: "person", text: "Person" }),
    h("option", { value: "plate", text: "Plate" }),
    h("option", { value: "vehicle", text: "Vehicle" }),
  );
  const cameraFilter = h("select", { id: "cctv-camera" });
  const eventsNote = h("p", { class: "muted small", role: "status" });
  const eventList = h("ol", { class: "cctv-event-list", "aria-label": "Detection events, newest first" });
  eventsPanel.append(
    h("h2", { id: "cctv-events-title", text: "Detections" }),
    h(
      "div",
      { class: "cctv-filters" },
      h("label", { for: "cctv-label", text: "Label" }),
      labelFilter,
      h("label", { for: "cctv-camera", text: "Camera" }),
      cameraFilter,
    ),
    eventsNote,
    eventList,
  );
  labelFilter.addEventListener("change", () => loadEvents());
  cameraFilter.addEventListener("change", () => loadEvents());

  function renderCameraFilter() {
    const chosen = cameraFilter.value;
    const list = [...cameras.values()].sort((a, b) => a.name.localeCompare(b.name));
    cameraFilter.replaceChildren(
      h("option", { value: "", text: "All cameras" }),
      ...list.map((c) => h("option", { value: c.id, text: c.name })),
    );
    cameraFilter.value = cameras.has(chosen) ? chosen : "";
  }

  function matches(e) {
    if (labelFilter.value && e.label !== labelFilter.value) return false;
    if (cameraFilter.value && e.cameraId !== cameraFilter.value) return false;
    return true;
  }

  let thumbObserver = null;
  function thumbs() {
    if (!thumbObserver) {
      thumbObserver = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          thumbObserver.unobserve(entry.target);
          loadThumb(entry.target);
        }
      });
    }
    return thumbObserver;
  }

  async function loadThumb(img) {
    const path = img.dataset.snapshot;
    if (!path || img.getAttribute("src")) return;
    try {
      const response = await fetch(path, { headers: { authorization: `Bearer ${api.token}` } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const blob = await response.blob();
      if (unmounted || !img.isConnected) return;
      const url = URL.createObjectURL(blob);
      objectUrls.add(url);
      img.dataset.objectUrl = url;
      img.src = url;
    } catch {
      img.replaceWith(h("span", { class: "cctv-thumb cctv-thumb-none", text: "no image" }));
    }
  }

  function releaseThumb(node) {
    for (const img of node.querySelectorAll("img[data-object-url]")) {
      URL.revokeObjectURL(img.dataset.objectUrl);
      objectUrls.delete(img.dataset.objectUrl);
    }
  }

  function eventItem(e) {
    const camera = cameras.get(e.cameraId);
    const thumb = e.snapshot
      ? h("img", { class: "cctv-thumb", alt: `Snapshot: ${LABELS[e.label] || e.label}`, "data-snapshot": e.snapshot })
      : h("span", { class: "cctv-thumb cctv-thumb-none", text: "no image" });
    const item = h(
      "li",
      { class: `cctv-event lb-${e.label}`, "data-event-id": e.id || "" },
      thumb,
      h(
        "div",
        { class: "cctv-event-text" },
        h(
          "div",
          { class: "cctv-event-line" },
          h("time", { datetime: e.at ? e.at.toISOString() : "", text: clock(e.at) }),
          h("span", { class: "cctv-label", text: LABELS[e.label] || e.label }),
          e.score != null ? h("span", { class: "muted", text: `${Math.round(e.score * 100)} %` }) : null,
        ),
        e.plate ? h("div", { class: "cctv-plate", text: e.plate }) : null,
        h("div", { class: "cctv-event-camera muted", text: `${camera ? camera.name : e.cameraName || e.cameraId || "unknown camera"}${e.ended ? " · left" : ""}` }),
      ),
    );
    if (camera) {
      item.tabIndex = 0;
      item.title = "Enter: open the camera";
      const open = () => enlarge(cameras.get(e.cameraId));
      item.addEventListener("click", open);
      item.addEventListener("keydown", (event) => {
        if (event.key === "Enter") open();
      });
    }
    if (e.snapshot) thumbs().observe(thumb);
    return item;
  }

  function renderEvents() {
    releaseThumb(eventList);
    const shown = events.filter(matches);
    eventList.replaceChildren(...shown.map(eventItem));
    if (eventsState === "unavailable") eventsNote.textContent = "Detection events are not available from this server yet.";
    else if (eventsState === "loading") eventsNote.textContent = "Loading…";
    else eventsNote.textContent = shown.length ? `${shown.length} detections, newest first.` : "No detections.";
  }

  let eventsSeq = 0;
  async function loadEvents() {
    const seq = ++eventsSeq;
    const query = new URLSearchParams({ limit: String(EVENTS_KEPT) });
    if (labelFilter.value) query.set("label", labelFilter.value);
    if (cameraFilter.value) query.set("camera_id", cameraFilter.value);
    try {
      const body = await api.get(`/api/cctv/events?${query}`);
      if (unmounted || seq !== eventsSeq) return;
      const rows = Array.isArray(body) ? body : body.events || body.items || [];
      const loaded = rows.map(detection);
      // Keep what the feed brought that the list does not have yet.
      const known = new Set(loaded.map((e) => e.id));
      const fresh = events.filter((e) => e.id && !known.has(e.id) && matches(e));
      events = [...fresh, ...loaded].sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0)).slice(0, EVENTS_KEPT);
      eventsState = "ok";
    } catch (error) {
      if (unmounted || seq !== eventsSeq) return;
      if (error.status === 404 || error.status === 405) eventsState = "unavailable";
      else showError(error);
    }
    renderEvents();
  }

  function addEvent(raw) {
    const e = detection(raw);
    if (e.id && events.some((x) => x.id === e.id)) return;
    events.unshift(e);
    if (events.length > EVENTS_KEPT) events.length = EVENTS_KEPT;
    if (eventsState !== "ok") eventsState = "ok";
    if (!matches(e)) return;
    const item = eventItem(e);
    item.classList.add("is-new");
    eventList.prepend(item);
    while (eventList.children.length > EVENTS_KEPT) {
      releaseThumb(eventList.lastElementChild);
      eventList.lastElementChild.remove();
    }
    eventsNote.textContent = `${eventList.children.length} detections, newest first.`;
    const camera = cameras.get(e.cameraId);
    announce(`${LABELS[e.label] || e.label}${e.plate ? ` ${e.plate}` : ""} at ${camera ? camera.name : "a camera"}.`);
  }

  function announce(text) {
    announcer.textContent = text;
  }

  // --- evidence cases ------------------------------------------------------------------
  let casesLoaded = false;
  const casesNote = h("p", { class: "muted small", role: "status" });
  const casesBody = h("tbody");
  const custody = h("section", { class: "cctv-custody", "aria-labelledby": "cctv-custody-title", hidden: true });
  if (panels.evidence) {
    panels.evidence.append(
      h("h3", { class: "sr-only", text: "Evidence cases" }),
      casesNote,
      h(
        "div",
        { class: "cctv-table-wrap" },
        h(
          "table",
          { class: "cctv-table cctv-cases", "aria-label": "Evidence cases" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Case number", "Title", "Items", "Legal hold", "Opened", ""].map((t) => h("th", { scope: "col", text: t })),
            ),
          ),
          casesBody,
        ),
      ),
      custody,
    );
  }

  async function loadCases() {
    if (casesLoaded || !panels.evidence) return;
    casesLoaded = true;
    casesNote.textContent = "Loading…";
    let cases;
    try {
      cases = await api.get("/api/evidence/cases");
    } catch (error) {
      casesLoaded = false;
      casesNote.textContent = error.status === 403 ? "Your role does not include these evidence cases." : error.message;
      return;
    }
    if (unmounted) return;
    casesNote.textContent = cases.length ? `${cases.length} cases you may see, newest first.` : "No evidence cases.";
    const counts = new Map();
    casesBody.replaceChildren(
      ...cases.map((c) => {
        const count = h("td", { class: "cctv-num", text: "…" });
        counts.set(c.id, count);
        const open = h("button", {
          type: "button",
          class: "secondary small",
          text: "Custody log",
          "aria-label": `Custody log of ${c.case_number}`,
          onclick: () => showCustody(c, open),
        });
        return h(
          "tr",
          { "data-case-id": c.id },
          h("th", { scope: "row", text: c.case_number }),
          h("td", { text: c.title }),
          count,
          h("td", {}, c.legal_hold ? h("span", { class: "cctv-badge st-hold", text: "On hold" }) : h("span", { class: "muted", text: "No" })),
          h("td", { text: stamp(when(c.created_at)) }),
          h("td", {}, open),
        );
      }),
    );
    const queue = [...cases];
    const worker = async () => {
      while (queue.length && !unmounted) {
        const c = queue.shift();
        try {
          const items = await api.get(`/api/evidence/cases/${encodeURIComponent(c.id)}/items`);
          counts.get(c.id).textContent = String(items.length);
        } catch {
          counts.get(c.id).textContent = "—";
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  async function showCustody(c, opener) {
    custody.hidden = false;
    const title = h("h3", { id: "cctv-custody-title", text: `Chain of custody — ${c.case_number}` });
    const close = h("button", {
      type: "button",
      class: "ghost small",
      text: "Close",
      onclick: () => {
        custody.hidden = true;
        custody.replaceChildren();
        opener.focus();
      },
    });
    custody.replaceChildren(h("div", { class: "cctv-custody-head" }, title, close), h("p", { class: "muted", text: "Loading…" }));
    title.tabIndex = -1;
    title.focus();
    let log;
    try {
      log = await api.get(`/api/evidence/cases/${encodeURIComponent(c.id)}/custody`);
    } catch (error) {
      custody.lastElementChild.textContent = error.message;
      return;
    }
    if (unmounted) return;
    const verdict = log.ok
      ? h("p", { class: "cctv-chain ok", text: `Chain verified: ${log.checked} entries, unbroken.` })
      : h("p", { class: "cctv-chain bad", text: `Chain broken at entry ${log.first_bad_seq}: ${log.reason}` });
    custody.replaceChildren(
      h("div", { class: "cctv-custody-head" }, title, close),
      verdict,
      h(
        "table",
        { class: "cctv-table", "aria-label": `Custody log of ${c.case_number}` },
        h("thead", {}, h("tr", {}, ...["#", "When", "Who", "Action", "Item", "Details"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          ...(log.entries || []).map((e) =>
            h(
              "tr",
              {},
              h("td", { class: "cctv-num", text: String(e.seq) }),
              h("td", { text: stamp(when(e.at)) }),
              h("td", { text: e.actor }),
              h("td", { text: String(e.action).replaceAll("_", " ") }),
              h("td", { class: "cctv-mono", text: e.item_id ? e.item_id.slice(0, 8) : "" }),
              h("td", { class: "cctv-details", text: e.details || "" }),
            ),
          ),
        ),
      ),
    );
  }

  // --- the live feed (cctv subjects) ---------------------------------------------------
  const feed = panelFeed(api, CCTV_SUBJECTS, {
    isActive: () => !unmounted,
    later,
    onReady(reconnected) {
      if (hooks.cctv) hooks.cctv.feedReady = true;
      if (!reconnected) return; // the lists were read just before the first connection
      loadCameras();
      loadEvents();
    },
    onEvent: (subject, payload) => onFeed(subject, payload),
  });

  function onFeed(subject, payload) {
    if (subject === "cctv.event") {
      addEvent(payload);
      return;
    }
    const id = payload.camera_id ?? payload.id;
    if (!id) return;
    if (subject === "cctv.camera_offline") {
      cameraChanged(id, { status: "offline", status_reason: payload.reason ?? payload.status_reason ?? null });
      const camera = cameras.get(id);
      if (camera) announce(`${camera.name} went offline${camera.status_reason ? `: ${camera.status_reason}` : ""}.`);
    } else if (subject === "cctv.camera_online") {
      cameraChanged(id, { status: "online", status_reason: null, last_frame_at: payload.at ?? payload.last_frame_at ?? new Date().toISOString() });
    }
  }

  // --- deep links (#/cctv?camera=ID from the live map) -----------------------------------
  function followHash() {
    const match = location.hash.match(/[?&]camera=([^&]+)/);
    if (!match) return;
    const id = decodeURIComponent(match[1]);
    const camera = cameras.get(id);
    if (!camera) return;
    history.replaceState(null, "", "#/cctv");
    area = camera.municipality || "";
    areaSelect.value = area;
    selectTab("wall");
    const list = areaCameras();
    const per = LAYOUTS[wall.layout];
    wall.page = Math.max(0, Math.floor(list.findIndex((c) => c.id === id) / per));
    wall.show(list, { keepPage: true });
    renderHealth();
    enlarge(camera);
  }
  const onHash = () => followHash();
  window.addEventListener("hashchange", onHash);

  hooks.cctv = {
    feedReady: false,
    get streaming() {
      return wall.streaming;
    },
  };

  selectTab("wall");
  renderEvents();
  (async () => {
    await loadCameras();
    if (unmounted) return;
    followHash();
    loadNames();
    loadUptime();
    loadEvents();
    feed.start();
    every(loadCameras, CAMERAS_REFRESH_MS);
    every(() => (eventsState === "ok" ? loadEvents() : null), EVENTS_POLL_MS);
    every(() => (eventsState === "unavailable" ? loadEvents() : null), UNAVAILABLE_RETRY_MS);
    every(() => (uptimeState === "ok" ? loadUptime() : null), 5 * 60_000);
    every(tickAges, 1000);
  })();

  return {
    unmount() {
      unmounted = true;
      for (const id of timers) {
        clearTimeout(id);
        clearInterval(id);
      }
      timers.clear();
      feed.stop();
      window.removeEventListener("hashchange", onHash);
      if (dialog.open) dialog.close();
      wall.destroy();
      if (thumbObserver) thumbObserver.disconnect();
      for (const url of objectUrls) URL.revokeObjectURL(url);
      objectUrls.clear();
      delete hooks.cctv;
    },
  };
}
