// The responder view at /responder: a unit's crew signs in, signs on to their unit for
// the shift, and works its assignment from the phone (status buttons, navigation), while
// the phone reports the unit's position. New assignments arrive over the live feed, with
// a 15 s poll as the fallback when the feed is down.
import "./responder.css";
import { Api } from "../shared/api.js";
import { Feed } from "../shared/feed.js";
import { assignmentCard } from "./assignment.js";
import { h } from "../shared/dom.js";
import { ALERT_TYPES, UNIT_KINDS, coordinates, hhmm, timeOf, words } from "./format.js";
import { LocationReporter } from "./location.js";

export const api = new Api();
const app = document.getElementById("app");
const POLL_MS = 15_000;
const LIVE_WORDS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  reloading: "Reloading…",
  closed: "Offline",
};

const duty = {
  me: null,
  unit: null,
  assignments: [],
  busy: false,
  error: "",
  loadError: "",
  outcome: null,
  focusNext: false,
  seen: new Set(),
  lastCleared: null,
  renderedKey: null,
  feed: null,
  poll: null,
  reporter: null,
  refreshing: null,
  again: false,
  debounce: null,
  wakeLock: null,
  els: null,
};
let leaving = false;

function field(label, input) {
  const id = `r-${input.name}`;
  input.id = id;
  return h("div", { class: "r-field" }, h("label", { for: id, text: label }), input);
}

function topBar() {
  const who = duty.me ? h("span", { class: "r-who", text: duty.me.username }) : null;
  const out = duty.me ? h("button", { type: "button", class: "r-button r-quiet", text: "Sign out", onclick: signOut }) : null;
  return h("header", { class: "r-top" }, h("h1", {}, "Khusela ", h("span", { text: "responder" })), h("div", { class: "r-top-right" }, who, out));
}

function screen(...nodes) {
  app.replaceChildren(topBar(), h("div", { class: "r-body" }, nodes));
}

// --- signing in ----------------------------------------------------------------------------

