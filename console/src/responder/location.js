// Reports the unit's position from the phone while the crew is signed on: the first fix
// at once, then at most one report every 10 s (the latest fix wins; fixes in between are
// dropped, as only the unit's newest position is kept anyway). A parked unit's phone
// reports no movement, so a fresh fix is asked for every 30 s: the command centre must not
// see a waiting unit go stale and drop out of the recommendations.

const MAX_ACCURACY_M = 50_000; // the API refuses wider radii

export const REPORT_EVERY_MS = 10_000;
const REFRESH_EVERY_MS = 30_000;
const OPTIONS = { enableHighAccuracy: true, maximumAge: 5000, timeout: 60_000 };

function reason(error) {
  if (error.code === 1) return "location permission denied: allow it in the browser to be tracked";
  if (error.code === 3) return "waiting for a GPS fix…";
  return "location unavailable";
}

export class LocationReporter {
  /**
   * @param {import("../shared/api.js").Api} api
   * @param {string} unitId
   * @param {{onSent(at: Date, coords: GeolocationCoordinates): void, onProblem(message: string): void}} handlers
   */
  constructor(api, unitId, { onSent, onProblem }) {
    this.api = api;
    this.unitId = unitId;
    this.onSent = onSent;
    this.onProblem = onProblem;
    this.watchId = null;
    this.timer = null;
    this.pending = null;
    this.lastSentAt = 0;
    this.sending = false;
    this.keepalive = null;
  }

  start() {
    if (!("geolocation" in navigator)) {
      this.onProblem("this device cannot share its location");
      return;
    }
    this.watchId = navigator.geolocation.watchPosition(
      (position) => this.fix(position),
      (error) => this.onProblem(reason(error)),
      OPTIONS,
    );
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastSentAt < REFRESH_EVERY_MS) return;
      navigator.geolocation.getCurrentPosition(
        (position) => this.fix(position),
        (error) => this.onProblem(reason(error)),
        { ...OPTIONS, maximumAge: REPORT_EVERY_MS },
      );
    }, REFRESH_EVERY_MS / 3);
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    clearInterval(this.keepalive);
    this.keepalive = null;
    clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  fix(position) {
    this.pending = position;
    const wait = this.lastSentAt + REPORT_EVERY_MS - Date.now();
    if (wait <= 0 && !this.sending) this.send();
    else if (this.timer === null) this.timer = setTimeout(() => this.send(), Math.max(wait, 250));
  }

  async send() {
    clearTimeout(this.timer);
    this.timer = null;
    const position = this.pending;
    if (!position || this.watchId === null) return;
    if (this.sending) {
      this.timer = setTimeout(() => this.send(), 1000);
      return;
    }
    this.pending = null;
    this.sending = true;
    this.lastSentAt = Date.now();
    const { latitude, longitude, accuracy } = position.coords;
    const body = { lat: latitude, lon: longitude };
    if (Number.isFinite(accuracy) && accuracy <= MAX_ACCURACY_M) body.accuracy_m = accuracy;
    try {
      await this.api.post(`/api/panic/units/${encodeURIComponent(this.unitId)}/location`, body);
      this.onSent(new Date(), position.coords);
    } catch (error) {
      this.onProblem(`position not sent: ${error.message}`);
      if (error.status === undefined || error.status >= 500) this.fix(this.pending || position);
    } finally {
      this.sending = false;
    }
  }
}
