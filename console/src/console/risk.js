// The Risk panel (#/risk): the map of register entries, hotspots, the forecast and mine sites;
// the locality risk register with its edit form and change history; and the 5x5 matrix
// roll-ups per municipality, district or province, exportable as CSV.
// Everything shown is what the server let this user read. The edit controls appear only on
// entries (and localities) the server marks `editable` — the official's own municipality —
// and the server refuses any other edit whatever the page sends.
import "./risk.css";
import { h } from "../shared/dom.js";
import { LEVEL_COLOURS, RiskMap } from "./risk-map.js";

const CATEGORIES = {
  illegal_mining: "Illegal mining",
  drug_trafficking: "Drug trafficking",
  violent_crime: "Violent crime",
  extortion: "Extortion",
  bylaw_non_enforcement: "By-law non-enforcement",
  gang_activity: "Gang activity",
  infrastructure_theft: "Infrastructure and cable theft",
  gender_based_violence: "Gender-based violence",
  unrest: "Unrest",
  migration_pressure: "Migration pressure",
  other: "Other",
};
const STATUSES = { open: "Open", mitigating: "Mitigating", accepted: "Accepted", closed: "Closed" };
const ACTION_STATUSES = { planned: "Planned", in_progress: "In progress", done: "Done" };
const DEFAULT_MAP = { tile_url: null, center: [-26.1, 28.05], zoom: 9, max_zoom: 18 };
const hooks = (window.khusela = window.khusela || {});

function options(map, selected) {
  return Object.entries(map).map(([value, text]) => h("option", { value, text, selected: value === selected }));
}

function levelBadge(level) {
  return h("span", { class: `risk-level lv-${level}`, text: level });
}

function describeChange(field, [before, after]) {
  const show = (v) => (v === null || v === undefined || v === "" ? "—" : Array.isArray(v) ? `${v.length} action(s)` : String(v));
  return `${field.replace("_", " ")}: ${show(before)} → ${show(after)}`;
}

/**
 * Mount the Risk panel in `container`.
 * @returns {{unmount(): void}}
 */
