// The administration view: agencies, users and units, one tab each, shown only to those
// whose permissions allow it (agency.manage, user.manage, unit.manage). A new staff
// user's authenticator QR code is shown once, right after creation, and never again.
import "./kpis-admin.css";
import { h } from "../shared/dom.js";

const AGENCY_TYPES = [
  ["saps_station", "SAPS station"],
  ["metro_police", "Metro police"],
  ["ssa", "State Security Agency"],
  ["provincial_department", "Provincial department"],
  ["municipality", "Municipality"],
  ["ems", "Emergency medical services"],
  ["private_security", "Private security"],
  ["cpf", "Community Police Forum"],
  ["neighbourhood_watch", "Neighbourhood watch"],
];
const PROVINCES = ["EC", "FS", "GP", "KZN", "LP", "MP", "NC", "NW", "WC"];
const ROLES = [
  ["operator", "Operator"],
  ["responder", "Responder"],
  ["soc_analyst", "SOC analyst"],
  ["intel_analyst", "Intelligence analyst"],
  ["municipal_official", "Municipal official"],
  ["community_partner", "Community partner"],
  ["oversight", "Oversight"],
  ["admin", "Administrator"],
  ["resident", "Resident"],
];
const CLEARANCES = ["unclassified", "restricted", "confidential", "secret", "top_secret"];
const UNIT_KINDS = [
  ["police_vehicle", "Police vehicle"],
  ["metro_police_vehicle", "Metro police vehicle"],
  ["ambulance", "Ambulance"],
  ["fire_engine", "Fire engine"],
  ["security_vehicle", "Security vehicle"],
  ["cpf_patrol", "CPF patrol"],
  ["foot_patrol", "Foot patrol"],
];


const labelOf = (pairs, value) => pairs.find(([v]) => v === value)?.[1] || value;
const nice = (value) => (value ? String(value).replaceAll("_", " ") : "—");

let fieldIds = 0;
/** A labelled form field; `control` is an input, select or textarea. */
function field(label, control, hint) {
  const id = `adm-f${++fieldIds}`;
  control.id = id;
  const parts = [h("label", { for: id, text: label }), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("span", { class: "kx-hint", id: hintId, text: hint }));
  }
  return h("div", { class: "kx-field" }, parts);
}

function options(pairs, { blank } = {}) {
  const items = pairs.map(([value, label]) => h("option", { value, text: label }));
  return blank ? [h("option", { value: "", text: blank }), ...items] : items;
}

function checkboxes(legend, name, pairs, hint) {
  return h(
    "fieldset",
    { class: "kx-checks" },
    h("legend", { text: legend }),
    hint ? h("p", { class: "kx-hint", text: hint }) : null,
    pairs.map(([value, label]) => h("label", {}, h("input", { type: "checkbox", name, value }), ` ${label}`)),
  );
}

/** Show an API error (its detail and, for schema errors, each field's complaint). */
function showError(box, error) {
  const items = (error.problem?.errors || []).map((e) => {
    const where = (e.loc || []).filter((p) => p !== "body").join(".");
    return h("li", { text: where ? `${where}: ${e.msg}` : e.msg });
  });
  box.replaceChildren(h("span", { text: error.message }), ...(items.length ? [h("ul", {}, items)] : []));
}

function table(caption, headings, rows, empty) {
  return h(
    "div",
    { class: "kx-table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      { class: "kx-table" },
      h("caption", { text: caption }),
      h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col", text: t })))),
      h(
        "tbody",
        {},
        rows.length
          ? rows.map((cells) => h("tr", {}, cells.map((c, i) => (i === 0 ? h("th", { scope: "row", text: c }) : h("td", { text: c })))))
          : h("tr", {}, h("td", { colspan: String(headings.length), class: "kx-empty", text: empty })),
      ),
    ),
  );
}

