// The live map: alerts and units as canvas circle markers (thousands stay cheap), the base
// (map tiles when configured, otherwise the offline vector base: municipal boundaries and
// police stations), an H3 grid loaded on demand, and the open alert's location trail.
import L from "leaflet";
import { disposeMap } from "../shared/leaflet-dispose.js";
import { cameraLayer } from "./cctv-map.js";

export const PRIORITY_COLOURS = { 1: "#ff5c5c", 2: "#ff9f1c", 3: "#ffd23f", 4: "#6cb8ff" };
export const UNIT_COLOURS = {
  available: "#3ddc84",
  assigned: "#c39bff",
  en_route: "#3fd0ff",
  on_scene: "#f5f7fa",
  off_duty: "#66758a",
};
const MUNICIPAL_STYLE = {
  metro: { color: "#6f93c2", weight: 1.6, opacity: 0.9, fillColor: "#1e3350", fillOpacity: 0.18 },
  local: { color: "#5a7aa3", weight: 1.1, opacity: 0.8, fillColor: "#1b2d45", fillOpacity: 0.14 },
  district: { color: "#4a6282", weight: 0.8, opacity: 0.6, dashArray: "4 6", fill: false },
};

/** Text only: the attribution is configuration, but it is shown as text, never as HTML. */
function plainText(html) {
  if (!html) return "";
  return new DOMParser().parseFromString(String(html), "text/html").body.textContent || "";
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class LiveMap {
  /**
   * @param container element the map fills
   * @param api the shared Api
   * @param config `/api/console/config`'s `map`
   * @param onAlertClick (alertId) => void
   * @param options {cameras: bool} whether to offer the "Cameras" overlay (`cctv.read`)
   */
  constructor(container, api, config, onAlertClick, options = {}) {
    this.api = api;
    this.config = config;
    this.onAlertClick = onAlertClick;
    this.alertMarkers = new Map();
    this.unitMarkers = new Map();
    this.map = L.map(container, {
      preferCanvas: true,
      zoomControl: true,
      attributionControl: true,
      center: config.center,
      zoom: config.zoom,
      maxZoom: config.max_zoom || 18,
      minZoom: 5,
      zoomSnap: 0.25,
      worldCopyJump: false,
      keyboard: true,
    });
    this.map.attributionControl.setPrefix("Leaflet");
    this.map.createPane("khusela-units").style.zIndex = 420;
    this.map.createPane("khusela-alerts").style.zIndex = 440;
    this.map.createPane("khusela-detail").style.zIndex = 460;
    this.unitRenderer = L.canvas({ pane: "khusela-units", padding: 0.2 });
    this.alertRenderer = L.canvas({ pane: "khusela-alerts", padding: 0.2 });
    this.detailRenderer = L.canvas({ pane: "khusela-detail", padding: 0.2 });
    this.baseRenderer = L.canvas({ padding: 0.2 });

    this.alertsLayer = L.layerGroup().addTo(this.map);
    this.unitsLayer = L.layerGroup().addTo(this.map);
    this.stationsLayer = L.layerGroup();
    this.boundariesLayer = L.layerGroup();
    this.gridLayer = L.layerGroup();
    this.detailLayer = L.layerGroup().addTo(this.map);
    this.selectedRing = null;

    this.alertsLayer.on("click", (event) => {
      const id = event.layer && event.layer.options.alertId;
      if (id) this.onAlertClick(id);
    });
    this.unitsLayer.on("click", (event) => this.showUnit(event.layer));

    const overlays = {
      Alerts: this.alertsLayer,
      Units: this.unitsLayer,
      Stations: this.stationsLayer,
      "Municipal boundaries": this.boundariesLayer,
      "H3 grid": this.gridLayer,
    };
    // Cameras draw on the alerts' canvas: the topmost canvas is the one that gets clicks.
    this.camerasLayer = options.cameras ? cameraLayer(this.map, api, this.alertRenderer) : null;
    if (this.camerasLayer) overlays.Cameras = this.camerasLayer;
    this.layersControl = L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(this.map);
    this.map.on("overlayadd", (event) => {
      if (event.layer === this.gridLayer) this.loadGrid();
    });
    this.touched = false;
    this.map.on("dragstart zoomstart", () => {
      this.touched = true;
    });
    this.resize = new ResizeObserver(() => this.map.invalidateSize({ pan: false }));
    this.resize.observe(container);
  }

  /** The base: tiles if configured, else the offline vector base (errors leave a plain map). */
  async loadBase() {
    if (this.config.tile_url) {
      L.tileLayer(this.config.tile_url, {
        attribution: plainText(this.config.tile_attribution),
        maxZoom: this.config.max_zoom || 18,
        className: "khusela-tiles",
      }).addTo(this.map);
      this.stationsLayer.addTo(this.map);
    } else {
      this.boundariesLayer.addTo(this.map);
      this.stationsLayer.addTo(this.map);
    }
    let base;
    try {
      base = await this.api.get("/api/map/base");
    } catch {
      return false;
    }
    if (this.destroyed) return false; // the operator left the view while the base loaded
    const municipalities = [];
    const stations = [];
    for (const feature of base.features || []) {
      const layer = feature.properties && feature.properties.layer;
      if (layer === "municipality") municipalities.push(feature);
      else if (layer === "station") stations.push(feature);
    }
    // Districts contain their local municipalities: drawn faint and dashed, underneath.
    municipalities.sort((a, b) => (a.properties.kind === "district" ? -1 : 0) - (b.properties.kind === "district" ? -1 : 0));
    const boundaries = L.geoJSON(
      { type: "FeatureCollection", features: municipalities },
      {
        renderer: this.baseRenderer,
        interactive: false,
        style: (feature) => MUNICIPAL_STYLE[feature.properties.kind] || MUNICIPAL_STYLE.local,
      },
    ).addTo(this.boundariesLayer);
    // Until the operator moves the map, frame the area the base covers.
    if (!this.touched && municipalities.length) this.map.fitBounds(boundaries.getBounds(), { padding: [16, 16] });
    for (const feature of stations) {
      const [lon, lat] = feature.geometry.coordinates;
      L.circleMarker([lat, lon], {
        renderer: this.baseRenderer,
        radius: 3,
        color: "#9fb4d1",
        weight: 1,
        fillColor: "#0e1620",
        fillOpacity: 1,
      })
        .bindTooltip(`${feature.properties.name} SAPS`, { direction: "top" })
        .addTo(this.stationsLayer);
    }
    return true;
  }

  async loadGrid() {
    if (this.gridLoaded) return;
    this.gridLoaded = true;
    try {
      const grid = await this.api.get("/api/map/grid");
      L.geoJSON(grid, {
        renderer: this.baseRenderer,
        interactive: false,
        style: { color: "#3d5575", weight: 0.6, opacity: 0.7, fill: false },
      }).addTo(this.gridLayer);
    } catch {
      this.gridLoaded = false;
    }
  }

  alertStyle(alert) {
    const colour = PRIORITY_COLOURS[alert.priority] || PRIORITY_COLOURS[4];
    return {
      radius: alert.priority === 1 ? 9 : 7,
      color: alert.status === "new" ? "#ffffff" : "#0b1118",
      weight: 2,
      fillColor: colour,
      fillOpacity: 0.95,
    };
  }

  unitStyle(unit) {
    const colour = UNIT_COLOURS[unit.status] || UNIT_COLOURS.off_duty;
    return {
      radius: unit.status === "off_duty" ? 2.5 : 4,
      color: "#0b1118",
      weight: 1,
      fillColor: colour,
      fillOpacity: unit.status === "off_duty" ? 0.6 : 1,
    };
  }

  /** Redraw what changed (or everything after a reload). */
  render(changes, state) {
    if (changes.reset) {
      this.alertsLayer.clearLayers();
      this.unitsLayer.clearLayers();
      this.alertMarkers.clear();
      this.unitMarkers.clear();
      for (const alert of state.alerts.values()) this.putAlert(alert);
      for (const unit of state.units.values()) this.putUnit(unit);
    } else {
      for (const id of changes.removed) this.dropAlert(id);
      for (const id of changes.alerts) {
        const alert = state.alerts.get(id);
        if (alert) this.putAlert(alert);
        else this.dropAlert(id);
      }
      for (const id of changes.units) {
        const unit = state.units.get(id);
        if (unit) this.putUnit(unit);
      }
    }
    this.placeRing(state);
  }

  putAlert(alert) {
    const marker = this.alertMarkers.get(alert.id);
    const located = !alert.location_unknown && Number.isFinite(alert.lat) && Number.isFinite(alert.lon);
    if (!located) {
      if (marker) this.dropAlert(alert.id);
      return;
    }
    if (marker) {
      const at = marker.getLatLng();
      if (at.lat !== alert.lat || at.lng !== alert.lon) marker.setLatLng([alert.lat, alert.lon]);
      marker.setStyle(this.alertStyle(alert));
      if (marker.getRadius() !== this.alertStyle(alert).radius) marker.setRadius(this.alertStyle(alert).radius);
      return;
    }
    const created = L.circleMarker([alert.lat, alert.lon], {
      renderer: this.alertRenderer,
      alertId: alert.id,
      bubblingMouseEvents: true,
      ...this.alertStyle(alert),
    });
    this.alertMarkers.set(alert.id, created);
    this.alertsLayer.addLayer(created);
  }

  dropAlert(id) {
    const marker = this.alertMarkers.get(id);
    if (marker) {
      this.alertsLayer.removeLayer(marker);
      this.alertMarkers.delete(id);
    }
  }

  putUnit(unit) {
    const marker = this.unitMarkers.get(unit.id);
    if (!Number.isFinite(unit.lat) || !Number.isFinite(unit.lon)) {
      if (marker) {
        this.unitsLayer.removeLayer(marker);
        this.unitMarkers.delete(unit.id);
      }
      return;
    }
    if (marker) {
      const at = marker.getLatLng();
      if (at.lat !== unit.lat || at.lng !== unit.lon) marker.setLatLng([unit.lat, unit.lon]);
      if (marker.options.status !== unit.status) {
        marker.options.status = unit.status;
        marker.setStyle(this.unitStyle(unit));
        marker.setRadius(this.unitStyle(unit).radius);
      }
      return;
    }
    const created = L.circleMarker([unit.lat, unit.lon], {
      renderer: this.unitRenderer,
      unitId: unit.id,
      status: unit.status,
      ...this.unitStyle(unit),
    });
    created.unit = unit;
    this.unitMarkers.set(unit.id, created);
    this.unitsLayer.addLayer(created);
  }

  showUnit(marker) {
    const unit = marker && marker.unit;
    if (!unit) return;
    const box = el("div", "map-popup");
    box.append(el("strong", null, unit.callsign || "Unit"));
    box.append(el("div", null, `${(unit.kind || "").replaceAll("_", " ")} · ${(unit.status || "").replaceAll("_", " ")}`));
    if (unit.municipality) box.append(el("div", "muted", unit.municipality));
    L.popup({ closeButton: true, autoPan: false }).setLatLng(marker.getLatLng()).setContent(box).openOn(this.map);
  }

  /** Ring the selected alert on the map. */
  select(alertId, state, { pan = false } = {}) {
    this.selectedId = alertId;
    this.placeRing(state);
    const marker = alertId && this.alertMarkers.get(alertId);
    if (pan && marker && !this.map.getBounds().pad(-0.1).contains(marker.getLatLng())) {
      this.map.panTo(marker.getLatLng(), { animate: true, duration: 0.3 });
    }
  }

  placeRing(state) {
    const alert = this.selectedId && state.alerts.get(this.selectedId);
    const located = alert && !alert.location_unknown && Number.isFinite(alert.lat) && Number.isFinite(alert.lon);
    if (!located) {
      if (this.selectedRing) this.selectedRing.remove();
      this.selectedRing = null;
      return;
    }
    if (!this.selectedRing) {
      this.selectedRing = L.circleMarker([alert.lat, alert.lon], {
        renderer: this.detailRenderer,
        radius: 15,
        color: "#ffd166",
        weight: 3,
        fill: false,
        interactive: false,
      }).addTo(this.map);
    } else {
      const at = this.selectedRing.getLatLng();
      if (at.lat !== alert.lat || at.lng !== alert.lon) this.selectedRing.setLatLng([alert.lat, alert.lon]);
      if (!this.map.hasLayer(this.selectedRing)) this.selectedRing.addTo(this.map);
    }
  }

  /** The open alert: its location trail, the accuracy of the latest fix, and lines to the recommended units. */
  showDetail(detail, recommended) {
    this.detailLayer.clearLayers();
    const points = (detail.trail || [])
      .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon))
      .map((p) => [p.lat, p.lon]);
    if (points.length > 1) {
      L.polyline(points, { renderer: this.detailRenderer, color: "#ffd166", weight: 3, opacity: 0.9, interactive: false }).addTo(
        this.detailLayer,
      );
    }
    for (const point of points.slice(0, -1)) {
      L.circleMarker(point, { renderer: this.detailRenderer, radius: 3, color: "#ffd166", weight: 1, fillOpacity: 1, interactive: false }).addTo(
        this.detailLayer,
      );
    }
    const located = !detail.location_unknown && Number.isFinite(detail.lat) && Number.isFinite(detail.lon);
    if (located && detail.accuracy_m) {
      L.circle([detail.lat, detail.lon], {
        renderer: this.detailRenderer,
        radius: detail.accuracy_m,
        color: "#ffd166",
        weight: 1.5,
        dashArray: "4 4",
        fillColor: "#ffd166",
        fillOpacity: 0.12,
        interactive: false,
      }).addTo(this.detailLayer);
    }
    if (located) {
      for (const unit of recommended || []) {
        L.polyline(
          [
            [unit.lat, unit.lon],
            [detail.lat, detail.lon],
          ],
          { renderer: this.detailRenderer, color: "#3fd0ff", weight: 1.5, dashArray: "6 6", opacity: 0.8, interactive: false },
        ).addTo(this.detailLayer);
      }
    }
  }

  /** Bring the open alert (and its nearest recommended units) into view. */
  focusDetail(detail, recommended) {
    const located = !detail.location_unknown && Number.isFinite(detail.lat) && Number.isFinite(detail.lon);
    if (!located) return;
    const bounds = L.latLngBounds([[detail.lat, detail.lon]]);
    for (const p of detail.trail || []) if (Number.isFinite(p.lat)) bounds.extend([p.lat, p.lon]);
    for (const unit of (recommended || []).slice(0, 3)) bounds.extend([unit.lat, unit.lon]);
    this.touched = true;
    if (!this.destroyed) this.map.flyToBounds(bounds.pad(0.3), { maxZoom: 13, duration: 0.4 });
  }

  clearDetail() {
    this.detailLayer.clearLayers();
  }

  destroy() {
    this.destroyed = true;
    if (this.camerasLayer) this.camerasLayer.destroy();
    this.resize.disconnect();
    disposeMap(this.map);
  }
}
