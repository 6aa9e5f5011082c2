// The CCTV video wall: a grid of live tiles (MJPEG in an <img>) for one area and layout.
// Only tiles on screen stream: a tile scrolled away, a hidden wall, a hidden tab or an
// unmounted view drops its <img src>, which closes the stream at the server.
import { h } from "../shared/dom.js";

export const LAYOUTS = { "2x2": 4, "3x3": 9, "4x4": 16 };
export const STATUS_TEXT = { online: "Online", offline: "Offline", unknown: "Unknown", disabled: "Disabled" };
const RETRY_MS = 15_000;

/** Cameras whose status means there is no picture to ask for. */
export function streams(camera) {
  return camera.status !== "offline" && camera.status !== "disabled";
}

export function liveUrl(api, cameraId) {
  return `/api/cctv/cameras/${encodeURIComponent(cameraId)}/live.mjpeg?access_token=${encodeURIComponent(api.token || "")}`;
}

export function statusBadge(camera) {
  const status = camera.status || "unknown";
  return h("span", { class: `cctv-badge st-${status}`, text: STATUS_TEXT[status] || status });
}

export class VideoWall {
  /**
   * @param container element the wall fills
   * @param api the shared Api
   * @param onEnlarge (camera) => void
   */
  constructor(container, api, onEnlarge) {
    this.api = api;
    this.onEnlarge = onEnlarge;
    this.cameras = [];
    this.layout = "2x2";
    this.page = 0;
    this.active = true;
    this.tiles = new Map(); // camera id -> {tile, img, camera, visible, failed, timer}
    this.grid = h("div", { class: "cctv-grid l-2x2", role: "list", "aria-label": "Live camera tiles" });
    this.empty = h("p", { class: "cctv-empty muted", hidden: true });
    this.pager = h("div", { class: "cctv-pager" });
    container.append(this.grid, this.empty, this.pager);
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const t = this.tiles.get(entry.target.dataset.cameraId);
        if (!t) continue;
        t.visible = entry.isIntersecting;
        this.sync(t);
      }
    });
    this.onVisibility = () => this.syncAll();
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  /** Show `cameras` (already filtered to the area) in the current layout. */
  show(cameras, { keepPage = false } = {}) {
    this.cameras = cameras;
    if (!keepPage) this.page = 0;
    this.render();
  }

  setLayout(layout) {
    if (!LAYOUTS[layout]) return;
    this.layout = layout;
    this.page = 0;
    this.render();
  }

  /** Streams run only while the wall is shown (not behind another tab or a dialog). */
  setActive(active) {
    this.active = active;
    this.syncAll();
  }

  /** A camera's status changed (feed or refresh): update its tile in place. */
  update(camera) {
    const t = this.tiles.get(camera.id);
    if (!t) return;
    t.camera = camera;
    this.paint(t);
    this.sync(t);
  }

  render() {
    const per = LAYOUTS[this.layout];
    const pages = Math.max(1, Math.ceil(this.cameras.length / per));
    this.page = Math.min(this.page, pages - 1);
    const shown = this.cameras.slice(this.page * per, (this.page + 1) * per);
    this.clear();
    this.grid.className = `cctv-grid l-${this.layout}`;
    for (const camera of shown) {
      const t = this.makeTile(camera);
      this.tiles.set(camera.id, t);
      this.grid.append(t.tile);
      this.observer.observe(t.tile);
    }
    this.empty.hidden = shown.length > 0;
    this.empty.textContent = "No cameras in this area.";
    this.pager.replaceChildren();
    if (pages > 1) {
      const prev = h("button", { type: "button", class: "ghost small", text: "◀ Previous", onclick: () => this.turn(-1) });
      const next = h("button", { type: "button", class: "ghost small", text: "Next ▶", onclick: () => this.turn(1) });
      prev.disabled = this.page === 0;
      next.disabled = this.page >= pages - 1;
      this.pager.append(
        prev,
        h("span", { class: "muted", text: `Page ${this.page + 1} of ${pages} · ${this.cameras.length} cameras` }),
        next,
      );
    } else if (this.cameras.length) {
      this.pager.append(h("span", { class: "muted", text: `${this.cameras.length} camera${this.cameras.length === 1 ? "" : "s"}` }));
    }
  }

  turn(by) {
    this.page += by;
    this.render();
    const first = this.grid.querySelector(".cctv-tile");
    if (first) first.focus();
  }

  makeTile(camera) {
    const img = h("img", { class: "cctv-video", alt: "" });
    const placeholder = h("div", { class: "cctv-placeholder" });
    const name = h("span", { class: "cctv-tile-name" });
    const badge = h("span");
    const reason = h("span", { class: "cctv-tile-reason" });
    const caption = h("figcaption", { class: "cctv-caption" }, name, badge, reason);
    const tile = h(
      "figure",
      { class: "cctv-tile", role: "listitem", tabindex: "0", "data-camera-id": camera.id },
      h("div", { class: "cctv-frame" }, img, placeholder),
      caption,
    );
    const t = { tile, img, placeholder, name, badge, reason, camera, visible: false, failed: false, timer: 0 };
    const open = () => this.onEnlarge(t.camera);
    tile.addEventListener("click", open);
    tile.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      } else if (["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp"].includes(event.key)) {
        event.preventDefault();
        this.moveFocus(tile, event.key);
      }
    });
    img.addEventListener("load", () => {
      t.failed = false;
      tile.classList.remove("no-video");
    });
    img.addEventListener("error", () => {
      if (!img.getAttribute("src")) return;
      t.failed = true;
      img.removeAttribute("src");
      tile.classList.add("no-video");
      placeholder.textContent = "Live view unavailable — retrying";
      clearTimeout(t.timer);
      t.timer = setTimeout(() => {
        t.failed = false;
        this.sync(t);
      }, RETRY_MS);
    });
    this.paint(t);
    return t;
  }

  paint(t) {
    const { camera } = t;
    const status = camera.status || "unknown";
    t.name.textContent = camera.name;
    t.badge.replaceChildren(statusBadge(camera));
    const down = !streams(camera);
    t.reason.textContent = down && camera.status_reason ? camera.status_reason : "";
    t.tile.classList.toggle("is-down", down);
    t.tile.dataset.status = status;
    const label = [camera.name, STATUS_TEXT[status] || status, down && camera.status_reason].filter(Boolean).join(", ");
    t.tile.setAttribute("aria-label", `${label}. Press Enter to enlarge.`);
    t.img.alt = `Live view of ${camera.name}`;
    if (down) t.placeholder.textContent = status === "disabled" ? "Camera disabled" : `Offline${camera.status_reason ? `: ${camera.status_reason}` : ""}`;
    else if (!t.failed) t.placeholder.textContent = "Connecting…";
  }

  /** Stream when the tile is on screen, the wall shown and the camera up; otherwise stop. */
  sync(t) {
    const want = this.active && t.visible && !document.hidden && streams(t.camera) && !t.failed;
    const has = t.img.getAttribute("src");
    if (want && !has) t.img.src = liveUrl(this.api, t.camera.id);
    else if (!want && has) t.img.removeAttribute("src");
  }

  syncAll() {
    for (const t of this.tiles.values()) this.sync(t);
  }

  moveFocus(tile, key) {
    const tiles = [...this.grid.querySelectorAll(".cctv-tile")];
    const i = tiles.indexOf(tile);
    const cols = Math.sqrt(LAYOUTS[this.layout]);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols }[key];
    const target = tiles[i + step];
    if (target) target.focus();
  }

  /** The number of tiles streaming now (for tests and the status line). */
  get streaming() {
    let n = 0;
    for (const t of this.tiles.values()) if (t.img.getAttribute("src")) n += 1;
    return n;
  }

  clear() {
    for (const t of this.tiles.values()) {
      clearTimeout(t.timer);
      t.img.removeAttribute("src");
      this.observer.unobserve(t.tile);
    }
    this.tiles.clear();
    this.grid.replaceChildren();
  }

  destroy() {
    this.clear();
    this.observer.disconnect();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}