/** A create form with its submit button and an error box (role=alert) beside it. */
function createForm(title, fields, submitLabel, onSubmit) {
  const error = h("div", { class: "kx-error", role: "alert" });
  const done = h("p", { class: "kx-ok", role: "status" });
  const button = h("button", { type: "submit", text: submitLabel });
  const form = h("form", { class: "kx-form", novalidate: true }, h("h3", { text: title }), fields, h("div", { class: "kx-actions" }, button), error, done);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.replaceChildren();
    done.textContent = "";
    button.disabled = true;
    try {
      done.textContent = (await onSubmit(new FormData(form), form)) || "";
    } catch (problem) {
      showError(error, problem);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// --- the tabs' panels ----------------------------------------------------------------------

function agenciesPanel(api, ctx) {
  const list = h("div", { class: "kx-list" });
  const form = createForm(
    "New agency",
    [
      field("Name", h("input", { name: "name", required: true, minlength: "2", maxlength: "200", autocomplete: "off" })),
      field("Type", h("select", { name: "type", required: true }, options(AGENCY_TYPES, { blank: "Choose a type" }))),
      checkboxes("Provinces", "provinces", PROVINCES.map((p) => [p, p]), "The whole province is in its jurisdiction."),
      field(
        "Municipalities",
        h("input", { name: "municipalities", autocomplete: "off" }),
        "Municipality codes, separated by commas (e.g. JHB, TSH).",
      ),
    ],
    "Create agency",
    async (data, el) => {
      const body = {
        name: String(data.get("name")).trim(),
        type: data.get("type"),
        jurisdiction: {
          provinces: data.getAll("provinces"),
          municipalities: String(data.get("municipalities"))
            .split(/[\s,;]+/)
            .map((m) => m.trim().toUpperCase())
            .filter(Boolean),
          cells: [],
        },
      };
      if (!body.type) throw Object.assign(new Error("Choose the agency's type."), { problem: {} });
      const made = await api.post("/api/agencies", body);
      el.reset();
      await refresh();
      return `Agency ${made.name} created.`;
    },
  );
  async function refresh() {
    const agencies = await ctx.agencies(true);
    list.replaceChildren(
      table(
        "Agencies",
        ["Name", "Type", "Provinces", "Municipalities", "H3 cells"],
        agencies.map((a) => [a.name, labelOf(AGENCY_TYPES, a.type), a.provinces.join(", ") || "—", a.municipalities.join(", ") || "—", String(a.cell_count)]),
        "No agencies yet.",
      ),
    );
  }
  return { nodes: [form, list], refresh };
}

function usersPanel(api, ctx) {
  const list = h("div", { class: "kx-list" });
  const filter = h("select", { name: "agency_filter" });
  const enrolment = h("div", { class: "kx-enrol-slot" });
  const agencySelect = h("select", { name: "agency_id" });
  const form = createForm(
    "New user",
    [
      field("Username", h("input", { name: "username", required: true, autocomplete: "off", minlength: "3", maxlength: "80" }), "3-80 characters: a-z, 0-9, '.', '_' or '-'."),
      field("Display name", h("input", { name: "display_name", autocomplete: "off", maxlength: "200" })),
      checkboxes("Roles", "roles", ROLES),
      field("Agency", agencySelect, "Staff and partner users belong to an agency."),
      field("Clearance", h("select", { name: "clearance" }, options(CLEARANCES.map((c) => [c, nice(c)])))),
      field("Phone", h("input", { name: "phone", type: "tel", autocomplete: "off", maxlength: "20" }), "Required for residents."),
      field("Initial password", h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: "10", maxlength: "200" }), "At least 10 characters; staff need one."),
    ],
    "Create user",
    async (data, el) => {
      const text = (name) => String(data.get(name) || "").trim() || null;
      const body = {
        username: String(data.get("username")).trim().toLowerCase(),
        display_name: text("display_name"),
        roles: data.getAll("roles"),
        agency_id: text("agency_id"),
        clearance: data.get("clearance"),
        phone: text("phone"),
        password: data.get("password") || null,
      };
      if (!body.roles.length) throw Object.assign(new Error("Choose at least one role."), { problem: {} });
      const made = await api.post("/api/users", body);
      el.reset();
      showEnrolment(made);
      await refresh();
      return `User ${made.username} created.`;
    },
  );

  function showEnrolment(made) {
    if (!made.totp_provisioning_uri) {
      enrolment.replaceChildren(h("p", { class: "kx-note", text: `${made.username} signs in without an authenticator (no code to enrol).` }));
      return;
    }
    const close = h("button", { type: "button", class: "kx-secondary", text: "Done — hide the code" });
    close.addEventListener("click", () => enrolment.replaceChildren());
    const picture = made.totp_qr_data_uri
      ? h("img", { class: "kx-qr", src: made.totp_qr_data_uri, alt: `QR code enrolling ${made.username} in an authenticator app`, width: "220", height: "220" })
      : h("p", { class: "kx-note", text: "No QR image from the server: enter the address below in the authenticator app." });
    const uri = h("code", { class: "kx-uri", text: made.totp_provisioning_uri });
    enrolment.replaceChildren(
      h(
        "section",
        { class: "kx-enrol", "aria-labelledby": "adm-enrol-title" },
        h("h3", { id: "adm-enrol-title", text: `Enrol ${made.username}'s authenticator` }),
        h("p", { class: "kx-warning", role: "alert", text: "⚠ This code is shown only once. Have the user scan it now; it cannot be shown again." }),
        picture,
        made.totp_qr_data_uri ? h("details", {}, h("summary", { text: "Cannot scan? Show the enrolment address" }), uri) : uri,
        h("div", { class: "kx-actions" }, close),
      ),
    );
    close.focus();
  }

  async function refresh() {
    const agencies = await ctx.agencies();
    const keep = filter.value;
    filter.replaceChildren(...options(agencies.map((a) => [a.id, a.name]), { blank: "All agencies" }));
    filter.value = keep;
    const keepAgency = agencySelect.value;
    agencySelect.replaceChildren(...options(agencies.map((a) => [a.id, a.name]), { blank: "No agency (residents only)" }));
    agencySelect.value = keepAgency;
    const query = filter.value ? `?${new URLSearchParams({ agency_id: filter.value })}` : "";
    const users = await api.get(`/api/users${query}`);
    list.replaceChildren(
      table(
        "Users",
        ["Username", "Name", "Roles", "Agency", "Clearance", "Active"],
        users.map((u) => [u.username, u.display_name || "—", u.roles.map((r) => labelOf(ROLES, r)).join(", "), u.agency_name || "—", nice(u.clearance), u.is_active ? "Yes" : "No"]),
        "No users.",
      ),
    );
  }
  filter.addEventListener("change", () => refresh().catch((e) => showError(list, e)));
  const filterRow = h("div", { class: "kx-toolbar" }, field("Show users of", filter));
  return { nodes: [enrolment, form, h("div", {}, filterRow, list)], refresh };
}

