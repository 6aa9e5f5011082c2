// The command-centre console: sign in, a menu built from the user's permissions, and the
// views behind it (#/live, #/kpis, #/admin). The API refuses what the menu hides; the
// menu hides it so nobody is shown a door that will not open.
import "leaflet/dist/leaflet.css";
import "./console.css";
import { Api } from "../shared/api.js";
import { mountAdmin } from "./admin.js";
import { mountCctv } from "./cctv.js";
import { mountIntel } from "./intel.js";
import { mountKpis } from "./kpis.js";
import { SHORTCUTS } from "./keyboard.js";
import { mountLive } from "./live.js";
import { mountPartners } from "./partners.js";
import { mountRisk } from "./risk.js";
import { mountSoc } from "./soc.js";
import { isMuted, setMuted, unlock, unlockOnFirstGesture } from "./sound.js";

const $ = (id) => document.getElementById(id);
const api = new Api();
let me = null;
let current = null; // {name, view}

const CONNECTION_TEXT = {
  connecting: ["Connecting…", "conn-pending"],
  live: ["Live", "conn-live"],
  reconnecting: ["Reconnecting…", "conn-lost"],
  reloading: ["Reloading…", "conn-pending"],
  closed: ["Signed out", "conn-lost"],
};

const ui = {
  setConnection(state) {
    const badge = $("connection");
    const known = CONNECTION_TEXT[state];
    badge.hidden = !known;
    if (!known) return;
    badge.textContent = known[0];
    badge.className = `conn ${known[1]}`;
  },
  showHelp() {
    const dialog = $("help");
    if (!dialog.open) dialog.showModal();
  },
  isHelpOpen() {
    return $("help").open;
  },
};

