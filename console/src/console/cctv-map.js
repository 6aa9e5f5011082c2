// The live map's "Cameras" overlay: every camera the user may see, coloured by status, with
// a popup (name, status, a link to its live tile in the CCTV view). Loaded when the layer is
// switched on, refreshed every minute while it is on.
import L from "leaflet";
import { h } from "../shared/dom.js";

export const CAMERA_COLOURS = { online: "#7ddc8a", offline: "#ff5c5c", unknown: "#a9b6c8", disabled: "#66758a" };
const STATUS_TEXT = { online: "Online", offline: "Offline", unknown: "Unknown", disabled: "Disabled" };
const REFRESH_MS = 60_000;

/**
 * @param map the Leaflet map
 * @param api the shared Api
 * @param renderer the canvas renderer to draw with (one that receives clicks)
 * @returns a layer group for the layers control; `destroy()` stops its refresh
 */
export function cameraLayer(map, api, renderer) {
  const layer = L.featureGroup(); // a feature group: its markers' clicks reach it
  const markers = new Map();
  let timer = 0;

  function style(camera) {
    return {
      renderer,
      radius: 6,
      color: "#0b1118",
      weight: 2,
      fillColor: CAMERA_COLOURS[camera.status] || CAMERA_COLOURS.unknown,
      fillOpacity: camera.status === "disabled" ? 0.6 : 1,
    };
  }

  async function load() {
    let cameras;
    try {
      cameras = await api.get("/api/cctv/cameras");
    } catch {
      return;
    }
    const seen = new Set();
    for (const camera of cameras) {
      if (!Number.isFinite(camera.lat) || !Number.isFinite(camera.lon)) continue;
      seen.add(camera.id);
      let marker = markers.get(camera.id);
      if (!marker) {
        marker = L.circleMarker([camera.lat, camera.lon], style(camera));
        marker.bindTooltip(camera.name, { direction: "top" });
        markers.set(camera.id, marker);
        layer.addLayer(marker);
      } else {
        marker.setLatLng([camera.lat, camera.lon]);
        marker.setStyle(style(camera));
      }
      marker.camera = camera;
    }
    for (const [id, marker] of markers) {
      if (!seen.has(id)) {
        layer.removeLayer(marker);
        markers.delete(id);
      }
    }
  }

  layer.on("click", (event) => {
    const marker = event.layer;
    const camera = marker && marker.camera;
    if (!camera) return;
    const status = camera.status || "unknown";
    const box = h(
      "div",
      { class: "map-popup cctv-map-popup" },
      h("strong", { text: camera.name }),
      h("div", {}, h("span", { class: `cctv-badge st-${status}`, text: STATUS_TEXT[status] || status })),
      camera.status_reason ? h("div", { class: "muted", text: camera.status_reason }) : null,
      h("a", { href: `#/cctv?camera=${encodeURIComponent(camera.id)}`, text: "Open live view" }),
    );
    L.popup({ closeButton: true, autoPan: false }).setLatLng(marker.getLatLng()).setContent(box).openOn(map);
  });

  layer.on("add", () => {
    load();
    clearInterval(timer);
    timer = setInterval(load, REFRESH_MS);
  });
  layer.on("remove", () => clearInterval(timer));

  // For tests and benchmarks: where the camera markers are on the map's container.
  const hooks = (window.khusela = window.khusela || {});
  hooks.cameraMarkers = () =>
    map.hasLayer(layer)
      ? [...markers.values()].map((m) => {
          const p = map.latLngToContainerPoint(m.getLatLng());
          return { id: m.camera.id, status: m.camera.status, x: p.x, y: p.y };
        })
      : [];

  layer.destroy = () => {
    clearInterval(timer);
    delete hooks.cameraMarkers;
  };
  return layer;
}