function unitsPanel(api, ctx) {
  const list = h("div", { class: "kx-list" });
  const filter = h("select", { name: "unit_agency_filter" });
  let shown = [];
  const agencySelect = h("select", { name: "agency_id", required: true });
  const coordinate = (name, min, max) =>
    h("input", { name, type: "number", step: "any", min: String(min), max: String(max), required: true, inputmode: "decimal" });
  const form = createForm(
    "New unit",
    [
      field("Agency", agencySelect),
      field("Call sign", h("input", { name: "callsign", required: true, autocomplete: "off", maxlength: "40" }), "Unique, e.g. HILLBROW-3."),
      field("Kind", h("select", { name: "kind", required: true }, options(UNIT_KINDS, { blank: "Choose a kind" }))),
      field("Latitude", coordinate("lat", -90, 90), "Base position, decimal degrees (e.g. -26.1885)."),
      field("Longitude", coordinate("lon", -180, 180), "Decimal degrees (e.g. 28.0470)."),
    ],
    "Create unit",
    async (data, el) => {
      const number = (name) => {
        const raw = String(data.get(name) || "").trim();
        return raw === "" ? null : Number(raw);
      };
      const body = {
        agency_id: data.get("agency_id") || null,
        callsign: String(data.get("callsign")).trim(),
        kind: data.get("kind") || null,
        lat: number("lat"),
        lon: number("lon"),
      };
      const missing = [
        ["agency_id", "an agency"],
        ["kind", "a kind"],
        ["lat", "a latitude"],
        ["lon", "a longitude"],
      ].filter(([k]) => body[k] === null || Number.isNaN(body[k]));
      if (missing.length) throw Object.assign(new Error(`Give ${missing.map(([, w]) => w).join(", ")}.`), { problem: {} });
      const made = await api.post("/api/panic/units", body);
      el.reset();
      await refresh();
      return `Unit ${made.callsign} created.`;
    },
  );
  async function refresh() {
    const agencies = await ctx.agencies();
    const names = new Map(agencies.map((a) => [a.id, a.name]));
    const keep = agencySelect.value;
    agencySelect.replaceChildren(...options(agencies.map((a) => [a.id, a.name]), { blank: "Choose an agency" }));
    agencySelect.value = keep;
    const keepFilter = filter.value;
    filter.replaceChildren(...options(agencies.map((a) => [a.id, a.name]), { blank: "All agencies" }));
    filter.value = keepFilter;
    shown = await api.get("/api/panic/units");
    draw(names);
  }
  function draw(names) {
    const where = (u) => (u.lat === null || u.lon === null ? "—" : `${u.lat.toFixed(5)}, ${u.lon.toFixed(5)}`);
    const picked = filter.value ? shown.filter((u) => u.agency_id === filter.value) : shown;
    list.replaceChildren(
      table(
        "Units",
        ["Call sign", "Kind", "Agency", "Status", "Municipality", "Position"],
        picked.map((u) => [u.callsign, labelOf(UNIT_KINDS, u.kind), names.get(u.agency_id) || u.agency_id, nice(u.status), u.municipality || "—", where(u)]),
        "No units.",
      ),
    );
  }
  filter.addEventListener("change", async () => draw(new Map((await ctx.agencies()).map((a) => [a.id, a.name]))));
  const filterRow = h("div", { class: "kx-toolbar" }, field("Show units of", filter));
  return { nodes: [form, h("div", {}, filterRow, list)], refresh };
}

