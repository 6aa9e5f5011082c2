// The Partners panel's small maps: the offline base (municipal boundaries from /api/map/base,
// or tiles when configured), and on top either an area of H3 cells, a patrol route, or the
// province's resolution-7 grid (/api/map/grid) whose cells a click adds to or removes from a
// community alert's area. Community alerts and subscriptions are kept at resolution 7, so the
// grid's cells are exactly what the API stores. A map can also take points clicked in order:
// the corners of an operation's polygon, or the stops of a patrol route.
import L from "leaflet";
import { disposeMap } from "../shared/leaflet-dispose.js";

const BASE_STYLE = { color: "#4a6285", weight: 1.2, fillOpacity: 0, interactive: false };
const AREA_STYLE = { color: "#ffd23f", weight: 2, fillColor: "#ffd23f", fillOpacity: 0.3 };
const GRID_STYLE = { color: "#3d5575", weight: 0.5, opacity: 0.6, fillColor: "#4fb3ff", fillOpacity: 0 };
const PICKED_STYLE = { color: "#ffd23f", weight: 2, opacity: 1, fillColor: "#ffd23f", fillOpacity: 0.45 };
const ROUTE_STYLE = { color: "#7ddc8a", weight: 4, opacity: 0.95 };
const PATH_STYLE = { color: "#ff9f1c", weight: 3, opacity: 1, fillColor: "#ff9f1c", fillOpacity: 0.15, interactive: false };
const CORNER_STYLE = { radius: 5, color: "#0b1118", weight: 2, fillColor: "#ff9f1c", fillOpacity: 1, interactive: false };

let configPromise = null;
let basePromise = null;
let gridPromise = null;

function once(api, path) {
  return api.get(path).catch((error) => {
    // let a later map try again
    if (path === "/api/console/config") configPromise = null;
    else if (path === "/api/map/base") basePromise = null;
    else gridPromise = null;
    throw error;
  });
}

export class PartnerMap {
  /**
   * @param container the element the map fills (give it a height in CSS)
   * @param api the shared Api
   */
  constructor(container, api) {
    this.api = api;
    this.container = container;
    this.renderer = L.canvas({ padding: 0.2 });
    this.map = L.map(container, { preferCanvas: true, center: [-26.2, 28.05], zoom: 9, minZoom: 5, maxZoom: 19, zoomSnap: 0.25,
      // No animations: these maps are re-made as items open, and a map removed mid-zoom throws.
      zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false });
    this.map.attributionControl.setPrefix("Leaflet");
    this.base = L.layerGroup().addTo(this.map);
    this.overlay = L.featureGroup().addTo(this.map);
    this.grid = null;
    this.gridLayers = new Map();
    this.picked = new Set();
    this.resize = new ResizeObserver(() => this.map.invalidateSize({ pan: false }));
    this.resize.observe(container);
    this.ready = this.loadBase();
  }

