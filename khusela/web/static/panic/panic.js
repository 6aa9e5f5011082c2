// Khusela resident panic page.
//
// Sign in once with phone + texted code (the token stays in localStorage: it is the
// resident's own phone). One press of the button:
//   1. makes the alert's client id at once and saves the alert on the phone (localStorage,
//      written synchronously, so a crash or a dead network cannot lose the press);
//   2. asks for a location (high accuracy) but waits at most 3 s for it: a slow fix is
//      sent later as a location update;
//   3. POSTs the alert; offline or on any failure it stays queued and is retried on the
//      `online` event and with backoff, always with the same client id, so the server
//      answers a retry with the alert it already has (never a second alert).
// Once accepted: the status is polled every 3 s and the latest fix is sent every 15 s
// while the alert is open. Cancel needs the resident's PIN.
//
// No type chosen means "crime": it is triaged as urgently as medical, fire and GBV
// (P2), while "other" is triaged lower (P3); a person who had no time to choose must
// not be ranked below one who did.
"use strict";

const DEFAULT_TYPE = "crime";
const GEO_WAIT_MS = 3000;
const POLL_MS = 3000;
const LOCATION_MS = 15000;
const REQUEST_TIMEOUT_MS = 15000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const DURESS_TRAIL_MS = 60 * 60 * 1000;
const OPEN = new Set(["new", "acknowledged", "dispatched", "en_route", "on_scene"]);
const TYPE_WORDS = {
  crime: "Crime", medical: "Medical", fire: "Fire", gbv: "Abuse (GBV)", accident: "Accident", other: "Other",
};
const KEY = {
  session: "khusela.resident",
  pending: "khusela.panic.pending",
  active: "khusela.panic.active",
  trail: "khusela.panic.trail",
  silent: "khusela.panic.silent",
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- storage

function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function save(key, value) {
  if (value === null || value === undefined) localStorage.removeItem(key);
  else localStorage.setItem(key, JSON.stringify(value));
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain-HTTP deployments have no randomUUID (secure contexts only): build a v4 UUID.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------- state

const state = {
  session: load(KEY.session), // {token, expires_at, phone}
  pending: load(KEY.pending), // the pressed alert, not yet accepted by the server
  active: load(KEY.active), // the accepted alert, as the server last described it
  trail: load(KEY.trail), // {id, until}: keep sending fixes after a cancel (see cancelAlert)
  type: DEFAULT_TYPE,
  silent: load(KEY.silent) === true,
  screen: null,
  fix: null, // latest {lat, lon, accuracy_m, source, at}
  geoError: null,
  watchId: null,
  sending: false,
  lastError: null, // why the last send failed, for the status words
  retryTimer: null,
  retryDelay: RETRY_MIN_MS,
  pollTimer: null,
  locationTimer: null,
  lastSentFixAt: 0,
  linkDown: false,
  signinPhone: null,
  profile: null,
  wakeLock: null,
  cancelPin: null, // a cancel asked for while the alert is still queued (memory only)
  note: null, // a line under the status (e.g. what became of a cancel)
};

class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && state.session) headers.authorization = `Bearer ${state.session.token}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new HttpError(response.status, problem.detail || problem.title || response.statusText);
  }
  return response.status === 204 ? null : response.json();
}

// ---------------------------------------------------------------- screens

function show(screen, { focus = true } = {}) {
  for (const id of ["signin", "home", "alert", "settings"]) $(id).hidden = id !== screen;
  $("open-settings").hidden = screen !== "home";
  const changed = state.screen !== screen;
  state.screen = screen;
  if (changed && focus) {
    const heading = { signin: "signin-title", home: "home-title", alert: "status-title", settings: "settings-title" };
    $(heading[screen]).focus({ preventScroll: true });
  }
}

function route() {
  // A resident whose token has run out still gets the button: the press is queued on
  // the phone and sent once they have signed in again (which needs the network anyway).
  if (!(state.session && state.session.token)) {
    show("signin");
    $("signin-note").textContent = state.pending
      ? "Sign in again to send the alert saved on this phone."
      : "Sign in once on your own phone. You stay signed in.";
    return;
  }
  if (state.pending || state.active) {
    show("alert");
    renderAlert();
  } else {
    show("home");
    renderHome();
  }
}

function signedIn() {
  const s = state.session;
  return Boolean(s && s.token && (!s.expires_at || Date.parse(s.expires_at) > Date.now()));
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text; // do not re-announce unchanged words
}

function renderNet() {
  $("net").hidden = navigator.onLine;
}

// ---------------------------------------------------------------- sign-in

$("phone-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const phone = $("phone").value.trim();
  $("signin-error").textContent = "";
  if (phone.replace(/\D/g, "").length < 9) {
    $("signin-error").textContent = "Enter your cell phone number, e.g. 082 123 4567.";
    $("phone").focus();
    return;
  }
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  try {
    await api("/api/auth/resident/code", { method: "POST", body: { phone }, auth: false });
    state.signinPhone = phone;
    $("code-phone").textContent = phone;
    $("phone-form").hidden = true;
    $("code-form").hidden = false;
    $("code").value = "";
    $("code").focus();
  } catch (error) {
    $("signin-error").textContent = networkWords(error, "Could not send a code.");
  } finally {
    button.disabled = false;
  }
});

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  $("signin-error").textContent = "";
  if (!/^\d{6}$/.test(code)) {
    $("signin-error").textContent = "The code has 6 digits.";
    $("code").focus();
    return;
  }
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  try {
    const issued = await api("/api/auth/resident/token", {
      method: "POST",
      body: { phone: state.signinPhone, code },
      auth: false,
    });
    state.session = { token: issued.access_token, expires_at: issued.expires_at, phone: state.signinPhone };
    save(KEY.session, state.session);
    $("code-form").hidden = true;
    $("phone-form").hidden = false;
    route();
    loadProfile();
    flush();
    if (state.active) startFollowing();
  } catch (error) {
    $("signin-error").textContent =
      error instanceof HttpError && error.status === 401
        ? "That code is wrong or has expired. Check the SMS, or ask for a new code."
        : networkWords(error, "Could not sign in.");
  } finally {
    button.disabled = false;
  }
});

$("other-number").addEventListener("click", () => {
  $("code-form").hidden = true;
  $("phone-form").hidden = false;
  $("signin-error").textContent = "";
  $("phone").focus();
});

function networkWords(error, prefix) {
  if (error instanceof HttpError) return `${prefix} ${error.message}`;
  return `${prefix} There is no connection; try again when you have signal.`;
}

function signedOut() {
  // The token was refused: ask again, but keep any saved alert to send afterwards.
  state.session = null;
  save(KEY.session, null);
  stopFollowing();
  route();
}

// ---------------------------------------------------------------- home

function renderHome() {
  $("silent").checked = state.silent;
  for (const input of document.querySelectorAll('input[name="type"]')) input.checked = input.value === state.type;
  $("pin-nudge").hidden = !(state.profile && !state.profile.has_pin);
  askGeoIfNeeded();
}

for (const input of document.querySelectorAll('input[name="type"]')) {
  input.addEventListener("change", () => {
    state.type = input.value;
  });
}

$("silent").addEventListener("change", () => {
  state.silent = $("silent").checked;
  save(KEY.silent, state.silent);
});

async function askGeoIfNeeded() {
  if (!("geolocation" in navigator) || !navigator.permissions) return;
  try {
    const status = await navigator.permissions.query({ name: "geolocation" });
    $("geo-ask").hidden = status.state !== "prompt";
    status.onchange = () => {
      $("geo-ask").hidden = status.state !== "prompt";
    };
  } catch {
    // Permissions API missing: the press will ask.
  }
}

$("geo-allow").addEventListener("click", () => {
  navigator.geolocation.getCurrentPosition(onFix, onGeoError, { enableHighAccuracy: true, timeout: 20000 });
});

async function loadProfile() {
  if (!signedIn()) return;
  try {
    state.profile = await api("/api/panic/profile");
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) signedOut();
    return;
  }
  if (state.screen === "home") renderHome();
}

// ---------------------------------------------------------------- the press

$("panic").addEventListener("click", press);

function press() {
  if (state.pending || state.active) {
    route();
    return;
  }
  // 1. the client id and the saved alert, before anything that could fail or wait
  state.pending = {
    client_alert_id: newClientId(),
    type: state.type,
    silent: state.silent,
    pressed_at: new Date().toISOString(),
    fix: freshFix(),
    attempts: 0,
  };
  save(KEY.pending, state.pending);
  state.lastError = null;
  state.note = null;
  state.retryDelay = RETRY_MIN_MS;
  state.lastSentFixAt = 0;
  if (!state.silent && navigator.vibrate) navigator.vibrate([120, 60, 120]);
  show("alert");
  renderAlert();
  keepAwake();
  // 2. the location, but never more than GEO_WAIT_MS of waiting
  startWatching();
  if (state.pending.fix) {
    flush();
    return;
  }
  const sendAnyway = setTimeout(() => {
    state.firstFixWaiter = null;
    flush();
  }, GEO_WAIT_MS);
  state.firstFixWaiter = () => {
    clearTimeout(sendAnyway);
    flush();
  };
}

function freshFix() {
  return state.fix && Date.now() - state.fix.at < 60000 ? state.fix : null;
}

// ---------------------------------------------------------------- location

function startWatching() {
  if (state.watchId !== null || !("geolocation" in navigator)) {
    if (!("geolocation" in navigator)) state.geoError = "unsupported";
    return;
  }
  state.watchId = navigator.geolocation.watchPosition(onFix, onGeoError, {
    enableHighAccuracy: true,
    maximumAge: 10000,
    timeout: 30000,
  });
}

function stopWatching() {
  if (state.watchId !== null) navigator.geolocation.clearWatch(state.watchId);
  state.watchId = null;
}

function onFix(position) {
  const { latitude, longitude, accuracy } = position.coords;
  state.fix = {
    lat: latitude,
    lon: longitude,
    accuracy_m: Number.isFinite(accuracy) ? Math.round(accuracy) : null,
    // Browsers do not say where a fix came from; a tight one is satellite, a loose one cell/Wi-Fi.
    source: Number.isFinite(accuracy) && accuracy <= 100 ? "gps" : "network",
    at: Date.now(),
  };
  state.geoError = null;
  if (state.pending) {
    state.pending.fix = state.fix;
    save(KEY.pending, state.pending);
    if (state.firstFixWaiter) {
      const waiter = state.firstFixWaiter;
      state.firstFixWaiter = null;
      waiter();
    }
  } else if (state.active && state.lastSentFixAt === 0) {
    sendLocation(); // the alert went without a location: send the late fix at once
  }
  if (state.screen === "alert") renderAlert();
}

function onGeoError(error) {
  state.geoError = error.code === error.PERMISSION_DENIED ? "denied" : "unavailable";
  if (state.geoError === "denied") {
    stopWatching(); // the location tick tries again, in case the resident allows it later
    if (state.firstFixWaiter) {
      const waiter = state.firstFixWaiter; // no fix is coming: do not wait the 3 s
      state.firstFixWaiter = null;
      waiter();
    }
  }
  if (state.screen === "alert") renderAlert();
}

function locationTick() {
  if (state.watchId === null) startWatching();
  sendLocation();
}

async function sendLocation() {
  const alertId = (state.active && OPEN.has(state.active.status) && state.active.id) || trailId();
  const fix = state.fix;
  if (!alertId || !fix || !signedIn()) return;
  try {
    const out = await api(`/api/panic/alerts/${encodeURIComponent(alertId)}/locations`, {
      method: "POST",
      body: { lat: fix.lat, lon: fix.lon, accuracy_m: fix.accuracy_m, source: fix.source },
    });
    state.lastSentFixAt = fix.at;
    if (state.active && state.active.id === alertId && OPEN.has(state.active.status)) takeAlert(out);
  } catch (error) {
    if (error instanceof HttpError && (error.status === 409 || error.status === 404)) {
      endTrail(); // the alert is closed: stop sending
    } else if (error instanceof HttpError && error.status === 401) {
      signedOut();
    }
    // offline: the next tick sends the newest fix
  }
}

function trailId() {
  if (state.trail && Date.now() < state.trail.until) return state.trail.id;
  return null;
}

function endTrail() {
  if (state.trail) {
    state.trail = null;
    save(KEY.trail, null);
  }
  if (!state.pending && !(state.active && OPEN.has(state.active.status))) {
    clearInterval(state.locationTimer);
    state.locationTimer = null;
    stopWatching();
  }
}

// ---------------------------------------------------------------- sending the queued alert

async function flush() {
  const record = state.pending;
  if (!record || state.sending) return;
  if (!signedIn()) {
    if (navigator.onLine) {
      signedOut();
    } else {
      state.lastError = { fatal: false, offline: true };
      renderAlert();
    }
    return;
  }
  clearTimeout(state.retryTimer);
  state.sending = true;
  record.attempts += 1;
  save(KEY.pending, record);
  renderAlert();
  const body = { type: record.type, silent: record.silent, client_alert_id: record.client_alert_id };
  if (record.fix) {
    Object.assign(body, {
      lat: record.fix.lat,
      lon: record.fix.lon,
      accuracy_m: record.fix.accuracy_m,
      source: record.fix.source,
    });
  } else {
    body.source = "unknown";
  }
  try {
    const out = await api("/api/panic/alerts", { method: "POST", body });
    state.sending = false;
    state.pending = null;
    save(KEY.pending, null);
    state.lastError = null;
    state.retryDelay = RETRY_MIN_MS;
    state.lastSentFixAt = record.fix ? record.fix.at : 0;
    takeAlert(out);
    startFollowing();
    if (state.fix && state.fix.at > state.lastSentFixAt) sendLocation();
    if (state.cancelPin) {
      const pin = state.cancelPin;
      state.cancelPin = null;
      cancelAlert(pin).catch((error) => {
        state.note = error instanceof HttpError && error.status === 403
          ? "Not cancelled: wrong PIN." : networkWords(error, "Not cancelled.");
        renderAlert();
      });
    }
  } catch (error) {
    state.sending = false;
    if (error instanceof HttpError && error.status === 401) {
      signedOut();
      return;
    }
    if (error instanceof HttpError && [400, 403, 413, 422].includes(error.status)) {
      // The server refuses this alert as it stands: retrying the same request cannot help.
      state.lastError = { fatal: true, message: error.message };
    } else {
      state.lastError = { fatal: false, offline: !(error instanceof HttpError) };
      scheduleRetry();
    }
    renderAlert();
  }
}

function scheduleRetry() {
  clearTimeout(state.retryTimer);
  const delay = state.retryDelay * (0.8 + Math.random() * 0.4);
  state.retryDelay = Math.min(state.retryDelay * 2, RETRY_MAX_MS);
  state.retryTimer = setTimeout(flush, delay);
}

function retryNow() {
  state.retryDelay = RETRY_MIN_MS;
  flush();
}

$("retry").addEventListener("click", retryNow);

// ---------------------------------------------------------------- following the alert

function takeAlert(out) {
  const previous = state.active;
  state.active = { ...out, client_alert_id: previous?.client_alert_id };
  save(KEY.active, state.active);
  state.linkDown = false;
  if (state.screen === "alert") renderAlert();
  if (!OPEN.has(out.status)) stopFollowing({ keepTrail: true });
}

function startFollowing() {
  if (!state.active || !OPEN.has(state.active.status)) return;
  keepAwake();
  startWatching();
  if (state.pollTimer === null) state.pollTimer = setTimeout(poll, POLL_MS);
  if (state.locationTimer === null) state.locationTimer = setInterval(locationTick, LOCATION_MS);
}

function stopFollowing({ keepTrail = false } = {}) {
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
  if (!(keepTrail && trailId())) {
    clearInterval(state.locationTimer);
    state.locationTimer = null;
    if (!state.pending) stopWatching();
  }
  releaseWake();
}

async function poll() {
  state.pollTimer = null;
  if (!state.active || !OPEN.has(state.active.status) || !signedIn()) return;
  try {
    takeAlert(await api(`/api/panic/alerts/${encodeURIComponent(state.active.id)}`));
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) {
      signedOut();
      return;
    }
    state.linkDown = true;
    renderAlert();
  }
  if (state.active && OPEN.has(state.active.status) && state.pollTimer === null) {
    state.pollTimer = setTimeout(poll, POLL_MS);
  }
}

async function keepAwake() {
  // Keep the screen on while help is being arranged: timers and GPS slow down when it sleeps.
  try {
    if (navigator.wakeLock && !state.wakeLock) state.wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    state.wakeLock = null;
  }
}

function releaseWake() {
  if (state.wakeLock) state.wakeLock.release().catch(() => {});
  state.wakeLock = null;
}

// ---------------------------------------------------------------- the status, in words

function minutes(seconds) {
  if (seconds < 60) return "in less than a minute";
  const m = Math.round(seconds / 60);
  return `in about ${m} minute${m === 1 ? "" : "s"}`;
}

function statusWords() {
  if (state.pending) {
    const e = state.lastError;
    if (e && e.fatal) {
      return ["error", "Your alert could not be sent", `${e.message} Please call 10111 or 112 now.`];
    }
    if (state.sending && !e) {
      return ["wait", "Sending your alert…", "Stay where you are safe. Keep this page open."];
    }
    if (!navigator.onLine || (e && e.offline)) {
      return ["queued", "Waiting for network",
        "Your alert is queued on this phone. It is sent by itself as soon as there is signal."];
    }
    if (e) {
      return ["queued", "Still trying to send",
        "The command centre did not answer yet. Your alert is queued and is sent again by itself."];
    }
    return ["wait", "Sending your alert…", "Stay where you are safe. Keep this page open."];
  }
  const a = state.active;
  switch (a.status) {
    case "new":
      return ["ok", "Help is being arranged", "Your alert has reached the command centre."];
    case "acknowledged":
      return ["ok", "Help is being arranged", "An operator is dealing with your alert now."];
    case "dispatched":
      return ["ok", "Help is on the way", "A unit has been sent to you."];
    case "en_route":
      return ["ok", "Help is on the way", "The unit is driving to you."];
    case "on_scene":
      return ["ok", "Help has arrived", "The unit is at your location."];
    case "resolved":
      return ["closed", "Your alert is closed", "The command centre has closed this alert. Stay safe."];
    case "cancelled":
      return ["closed", "Alert cancelled", "Your alert has been called off."];
    default:
      return ["ok", "Alert received", `Status: ${a.status}.`];
  }
}

function whereWords() {
  const a = state.active;
  if (state.fix) {
    const acc = state.fix.accuracy_m ? `, within ${state.fix.accuracy_m}\u00a0m` : "";
    if (a) return `Sent${acc}`;
    return `Found${acc}; goes with the alert`;
  }
  if (state.geoError === "denied") return "Location is off. Tell the operator where you are if they call.";
  if (state.geoError === "unsupported") return "This phone gives no location. Tell the operator where you are.";
  if (a && a.location_unknown === false) return "Sent";
  return "Finding your location…";
}

function renderAlert() {
  if (state.screen !== "alert") return;
  if (!state.pending && !state.active) {
    route();
    return;
  }
  const [tone, title, detail] = statusWords();
  $("status").dataset.tone = tone;
  setText("status-title", title);
  setText("status-detail", detail);
  const a = state.active;
  const open = Boolean(a && OPEN.has(a.status));
  const closed = Boolean(a && !open);
  const callsign = open && a.unit_callsign;
  $("unit-row").hidden = !callsign;
  setText("unit", callsign ? a.unit_callsign : "");
  const eta = open && a.eta_seconds !== null && a.eta_seconds !== undefined && a.status !== "on_scene";
  $("eta-row").hidden = !eta;
  setText("eta", eta ? minutes(a.eta_seconds) : "");
  setText("where", closed ? "—" : whereWords());
  const type = state.pending ? state.pending.type : a.type;
  setText("alert-type", TYPE_WORDS[type] || type);
  const lost = open && state.linkDown ? "Connection lost: showing the last known status. Still trying…" : "";
  setText("link-note", lost || state.note || "");
  // Until the alert has reached the server its type can still be changed.
  $("late-type").hidden = !state.pending;
  for (const input of document.querySelectorAll('input[name="late-type"]')) input.checked = input.value === type;
  $("retry").hidden = !(state.pending && state.lastError && !state.sending);
  $("cancel").hidden = closed || Boolean(state.lastError && state.lastError.fatal);
  $("done").hidden = !(closed || (state.lastError && state.lastError.fatal));
}

for (const input of document.querySelectorAll('input[name="late-type"]')) {
  input.addEventListener("change", () => {
    if (!state.pending) return;
    state.pending.type = input.value;
    save(KEY.pending, state.pending);
    renderAlert();
  });
}

$("done").addEventListener("click", () => {
  if (state.pending && state.lastError && state.lastError.fatal) {
    state.pending = null;
    save(KEY.pending, null);
  }
  state.active = null;
  save(KEY.active, null);
  state.type = DEFAULT_TYPE;
  state.lastError = null;
  state.note = null;
  route();
});

// ---------------------------------------------------------------- cancel with the PIN

$("cancel").addEventListener("click", () => {
  $("cancel-pin").value = "";
  $("cancel-error").textContent = "";
  $("cancel-dialog").showModal();
  $("cancel-pin").focus();
});

$("cancel-keep").addEventListener("click", () => $("cancel-dialog").close());

$("cancel-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const pin = $("cancel-pin").value.trim();
  if (!/^\d{4,8}$/.test(pin)) {
    $("cancel-error").textContent = "The PIN has 4 to 8 digits.";
    $("cancel-pin").focus();
    return;
  }
  if (state.pending) {
    // Not sent yet: it is sent and then cancelled with this PIN, so the server (not the
    // phone) tells a cancel PIN from a duress PIN. If the page closes first, the alert
    // still goes: an unwanted alert is safer than a lost one.
    state.cancelPin = pin;
    $("cancel-dialog").close();
    state.note = "Your alert will be cancelled as soon as it has been sent.";
    renderAlert();
    return;
  }
  $("cancel-confirm").disabled = true;
  try {
    await cancelAlert(pin);
    $("cancel-dialog").close();
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) {
      $("cancel-dialog").close();
      signedOut();
    } else {
      $("cancel-error").textContent =
        error instanceof HttpError && error.status === 403
          ? "Wrong PIN."
          : networkWords(error, "Could not cancel.");
    }
  } finally {
    $("cancel-confirm").disabled = false;
  }
});

async function cancelAlert(pin) {
  const id = state.active.id;
  const out = await api(`/api/panic/alerts/${encodeURIComponent(id)}/cancel`, { method: "POST", body: { pin } });
  // A duress PIN answers "cancelled" too but keeps the alert open on the server. Keep
  // sending fixes quietly: the server refuses them (409) at once after a real cancel,
  // which ends this; after a duress PIN they go on helping the responders.
  state.trail = { id, until: Date.now() + DURESS_TRAIL_MS };
  save(KEY.trail, state.trail);
  takeAlert(out);
  sendLocation();
}

// ---------------------------------------------------------------- settings (PINs)

$("open-settings").addEventListener("click", openSettings);
$("pin-nudge-open").addEventListener("click", openSettings);
$("close-settings").addEventListener("click", route);

function openSettings() {
  $("pin").value = "";
  $("duress").value = "";
  $("pin-message").textContent = "";
  renderPinState();
  show("settings");
  loadProfile().then(renderPinState);
}

function renderPinState() {
  const p = state.profile;
  $("pin-state").textContent = !p
    ? ""
    : p.has_pin
      ? `A cancel PIN is set${p.has_duress_pin ? ", and a duress PIN" : ""}. Enter a new one to change it.`
      : "No cancel PIN yet: without one, an alert cannot be cancelled.";
}

$("pin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const pin = $("pin").value.trim();
  const duress = $("duress").value.trim();
  const body = {};
  if (pin) body.pin = pin;
  if (duress) body.duress_pin = duress;
  const bad = [pin, duress].some((v) => v && !/^\d{4,8}$/.test(v));
  if (bad || !Object.keys(body).length) {
    $("pin-message").textContent = "A PIN has 4 to 8 digits.";
    return;
  }
  if (pin && duress && pin === duress) {
    $("pin-message").textContent = "The duress PIN must differ from the cancel PIN.";
    return;
  }
  try {
    state.profile = await api("/api/panic/profile", { method: "PUT", body });
    $("pin").value = "";
    $("duress").value = "";
    $("pin-message").textContent = "Saved.";
    renderPinState();
  } catch (error) {
    if (error instanceof HttpError && error.status === 401) signedOut();
    else $("pin-message").textContent = networkWords(error, "Not saved.");
  }
});

$("signout").addEventListener("click", async () => {
  if (state.pending || (state.active && OPEN.has(state.active.status))) {
    $("pin-message").textContent = "You cannot sign out while an alert is open.";
    return;
  }
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  state.session = null;
  state.profile = null;
  save(KEY.session, null);
  route();
});

// ---------------------------------------------------------------- start

window.addEventListener("online", () => {
  renderNet();
  retryNow();
  if (state.active && OPEN.has(state.active.status)) {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    poll();
    sendLocation();
  }
});
window.addEventListener("offline", () => {
  renderNet();
  renderAlert();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible") return;
  if (state.pending) retryNow();
  if (state.active && OPEN.has(state.active.status)) keepAwake();
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/panic/sw.js", { scope: "/panic" }).catch(() => {});
}

renderNet();
route();
if (signedIn()) {
  loadProfile();
  if (state.pending) {
    startWatching();
    flush();
  } else if (state.active && OPEN.has(state.active.status)) {
    startFollowing();
    poll();
  } else if (trailId()) {
    startWatching();
    state.locationTimer = setInterval(locationTick, LOCATION_MS);
  }
}