function showSignIn(message = "") {
  stopDuty();
  duty.me = null;
  const error = h("p", { class: "r-error", role: "alert", text: message });
  const button = h("button", { type: "submit", class: "r-button r-primary r-wide", text: "Sign in" });
  const form = h(
    "form",
    { class: "r-form", "aria-labelledby": "r-signin-title" },
    h("h2", { id: "r-signin-title", text: "Sign in" }),
    field("Username", h("input", { name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    field(
      "Authenticator code",
      h("input", { name: "totp", inputmode: "numeric", pattern: "\\d{6}", maxlength: "6", autocomplete: "one-time-code", required: true }),
    ),
    button,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    button.disabled = true;
    error.textContent = "";
    try {
      const me = await api.signIn(String(data.get("username")).trim(), data.get("password"), String(data.get("totp")).trim());
      await afterSignIn(me);
    } catch (problem) {
      error.textContent = problem.message;
      button.disabled = false;
    }
  });
  screen(form);
  form.querySelector("input").focus();
}

async function afterSignIn(me) {
  duty.me = me;
  if (!me.permissions.includes("unit.update")) {
    screen(
      h(
        "section",
        { class: "r-panel" },
        h("h2", { text: "Not a unit crew account" }),
        h("p", { text: "This view is for responders crewing a unit. Use the command-centre console instead." }),
        h("a", { class: "r-button r-secondary", href: "/", text: "Open the console" }),
      ),
    );
    return;
  }
  let crew;
  try {
    crew = await api.get("/api/panic/crew");
  } catch (problem) {
    if (problem.status === 401) return;
    const retry = h("button", { type: "button", class: "r-button r-primary", text: "Try again" });
    retry.addEventListener("click", () => afterSignIn(me));
    screen(
      h(
        "section",
        { class: "r-panel" },
        h("h2", { text: "Could not read your unit" }),
        h("p", { class: "r-error", role: "alert", text: problem.message }),
        retry,
      ),
    );
    return;
  }
  if (crew && crew.unit) startDuty(crew.unit, crew.signed_on_at);
  else await showUnits();
}

async function signOut() {
  leaving = true;
  stopDuty();
  await api.signOut().catch(() => {});
  leaving = false;
  showSignIn();
}

api.onSignedOut = () => {
  if (!leaving) showSignIn("Your session has ended: sign in again.");
};

// --- choosing the unit -------------------------------------------------------------------

async function showUnits(notice = "") {
  stopDuty();
  const list = h("ul", { class: "r-units", "aria-labelledby": "r-pick-title" });
  const error = h("p", { class: "r-error", role: "alert" });
  screen(
    h(
      "section",
      { class: "r-panel" },
      h("h2", { id: "r-pick-title", text: "Sign on to your unit" }),
      notice ? h("p", { class: "r-notice", role: "status", text: notice }) : null,
      h("p", { class: "r-hint", text: "Choose the unit you crew for this shift." }),
      list,
      error,
    ),
  );
  let units;
  try {
    units = await api.get("/api/panic/units");
  } catch (problem) {
    error.textContent = problem.message;
    return;
  }
  if (!units.length) {
    list.replaceWith(h("p", { class: "r-notice", text: "Your agency has no units registered. Ask the command centre." }));
    return;
  }
  list.replaceChildren(
    ...units.map((unit) => {
      const button = h(
        "button",
        { type: "button", class: "r-unit-choice" },
        h("strong", { text: unit.callsign }),
        h("span", { text: `${UNIT_KINDS[unit.kind] || words(unit.kind)} · ${words(unit.status)}` }),
      );
      button.addEventListener("click", async () => {
        for (const b of list.querySelectorAll("button")) b.disabled = true;
        error.textContent = "";
        try {
          const signed = await api.post("/api/panic/crew", { unit_id: unit.id });
          startDuty(signed.unit || unit, signed.signed_on_at);
        } catch (problem) {
          error.textContent = problem.message;
          for (const b of list.querySelectorAll("button")) b.disabled = false;
        }
      });
      return h("li", {}, button);
    }),
  );
  list.querySelector("button")?.focus();
}

// --- on duty -------------------------------------------------------------------------------

function startDuty(unit, signedOnAt) {
  stopDuty();
  duty.unit = unit;
  duty.assignments = [];
  duty.renderedKey = null;
  duty.error = duty.loadError = "";
  const live = h("span", { class: "r-live", "data-state": "connecting", text: LIVE_WORDS.connecting });
  const where = h("span", { class: "r-location", text: "Location: waiting for a fix…" });
  const job = h("div", { class: "r-job", "aria-live": "polite" });
  const announce = h("p", { class: "r-sr-only", "aria-live": "assertive" });
  const signOff = h("button", { type: "button", class: "r-button r-quiet r-wide", text: `Sign off ${unit.callsign}` });
  const offError = h("p", { class: "r-error", role: "alert" });
  signOff.addEventListener("click", async () => {
    signOff.disabled = true;
    try {
      await api.request("DELETE", "/api/panic/crew");
      await showUnits(`Signed off ${unit.callsign}.`);
    } catch (problem) {
      offError.textContent = problem.message;
      signOff.disabled = false;
    }
  });
  duty.els = { live, where, job, announce };
  screen(
    h(
      "section",
      { class: "r-bar", "aria-label": "Your unit" },
      h(
        "p",
        { class: "r-unit" },
        h("strong", { text: unit.callsign }),
        ` ${UNIT_KINDS[unit.kind] || words(unit.kind)}`,
      ),
      h(
        "p",
        { class: "r-bar-line", role: "status" },
        live,
        signedOnAt ? h("span", { text: `Signed on ${hhmm(signedOnAt)}` }) : null,
        where,
      ),
    ),
    job,
    announce,
    h("footer", { class: "r-foot" }, signOff, offError),
  );
  renderJob();

  duty.feed = new Feed(api, {
    onReady: () => refresh(),
    onEvent: (subject, payload) => {
      if (subject === "panic.unit_changed" && payload.unit_id !== duty.unit?.id) return;
      if (subject === "panic.alert_changed" || subject === "panic.unit_changed") scheduleRefresh();
    },
    onClosed: () => showSignIn("Your session has ended: sign in again."),
    onState: (state) => {
      live.dataset.state = state;
      live.textContent = LIVE_WORDS[state] || state;
    },
  });
  duty.feed.start();
  duty.poll = setInterval(() => {
    refresh();
    checkCrew();
  }, POLL_MS);
  duty.reporter = new LocationReporter(api, unit.id, {
    onSent: (at, coords) => {
      where.dataset.state = "ok";
      where.textContent = `Location sent ${timeOf(at)} · ${coordinates(coords.latitude, coords.longitude, coords.accuracy)}`;
    },
    onProblem: (message) => {
      where.dataset.state = "problem";
      where.textContent = `Location: ${message}`;
    },
  });
  duty.reporter.start();
  keepAwake();
  refresh();
}

function stopDuty() {
  duty.feed?.stop();
  duty.reporter?.stop();
  clearInterval(duty.poll);
  clearTimeout(duty.debounce);
  duty.wakeLock?.release().catch(() => {});
  Object.assign(duty, { feed: null, reporter: null, poll: null, debounce: null, wakeLock: null, unit: null, els: null });
}

/** Keep the screen on while on duty (best effort): a sleeping phone stops reporting. */
async function keepAwake() {
  try {
    if (duty.unit && "wakeLock" in navigator && document.visibilityState === "visible") {
      duty.wakeLock = await navigator.wakeLock.request("screen");
    }
  } catch {
    // not granted (battery saver, no user gesture): the view works without it
  }
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && duty.unit) {
    keepAwake();
    refresh();
  }
});

