// The risk panel's map: the offline municipal base, and four overlays — register entries at
// their locality (coloured by the highest level there), Gi* hotspots, the forecast's top
// cells and the mine sites. Layers come from /api/risk/*, already limited to what the user
// may read; the hotspot and forecast layers are cached by the server.
import L from "leaflet";
import { disposeMap } from "../shared/leaflet-dispose.js";
import { h } from "../shared/dom.js";

export const LEVEL_COLOURS = { low: "#7ddc8a", medium: "#ffd23f", high: "#ff9f1c", extreme: "#ff5c5c" };
const LEVEL_ORDER = ["low", "medium", "high", "extreme"];

export class RiskMap {
  constructor(container, api, config) {
    this.api = api;
    this.map = L.map(container, {
      preferCanvas: true,
      center: config.center,
      zoom: config.zoom,
      maxZoom: config.max_zoom || 18,
      minZoom: 5,
      zoomSnap: 0.25,
    });
    this.map.attributionControl.setPrefix("Leaflet");
    this.renderer = L.canvas({ padding: 0.2 });
    this.base = L.layerGroup().addTo(this.map);
    this.entries = L.featureGroup().addTo(this.map);
    this.hotspots = L.featureGroup().addTo(this.map);
    this.forecast = L.featureGroup().addTo(this.map);
    this.mines = L.featureGroup().addTo(this.map);
    this.counts = { entries: 0, hotspots: 0, forecast: 0, mines: 0 };
    L.control
      .layers(
        null,
        {
          "Register entries": this.entries,
          "Hotspots (Gi*)": this.hotspots,
          "Forecast (next 7 days)": this.forecast,
          "Mine sites": this.mines,
        },
        { collapsed: false, position: "topright" },
      )
      .addTo(this.map);
    if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: config.max_zoom || 18 }).addTo(this.map);
    this.resize = new ResizeObserver(() => this.map.invalidateSize({ pan: false }));
    this.resize.observe(container);
  }

  async loadBase() {
    let base;
    try {
      base = await this.api.get("/api/map/base");
      if (this.destroyed) return; // the panel closed while this loaded
    } catch {
      return;
    }
    const municipalities = (base.features || []).filter((f) => f.properties && f.properties.layer === "municipality");
    const drawn = L.geoJSON(
      { type: "FeatureCollection", features: municipalities },
      {
        renderer: this.renderer,
        interactive: false,
        style: (f) => ({
          color: "#4a6285",
          weight: f.properties.kind === "district" ? 1 : 1.5,
          dashArray: f.properties.kind === "district" ? "4 4" : null,
          fillOpacity: 0,
        }),
      },
    ).addTo(this.base);
    if (municipalities.length) this.map.fitBounds(drawn.getBounds(), { padding: [12, 12] });
  }

  /** Register entries grouped by locality, at the locality's centre. */
  showEntries(entries) {
    this.entries.clearLayers();
    const byPlace = new Map();
    for (const entry of entries) {
      if (!entry.centroid) continue;
      const list = byPlace.get(entry.locality_code) || [];
      list.push(entry);
      byPlace.set(entry.locality_code, list);
    }
    for (const list of byPlace.values()) {
      const worst = list.reduce((a, e) => (LEVEL_ORDER.indexOf(e.level) > LEVEL_ORDER.indexOf(a) ? e.level : a), "low");
      const [lat, lon] = list[0].centroid;
      const marker = L.circleMarker([lat, lon], {
        renderer: this.renderer,
        radius: 8 + Math.min(list.length, 6) * 2,
        color: "#0b1118",
        weight: 2,
        fillColor: LEVEL_COLOURS[worst],
        fillOpacity: 0.9,
      });
      const lines = list.map((e) => h("li", { text: `${e.level.toUpperCase()} · ${e.title}` }));
      marker.bindPopup(h("div", { class: "map-popup" }, h("strong", { text: list[0].locality_name }), h("ul", {}, lines)));
      marker.bindTooltip(`${list[0].locality_name}: ${list.length} open risk${list.length === 1 ? "" : "s"}`);
      this.entries.addLayer(marker);
    }
    this.counts.entries = byPlace.size;
  }

  async loadHotspots() {
    const doc = await this.api.get("/api/risk/hotspots?res=8");
    if (this.destroyed) return; // the panel closed while this loaded
    this.hotspots.clearLayers();
    const features = (doc.features || []).filter((f) => f.properties.hot);
    L.geoJSON(
      { type: "FeatureCollection", features },
      {
        renderer: this.renderer,
        style: (f) => ({ color: "#ff5c5c", weight: 1, fillColor: "#ff5c5c", fillOpacity: Math.min(0.75, 0.25 + f.properties.z / 20) }),
        onEachFeature: (f, layer) => layer.bindTooltip(`Hotspot: ${f.properties.count} incidents (Gi* z ${f.properties.z.toFixed(1)})`),
      },
    ).addTo(this.hotspots);
    this.counts.hotspots = features.length;
  }

  async loadForecast() {
    const doc = await this.api.get("/api/risk/forecast?method=kde&res=8&top=60");
    if (this.destroyed) return; // the panel closed while this loaded
    this.forecast.clearLayers();
    const n = (doc.features || []).length;
    L.geoJSON(doc, {
      renderer: this.renderer,
      style: (f) => ({ color: "#b48cff", weight: 1.5, dashArray: "3 3", fillColor: "#b48cff", fillOpacity: 0.55 * (1 - (f.properties.rank - 1) / Math.max(n, 1)) }),
      onEachFeature: (f, layer) => layer.bindTooltip(`Forecast rank ${f.properties.rank} of ${n} (${doc.properties.method})`),
    }).addTo(this.forecast);
    this.counts.forecast = n;
  }

  async loadMines() {
    const sites = await this.api.get("/api/risk/mines?radius_m=1000");
    if (this.destroyed) return; // the panel closed while this loaded
    this.mines.clearLayers();
    for (const site of sites) {
      const marker = L.marker([site.lat, site.lon], {
        icon: L.divIcon({ className: `risk-mine st-${site.status}`, html: "", iconSize: [14, 14] }),
        keyboard: false,
      });
      marker.bindTooltip(`${site.name} — ${site.status.replace("_", " ")}, ${site.incidents_near} incidents within 1 km`);
      this.mines.addLayer(marker);
    }
    this.counts.mines = sites.length;
  }

  destroy() {
    this.destroyed = true;
    this.resize.disconnect();
    disposeMap(this.map);
  }
}