export function mountRisk(container, api) {
  let unmounted = false;
  let entries = [];
  let places = [];
  let riskMap = null;

  const status = h("p", { class: "muted risk-status", role: "status" });
  const list = h("tbody");
  const newButton = h("button", { type: "button", class: "primary", text: "New entry", hidden: true });
  const editor = h("section", { class: "risk-editor", "aria-label": "Edit risk", hidden: true });
  const historyBox = h("section", { class: "risk-history", "aria-label": "Change history", hidden: true });
  const levelSelect = h(
    "select",
    { "aria-label": "Roll-up level" },
    options({ municipality: "Per municipality", district: "Per district", province: "Per province" }, "municipality"),
  );
  const csvButton = h("button", { type: "button", class: "secondary", text: "Export CSV" });
  const matrices = h("div", { class: "risk-matrices" });
  const mapBox = h("div", { class: "risk-map", "aria-label": "Risk map" });

  container.append(
    h(
      "div",
      { class: "risk" },
      h("div", { class: "risk-toolbar" }, h("h2", { text: "Risk" }), status, newButton),
      h(
        "div",
        { class: "risk-grid" },
        mapBox,
        h(
          "section",
          { class: "risk-register", "aria-label": "Risk register" },
          h("h3", { text: "Risk register" }),
          h(
            "table",
            { class: "risk-table" },
            h(
              "thead",
              {},
              h("tr", {}, ["Level", "Risk", "Locality", "L×I", "Status", "Review", ""].map((t) => h("th", { scope: "col", text: t }))),
            ),
            list,
          ),
          editor,
          historyBox,
        ),
        h(
          "section",
          { class: "risk-rollups", "aria-label": "Risk matrix" },
          h("div", { class: "risk-rollup-bar" }, h("h3", { text: "Risk matrix" }), levelSelect, csvButton),
          matrices,
        ),
      ),
    ),
  );

  function say(text) {
    status.textContent = text;
  }

  // --- register -------------------------------------------------------------------------
  async function loadRegister() {
    entries = await api.get("/api/risk/register");
    if (unmounted) return;
    list.replaceChildren(
      ...entries.map((entry) =>
        h(
          "tr",
          { "data-id": entry.id },
          h("td", {}, levelBadge(entry.level)),
          h("th", { scope: "row" }, h("div", { text: entry.title }), h("div", { class: "muted small", text: CATEGORIES[entry.category] })),
          h("td", { text: entry.locality_name }),
          h("td", { text: `${entry.likelihood}×${entry.impact} = ${entry.score}` }),
          h("td", { text: STATUSES[entry.status] || entry.status }),
          h("td", { class: entry.review_overdue ? "warn" : "", text: entry.review_date || "—" }),
          h(
            "td",
            { class: "risk-actions" },
            h("button", { type: "button", class: "ghost", text: "History", "aria-label": `History of ${entry.title}`, onclick: () => showHistory(entry) }),
            entry.editable
              ? h("button", { type: "button", class: "secondary", text: "Edit", "aria-label": `Edit ${entry.title}`, onclick: () => openEditor(entry) })
              : null,
          ),
        ),
      ),
    );
    if (!entries.length) list.append(h("tr", {}, h("td", { colspan: 7, class: "muted", text: "No open risks you may see." })));
    if (riskMap) riskMap.showEntries(entries);
  }

  async function showHistory(entry) {
    const versions = await api.get(`/api/risk/register/${encodeURIComponent(entry.id)}/history`);
    historyBox.replaceChildren(
      h("h4", { text: `History: ${entry.title}` }),
      h(
        "ol",
        { class: "risk-versions" },
        versions.map((v) =>
          h(
            "li",
            {},
            h("strong", { text: `v${v.version} ${v.action} by ${v.by}` }),
            h("span", { class: "muted", text: ` ${new Date(v.at).toLocaleString("en-ZA")}` }),
            v.action === "created" ? null : h("ul", {}, Object.entries(v.changes).map(([k, c]) => h("li", { text: describeChange(k, c) }))),
          ),
        ),
      ),
      h("button", { type: "button", class: "ghost", text: "Close history", onclick: () => (historyBox.hidden = true) }),
    );
    historyBox.hidden = false;
    historyBox.scrollIntoView({ block: "nearest" });
  }

  function mitigationRow(m = { action: "", due: null, status: "planned" }) {
    return h(
      "li",
      { class: "risk-mitigation" },
      h("input", { type: "text", "aria-label": "Mitigation action", value: m.action, maxlength: 500, required: true }),
      h("input", { type: "date", "aria-label": "Due date", value: m.due || "" }),
      h("select", { "aria-label": "Action status" }, options(ACTION_STATUSES, m.status)),
    );
  }

  function openEditor(entry) {
    const editable = places.filter((p) => p.editable);
    const field = (label, control) => h("label", {}, h("span", { text: label }), control);
    const locality = h("select", {}, editable.map((p) => h("option", { value: p.code, text: p.name, selected: entry && p.code === entry.locality_code })));
    const category = h("select", {}, options(CATEGORIES, entry ? entry.category : "other"));
    const title = h("input", { type: "text", value: entry ? entry.title : "", maxlength: 200, required: true });
    const description = h("textarea", { rows: 3, maxlength: 4000, required: true });
    description.value = entry ? entry.description : "";
    const scale = (value) => options({ 1: "1", 2: "2", 3: "3", 4: "4", 5: "5" }, String(value));
    const likelihood = h("select", {}, scale(entry ? entry.likelihood : 3));
    const impact = h("select", {}, scale(entry ? entry.impact : 3));
    const owner = h("input", { type: "text", value: entry ? entry.owner : "", maxlength: 200, required: true, placeholder: "An office, e.g. JMPD By-law Enforcement" });
    const state = h("select", {}, options(STATUSES, entry ? entry.status : "open"));
    const review = h("input", { type: "date", value: entry && entry.review_date ? entry.review_date : "" });
    const actions = h("ol", { class: "risk-mitigations" }, (entry ? entry.mitigations : []).map((m) => mitigationRow(m)));
    const problem = h("p", { class: "risk-problem", role: "alert" });
    const form = h(
      "form",
      { class: "risk-form" },
      h("h4", { text: entry ? `Edit: ${entry.title}` : "New risk" }),
      field("Locality", locality),
      field("Category", category),
      field("Title", title),
      field("Description", description),
      field("Likelihood (1-5)", likelihood),
      field("Impact (1-5)", impact),
      field("Owner", owner),
      field("Status", state),
      field("Review date", review),
      h("fieldset", {}, h("legend", { text: "Mitigation actions" }), actions, h("button", { type: "button", class: "ghost", text: "Add action", onclick: () => actions.append(mitigationRow()) })),
      problem,
      h("div", { class: "risk-form-buttons" }, h("button", { type: "submit", class: "primary", text: "Save" }), h("button", { type: "button", class: "ghost", text: "Cancel", onclick: () => (editor.hidden = true) })),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {
        locality_code: locality.value,
        category: category.value,
        title: title.value,
        description: description.value,
        likelihood: Number(likelihood.value),
        impact: Number(impact.value),
        owner: owner.value,
        status: state.value,
        review_date: review.value || null,
        mitigations: [...actions.querySelectorAll(".risk-mitigation")]
          .map((li) => {
            const [text, due, st] = li.querySelectorAll("input, select");
            return { action: text.value.trim(), due: due.value || null, status: st.value };
          })
          .filter((m) => m.action),
      };
      try {
        const saved = entry
          ? await api.request("PATCH", `/api/risk/register/${encodeURIComponent(entry.id)}`, { ...body, version: entry.version })
          : await api.post("/api/risk/register", body);
        editor.hidden = true;
        say(`Saved "${saved.title}" (version ${saved.version}, ${saved.level}).`);
        await Promise.all([loadRegister(), loadMatrix()]);
        const fresh = entries.find((e) => e.id === saved.id);
        if (fresh) await showHistory(fresh);
      } catch (error) {
        problem.textContent = error.message;
      }
    });
    editor.replaceChildren(form);
    editor.hidden = false;
    title.focus();
  }

  newButton.addEventListener("click", () => openEditor(null));

  // --- matrix ---------------------------------------------------------------------------
  function matrixTable(m) {
    const rows = [];
    for (let li = 5; li >= 1; li -= 1) {
      rows.push(
        h(
          "tr",
          {},
          h("th", { scope: "row", text: String(li) }),
          [1, 2, 3, 4, 5].map((im) => {
            const n = m.cells[li - 1][im - 1];
            const score = li * im;
            const level = score <= 4 ? "low" : score <= 9 ? "medium" : score <= 16 ? "high" : "extreme";
            return h("td", { class: `lv-${level}${n ? " has" : ""}`, "data-li": li, "data-im": im, title: `likelihood ${li} × impact ${im}`, text: n ? String(n) : "" });
          }),
        ),
      );
    }
    return h(
      "figure",
      { class: "risk-matrix", "data-code": m.code },
      h("figcaption", {}, h("strong", { text: m.name }), h("span", { class: "muted", text: ` ${m.total} open` })),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", { text: "L \\ I" }), [1, 2, 3, 4, 5].map((i) => h("th", { scope: "col", text: String(i) })))),
        h("tbody", {}, rows),
      ),
    );
  }

  async function loadMatrix() {
    const found = await api.get(`/api/risk/matrix?level=${encodeURIComponent(levelSelect.value)}`);
    if (unmounted) return;
    matrices.replaceChildren(...found.map(matrixTable));
    if (!found.length) matrices.append(h("p", { class: "muted", text: "No open risks to roll up." }));
  }

  levelSelect.addEventListener("change", () => loadMatrix());
  csvButton.addEventListener("click", async () => {
    const text = await api.get(`/api/risk/matrix.csv?level=${encodeURIComponent(levelSelect.value)}`);
    const link = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `risk-matrix-${levelSelect.value}.csv` });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });

  // --- start ----------------------------------------------------------------------------
  async function start() {
    let config = {};
    try {
      config = (await api.get("/api/console/config")).map || {};
    } catch {
      config = {};
    }
    if (unmounted) return;
    riskMap = new RiskMap(mapBox, api, { ...DEFAULT_MAP, ...config });
    places = await api.get("/api/risk/localities");
    newButton.hidden = !places.some((p) => p.editable);
    await Promise.all([loadRegister(), loadMatrix(), riskMap.loadBase()]);
    const layers = await Promise.allSettled([riskMap.loadHotspots(), riskMap.loadForecast(), riskMap.loadMines()]);
    const failed = layers.filter((r) => r.status === "rejected").length;
    say(failed ? `${failed} map layer(s) could not be loaded.` : `${entries.length} open risks.`);
    hooks.riskReady = true;
  }

  hooks.riskLayers = () => (riskMap ? { ...riskMap.counts } : null);
  hooks.riskLevelColours = LEVEL_COLOURS;
  start().catch((error) => say(error.message));

  return {
    unmount() {
      unmounted = true;
      delete hooks.riskLayers;
      delete hooks.riskReady;
      if (riskMap) riskMap.destroy();
    },
  };
}