  async loadBase() {
    try {
      configPromise = configPromise || once(this.api, "/api/console/config");
      const config = (await configPromise).map;
      if (this.destroyed) return; // the panel closed while this loaded
      if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: config.max_zoom || 18 }).addTo(this.base);
      else this.map.setView(config.center, config.zoom, { animate: false });
    } catch {
      /* a plain map still shows the overlay */
    }
    try {
      basePromise = basePromise || once(this.api, "/api/map/base");
      const base = await basePromise;
      if (this.destroyed) return; // the panel closed while this loaded
      const municipalities = (base.features || []).filter((f) => f.properties && f.properties.layer === "municipality" && f.properties.kind !== "district");
      L.geoJSON({ type: "FeatureCollection", features: municipalities }, { renderer: this.renderer, interactive: false, style: BASE_STYLE }).addTo(this.base);
    } catch {
      /* as above */
    }
  }

  clear() {
    this.overlay.clearLayers();
  }

  /** An area given as H3 cells, drawn from the grid's polygons; framed when `fit`. */
  async showCells(cells, fit = true) {
    this.overlay.clearLayers();
    if (!cells || !cells.length) return;
    const grid = await this.loadGrid();
    if (this.destroyed) return; // the panel closed while this loaded
    const wanted = new Set(cells);
    const features = grid.features.filter((f) => wanted.has(f.properties.cell));
    const drawn = L.geoJSON({ type: "FeatureCollection", features }, { renderer: this.renderer, interactive: false, style: AREA_STYLE });
    drawn.addTo(this.overlay);
    if (fit && features.length) this.map.fitBounds(drawn.getBounds(), { padding: [24, 24], maxZoom: 14, animate: false });
  }

  /** A drawn polygon (GeoJSON) of an operation's area. */
  showArea(geometry, fit = true) {
    if (!geometry) return;
    const drawn = L.geoJSON(geometry, { renderer: this.renderer, interactive: false, style: { ...AREA_STYLE, fillOpacity: 0.1, dashArray: "4 4" } });
    drawn.addTo(this.overlay);
    if (fit) this.map.fitBounds(drawn.getBounds(), { padding: [24, 24], maxZoom: 15, animate: false });
  }

  /** A patrol's route: GeoJSON LineString, MultiPoint or Point ([lon, lat]); start and end marked. */
  showRoute(route) {
    this.overlay.clearLayers();
    if (!route) return;
    const drawn = L.geoJSON(route, {
      renderer: this.renderer,
      style: ROUTE_STYLE,
      pointToLayer: (_f, latlng) => L.circleMarker(latlng, { renderer: this.renderer, radius: 6, color: "#0b1118", weight: 2, fillColor: "#7ddc8a", fillOpacity: 1 }),
    }).addTo(this.overlay);
    const coords = route.type === "LineString" || route.type === "MultiPoint" ? route.coordinates : [];
    if (coords.length) {
      const [lon, lat] = coords[0];
      L.circleMarker([lat, lon], { renderer: this.renderer, radius: 5, color: "#0b1118", weight: 2, fillColor: "#ffffff", fillOpacity: 1 })
        .bindTooltip("Start")
        .addTo(this.overlay);
    }
    const bounds = drawn.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [32, 32], maxZoom: 16, animate: false });
  }

  loadGrid() {
    gridPromise = gridPromise || once(this.api, "/api/map/grid");
    return gridPromise;
  }

  /**
   * Make the grid's cells clickable: a click adds the cell to the area, a second removes it.
   * `onChange(cells, municipalities)` gets the picked cells and the local municipalities they lie in.
   */
  async pickCells(onChange) {
    const grid = await this.loadGrid();
    if (this.destroyed) return; // the panel closed while this loaded
    this.grid = grid;
    const layer = L.geoJSON(grid, {
      renderer: this.renderer,
      style: GRID_STYLE,
      onEachFeature: (feature, cellLayer) => {
        this.gridLayers.set(feature.properties.cell, cellLayer);
        cellLayer.on("click", () => {
          if (this.drawMode) return; // the click adds a point instead (see drawPath)
          const cell = feature.properties.cell;
          if (this.picked.has(cell)) this.picked.delete(cell);
          else this.picked.add(cell);
          cellLayer.setStyle(this.picked.has(cell) ? PICKED_STYLE : GRID_STYLE);
          onChange(this.pickedCells(), this.pickedMunicipalities());
        });
      },
    });
    layer.addTo(this.overlay);
    this.onPick = onChange;
  }

  pickedCells() {
    return [...this.picked].sort();
  }

  pickedMunicipalities() {
    const codes = new Set();
    for (const cell of this.picked) {
      const layer = this.gridLayers.get(cell);
      const code = layer && layer.feature.properties.municipality_code;
      if (code) codes.add(code);
    }
    return [...codes].sort();
  }

  clearPicked() {
    for (const cell of this.picked) {
      const layer = this.gridLayers.get(cell);
      if (layer) layer.setStyle(GRID_STYLE);
    }
    this.picked.clear();
    if (this.onPick) this.onPick([], []);
  }

  /** Where a cell's centre is in the map's container (for tests: a click lands on it). */
  pointOfCell(cell) {
    const layer = this.gridLayers.get(cell);
    if (!layer) return null;
    this.map.setView(layer.getBounds().getCenter(), Math.max(this.map.getZoom(), 12), { animate: false });
    const p = this.map.latLngToContainerPoint(layer.getBounds().getCenter());
    return { x: p.x, y: p.y };
  }

  /**
   * Let clicks on the map add points in order: the corners of a polygon (`kind` "polygon") or
   * the stops of a route ("line"). While drawing, a click on a grid cell adds a point rather
   * than picking the cell; `pauseDrawing()` gives clicks back to the grid and keeps the points.
   * `onChange(points)` gets [[lat, lon], …] after every change.
   */
  drawPath(kind, onChange) {
    if (!this.path || this.path.kind !== kind) {
      if (this.path) this.path.layer.remove();
      this.path = { kind, points: [], onChange, layer: L.featureGroup().addTo(this.map) };
      this.map.on("click", (event) => this.addPoint(event.latlng));
    }
    this.path.onChange = onChange;
    this.drawMode = true;
    this.container.classList.add("pt-drawing");
  }

  pauseDrawing() {
    this.drawMode = false;
    this.container.classList.remove("pt-drawing");
  }

  addPoint(latlng) {
    if (!this.drawMode || !this.path) return;
    this.path.points.push([Number(latlng.lat.toFixed(6)), Number(latlng.lng.toFixed(6))]);
    this.redrawPath();
  }

  undoPoint() {
    if (!this.path || !this.path.points.length) return;
    this.path.points.pop();
    this.redrawPath();
  }

  clearPath() {
    if (!this.path) return;
    this.path.points = [];
    this.redrawPath();
  }

  /** The points clicked so far, [[lat, lon], …] in order. */
  pathPoints() {
    return this.path ? this.path.points.map((p) => [...p]) : [];
  }

  redrawPath() {
    const { kind, points, layer, onChange } = this.path;
    layer.clearLayers();
    const style = { ...PATH_STYLE, renderer: this.renderer };
    if (kind === "polygon" && points.length >= 3) L.polygon(points, style).addTo(layer);
    else if (points.length >= 2) L.polyline(points, style).addTo(layer);
    for (const p of points) L.circleMarker(p, { ...CORNER_STYLE, renderer: this.renderer }).addTo(layer);
    onChange(this.pathPoints());
  }

  /** Where a place is in the map's container, after centring on it (for tests: a click lands on it). */
  pointOfLatLng(lat, lon, zoom = 14) {
    this.map.setView([lat, lon], zoom, { animate: false });
    const p = this.map.latLngToContainerPoint([lat, lon]);
    return { x: p.x, y: p.y };
  }

  destroy() {
    this.destroyed = true;
    this.resize.disconnect();
    disposeMap(this.map);
  }
}
