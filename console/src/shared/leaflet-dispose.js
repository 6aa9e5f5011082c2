// Tear a Leaflet map down without leaving work that runs after it is gone.
// Leaflet 1.9 can still fire a zoom-animation timer (`_onZoomTransitionEnd`, 250 ms) or a
// queued canvas redraw (`_redraw`) after `map.remove()`; either then throws on the removed
// panes — seen when an operator leaves a view while its map is still settling. Ending those
// by hand races with Leaflet's internals, so the map is stopped now (no new pan or zoom) and
// removed once anything already queued has run on panes that still exist.

const SETTLE_MS = 400;

/** @param {import("leaflet").Map} map */
export function disposeMap(map) {
  map.stop();
  setTimeout(() => map.remove(), SETTLE_MS);
}