async function checkCrew() {
  if (!duty.unit) return;
  try {
    const crew = await api.get("/api/panic/crew");
    if (duty.unit && (!crew || !crew.unit || crew.unit.id !== duty.unit.id)) {
      await showUnits(`You are no longer signed on to ${duty.unit.callsign}.`);
    }
  } catch {
    // the poll tries again; a 401 already sent us to the sign-in
  }
}

function scheduleRefresh() {
  clearTimeout(duty.debounce);
  duty.debounce = setTimeout(refresh, 150);
}

/** Re-read the unit's open assignments (one read at a time; a request meanwhile repeats it). */
function refresh() {
  if (!duty.unit) return Promise.resolve();
  if (duty.refreshing) {
    duty.again = true;
    return duty.refreshing;
  }
  duty.refreshing = (async () => {
    do {
      duty.again = false;
      const unit = duty.unit;
      if (!unit) return;
      try {
        const query = new URLSearchParams({ mine: "true", unit_id: unit.id });
        const list = await api.get(`/api/panic/assignments?${query}`);
        if (duty.unit !== unit) return;
        duty.assignments = list.filter((a) => a.unit_id === unit.id);
        duty.loadError = "";
      } catch (problem) {
        if (problem.status === 401) return;
        duty.loadError = `Could not load the assignment: ${problem.message}`;
      }
      renderJob();
    } while (duty.again);
  })().finally(() => {
    duty.refreshing = null;
  });
  return duty.refreshing;
}

function renderJob() {
  if (!duty.els) return;
  const current = duty.assignments[0] || null;
  const key = JSON.stringify([current, duty.assignments.length, duty.busy, duty.error, duty.loadError, duty.lastCleared]);
  if (key === duty.renderedKey) return;
  duty.renderedKey = key;
  const { job, announce } = duty.els;
  const fresh = Boolean(current && !duty.seen.has(current.id));
  if (fresh) {
    duty.seen.add(current.id);
    duty.outcome = null;
    const type = ALERT_TYPES[current.alert_type] || words(current.alert_type);
    announce.textContent = `New assignment: ${type}, priority ${current.priority}${current.silent ? ", silent alarm" : ""}.`;
    navigator.vibrate?.([300, 150, 300]);
  }
  const nodes = [];
  if (duty.loadError) nodes.push(h("p", { class: "r-error", role: "alert", text: duty.loadError }));
  if (current) {
    nodes.push(
      assignmentCard(current, {
        busy: duty.busy,
        error: duty.error,
        fresh,
        outcome: duty.outcome,
        onOutcome: (value) => {
          duty.outcome = value;
        },
        onStep: (status, outcome) => step(current, status, outcome),
      }),
    );
    if (duty.assignments.length > 1) {
      nodes.push(h("p", { class: "r-notice", text: `${duty.assignments.length - 1} more open assignment(s) for this unit: finish this one first.` }));
    }
  } else {
    const last = duty.lastCleared;
    nodes.push(
      h(
        "section",
        { class: "r-standby", "aria-labelledby": "r-standby-title" },
        h("h2", { id: "r-standby-title", tabindex: "-1", text: "No assignment — standing by" }),
        h("p", { text: "A new assignment appears here by itself, with a vibration." }),
        last ? h("p", { class: "r-notice", text: `Last: ${last.type} resolved (${words(last.outcome)}) at ${timeOf(last.at)}.` }) : null,
      ),
    );
  }
  job.replaceChildren(...nodes);
  if (duty.focusNext && !duty.busy) {
    duty.focusNext = false;
    (job.querySelector("button.r-next:not(:disabled)") || job.querySelector(".r-outcomes input") || job.querySelector("h2"))?.focus();
  }
}

async function step(assignment, status, outcome) {
  if (duty.busy) return;
  duty.busy = true;
  duty.error = "";
  duty.focusNext = true;
  renderJob();
  try {
    const body = outcome ? { status, outcome } : { status };
    await api.post(`/api/panic/assignments/${encodeURIComponent(assignment.id)}/status`, body);
    if (status === "resolved") {
      duty.lastCleared = { type: ALERT_TYPES[assignment.alert_type] || words(assignment.alert_type), outcome, at: new Date() };
      duty.outcome = null;
    }
  } catch (problem) {
    duty.error = problem.message;
  } finally {
    duty.busy = false;
  }
  await refresh();
  renderJob();
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  if (!api.signedIn) {
    showSignIn();
    return;
  }
  try {
    await afterSignIn(await api.get("/api/me"));
  } catch (problem) {
    if (problem.status === 401 || !duty.me) showSignIn(problem.status === 401 ? "" : problem.message);
    else screen(h("p", { class: "r-error", role: "alert", text: problem.message }));
  }
}

start();