const TABS = [
  { key: "agencies", label: "Agencies", permission: "agency.manage", make: agenciesPanel },
  { key: "users", label: "Users", permission: "user.manage", make: usersPanel },
  { key: "units", label: "Units", permission: "unit.manage", make: unitsPanel },
];

export function mountAdmin(container, api, me) {
  const allowed = TABS.filter((t) => (me?.permissions || []).includes(t.permission));
  const root = h("section", { class: "kx-view kx-admin", "aria-labelledby": "adm-title" }, h("h2", { id: "adm-title", text: "Administration" }));
  container.replaceChildren(root);
  if (!allowed.length) {
    root.append(h("p", { class: "kx-note", text: "Your roles do not include any administration." }));
    return { unmount: () => root.remove() };
  }

  let cached = null;
  const ctx = {
    /** The agencies (for lists and choosers), fetched once unless `fresh`. */
    async agencies(fresh = false) {
      if (fresh || !cached) cached = api.get("/api/agencies").catch((e) => { cached = null; throw e; });
      const list = await cached;
      return [...list].sort((a, b) => a.name.localeCompare(b.name));
    },
  };

  const tablist = h("div", { class: "kx-tabs", role: "tablist", "aria-label": "Administration" });
  const panels = new Map();
  const tabs = allowed.map((t) => {
    const tab = h("button", { type: "button", role: "tab", id: `adm-tab-${t.key}`, "aria-controls": `adm-panel-${t.key}`, "aria-selected": "false", tabindex: "-1", text: t.label });
    const panel = h("div", { role: "tabpanel", id: `adm-panel-${t.key}`, "aria-labelledby": tab.id, class: "kx-panel", hidden: true, tabindex: "0" });
    panels.set(t.key, { tab, panel, spec: t, built: null });
    tab.addEventListener("click", () => select(t.key));
    return tab;
  });
  tablist.append(...tabs);
  tablist.addEventListener("keydown", (event) => {
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    tab.click();
  });
  root.append(tablist, ...[...panels.values()].map((p) => p.panel));

  function select(key) {
    for (const [k, p] of panels) {
      const on = k === key;
      p.tab.setAttribute("aria-selected", String(on));
      p.tab.tabIndex = on ? 0 : -1;
      p.panel.hidden = !on;
    }
    const p = panels.get(key);
    if (!p.built) {
      p.built = p.spec.make(api, ctx);
      p.panel.replaceChildren(h("div", { class: "kx-admin-grid" }, p.built.nodes));
    }
    const loadError = h("p", { class: "kx-error", role: "alert" });
    p.panel.querySelector(":scope > .kx-error")?.remove();
    p.built.refresh().catch((error) => {
      showError(loadError, error);
      p.panel.prepend(loadError);
    });
  }
  select(allowed[0].key);

  return {
    unmount() {
      root.remove();
    },
  };
}