const VIEWS = {
  live: {
    label: "Live picture",
    allowed: (p) => p.has("panic.read"),
    refusal: "Your role does not include the operator console (the live picture of alerts and units).",
    mount: (container) => mountLive(container, api, me, ui),
  },
  kpis: {
    label: "KPIs",
    allowed: (p) => p.has("kpi.read"),
    refusal: "Your role does not include the KPIs.",
    mount: (container) => mountKpis(container, api),
  },
  cctv: {
    label: "CCTV",
    allowed: (p) => p.has("cctv.read"),
    refusal: "Your role does not include the CCTV cameras.",
    mount: (container) => mountCctv(container, api, me),
  },
  soc: {
    label: "SOC",
    allowed: (p) => p.has("cyber.read"),
    refusal: "Your role does not include the SOC (the cybersecurity command centre).",
    mount: (container) => mountSoc(container, api, me),
  },
  risk: {
    label: "Risk",
    allowed: (p) => p.has("risk.read"),
    refusal: "Your role does not include the risk register and map.",
    mount: (container) => mountRisk(container, api, me),
  },
  partners: {
    label: "Partners",
    allowed: (p) => p.has("partners.read") || p.has("community.read"),
    refusal: "Your role does not include the partners panel (agreements, joint operations, community alerts).",
    mount: (container) => mountPartners(container, api, me),
  },
  intel: {
    label: "Intel",
    allowed: (p) => p.has("intel.read"),
    refusal: "Your role does not include the Intel desk (intelligence items, entities, requests for information).",
    mount: (container) => mountIntel(container, api, me),
  },
  admin: {
    label: "Administration",
    allowed: (p) => p.has("agency.manage") || p.has("user.manage") || p.has("unit.manage"),
    refusal: "Your role does not include administration.",
    mount: (container) => mountAdmin(container, api, me),
  },
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function permissions() {
  return new Set(me ? me.permissions : []);
}

function buildMenu() {
  const allowed = permissions();
  const items = [];
  for (const [name, view] of Object.entries(VIEWS)) {
    if (!view.allowed(allowed)) continue;
    const link = el("a", null, view.label);
    link.href = `#/${name}`;
    link.dataset.view = name;
    items.push(link);
  }
  if (allowed.has("unit.update")) {
    const link = el("a", null, "Responder view");
    link.href = "/responder";
    items.push(link);
  }
  const signOut = el("button", "ghost", "Sign out");
  signOut.type = "button";
  signOut.addEventListener("click", async () => {
    await api.signOut().catch(() => {});
  });
  items.push(signOut);
  $("menu").replaceChildren(
    ...items.map((item) => {
      const li = el("li");
      li.append(item);
      return li;
    }),
  );
  $("nav").hidden = false;
}

function unmountView() {
  if (current && current.view) {
    try {
      current.view.unmount();
    } catch (error) {
      console.error(error);
    }
  }
  current = null;
}

function refusal(container, text) {
  const box = el("section", "refusal");
  box.setAttribute("aria-labelledby", "refusal-title");
  const title = el("h2", null, "Not available to your role");
  title.id = "refusal-title";
  box.append(title, el("p", null, text));
  const allowed = permissions();
  const others = Object.entries(VIEWS).filter(([, v]) => v.allowed(allowed));
  if (others.length) {
    const p = el("p", null, "You may open: ");
    others.forEach(([name, view], i) => {
      const link = el("a", null, view.label);
      link.href = `#/${name}`;
      if (i) p.append(", ");
      p.append(link);
    });
    box.append(p);
  }
  container.replaceChildren(box);
  title.tabIndex = -1;
  title.focus();
  return { unmount() {} };
}

function route() {
  if (!me) return;
  const allowed = permissions();
  let name = location.hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  if (!name) {
    const first = Object.keys(VIEWS).find((n) => VIEWS[n].allowed(allowed));
    if (first) {
      history.replaceState(null, "", `#/${first}`);
      name = first;
    }
  }
  if (current && current.name === name) return;
  unmountView();
  const container = $("view");
  container.className = `view view-${name || "none"}`;
  for (const link of $("menu").querySelectorAll("a[data-view]")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const view = VIEWS[name];
  document.body.classList.toggle("is-live", name === "live" && Boolean(view) && view.allowed(allowed));
  if (!view) {
    document.title = "Khusela";
    current = {
      name,
      view: refusal(container, name ? "There is no such page." : "Your role has no views in this console yet."),
    };
    return;
  }
  document.title = `${view.label} — Khusela`;
  if (!view.allowed(allowed)) {
    current = { name, view: refusal(container, view.refusal) };
    return;
  }
  let mounted;
  try {
    mounted = view.mount(container);
  } catch (error) {
    console.error(error);
    mounted = refusal(container, `This view failed to open: ${error.message}`);
  }
  current = { name, view: mounted };
}

function startSession(profile) {
  me = profile;
  $("login").hidden = true;
  $("view").hidden = false;
  $("who").textContent = `${me.username} · ${me.agency ? me.agency.name : "no agency"}`;
  $("sound").hidden = false;
  $("help-button").hidden = false;
  buildMenu();
  route();
}

function endSession(message) {
  unmountView();
  me = null;
  document.body.classList.remove("is-live");
  $("nav").hidden = true;
  $("menu").replaceChildren();
  $("view").hidden = true;
  $("view").replaceChildren();
  $("who").textContent = "";
  $("sound").hidden = true;
  $("help-button").hidden = true;
  ui.setConnection("off");
  $("login").hidden = false;
  $("error").textContent = message || "";
  document.title = "Sign in — Khusela";
  $("login").querySelector("input[name=username]").focus();
}

api.onSignedOut = () => endSession(me ? "You were signed out. Sign in again." : "");

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  unlock(); // the sign-in click is the gesture that lets the console beep
  const form = event.target;
  const data = new FormData(form);
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const profile = await api.signIn(data.get("username"), data.get("password"), data.get("totp"));
    form.reset();
    $("error").textContent = "";
    startSession(profile);
  } catch (error) {
    $("error").textContent = error.message;
  } finally {
    submit.disabled = false;
  }
});

$("sound").addEventListener("click", () => {
  setMuted(!isMuted());
  unlock();
  $("sound").setAttribute("aria-pressed", String(!isMuted()));
  $("sound").textContent = isMuted() ? "Sound off" : "Sound on";
});

$("help-button").addEventListener("click", () => ui.showHelp());
$("help-close").addEventListener("click", () => $("help").close());
$("help-list").replaceChildren(
  ...SHORTCUTS.flatMap(([keys, what]) => [el("dt", null, keys), el("dd", null, what)]),
);

window.addEventListener("hashchange", route);
unlockOnFirstGesture();

if (api.signedIn) {
  $("login").hidden = true;
  api
    .get("/api/me")
    .then(startSession)
    .catch(() => {
      api.forget();
      endSession("");
    });
}
