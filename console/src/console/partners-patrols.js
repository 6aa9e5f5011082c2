// The Patrol reports tab: community groups' patrol reports the user may see; one opened shows
// its route on the map, the observations and the POPIA screening flags — the kinds of
// personal information (ID or phone numbers of other people) its submitter confirmed were
// needed after the screening flagged them. Photos download with the user's token.
// Members of a CPF or neighbourhood watch file a new report: the route clicked on the map, the
// patrol's times, observations and photos. The observations go through the same screening the
// API applies before anything is stored, and the form shows what it flagged (masked) and
// submits only once the member has edited it out or ticked that it is needed.
import { ProblemError } from "../shared/api.js";
import { h } from "../shared/dom.js";
import { PartnerMap } from "./partners-map.js";
import { formProblem, isoOf, localInput } from "./partners-operations.js";
import { button, facts, fill, plural, problemLine, stamp, table, words } from "./soc-util.js";

const REPORTING_GROUPS = new Set(["cpf", "neighbourhood_watch"]);
const PHOTO_TYPES = "image/jpeg,image/png,image/webp";
const NO_ROUTE = "No route yet: click the map along the way the patrol went.";

const FLAG_TEXT = { id_number: "ID number", phone_number: "Phone number" };

export function flagText(flags) {
  return flags.length ? flags.map((f) => FLAG_TEXT[f] || words(f)).join(", ") : "none";
}

/** A Python string index (code points, as the screening counts) as a JavaScript one (UTF-16). */
export function utf16Index(text, codePoints) {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) i += text.codePointAt(i) > 0xffff ? 2 : 1;
  return i;
}

/** Clicked points ([lat, lon]) as the GeoJSON route the API takes ([lon, lat]). */
export function routeOf(points) {
  const coordinates = points.map(([lat, lon]) => [lon, lat]);
  return coordinates.length === 1 ? { type: "Point", coordinates: coordinates[0] } : { type: "LineString", coordinates };
}

/** A photo posted as the raw body, the way the API stores files (write-once, by SHA-256). */
async function uploadPhoto(api, reportId, file) {
  const response = await fetch(`/api/partners/patrols/${encodeURIComponent(reportId)}/photos`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.token}`, "content-type": file.type || "application/octet-stream" },
    body: file,
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new ProblemError(response.status, payload);
  return payload;
}

export function patrolBoard(panel, ctx) {
  const { api } = ctx;
  const canReport = ctx.canWrite && Boolean(ctx.me.agency) && REPORTING_GROUPS.has(ctx.me.agency.type);
  let map = null;
  let openId = null;
  let composer = null;
  let agencies = new Map();
  const body = h("tbody");
  const problem = problemLine();
  const mapBox = h("div", { class: "pt-map pt-map-route", role: "img", "aria-label": "Patrol route" });
  const info = h("div", { class: "pt-patrol-info" });
  const viewer = h("div", {}, h("h3", { text: "Patrol report", tabindex: "-1" }), info, mapBox);
  const detail = h("section", { class: "pt-detail", "aria-label": "Patrol report", hidden: true }, viewer);
  const newButton = canReport ? button("New patrol report", () => showComposer(), "primary small") : null;
  panel.append(
    h(
      "div",
      { class: "pt-split" },
      h("div", { class: "pt-list" }, h("div", { class: "pt-bar" }, h("h3", { text: "Patrol reports" }), newButton), table("Patrol reports", ["Patrol", "Group", "Where", "POPIA flags", "Photos"], body), problem.node),
      detail,
    ),
  );
  ctx.onUnmount(() => {
    if (map) map.destroy();
    closeComposer();
  });

  function closeComposer() {
    if (composer) composer.destroy();
    composer = null;
    viewer.hidden = false;
  }

  function showComposer() {
    closeComposer();
    openId = null;
    for (const row of body.querySelectorAll("tr[data-id]")) row.setAttribute("aria-selected", "false");
    composer = patrolForm(ctx, {
      async filed(report, note) {
        closeComposer();
        ctx.announce(note || "Patrol report filed.");
        await reload();
        open(report);
        if (note) info.prepend(h("p", { class: "soc-problem", role: "alert", text: note }));
      },
      cancelled() {
        closeComposer();
        detail.hidden = true;
        newButton.focus();
      },
    });
    viewer.hidden = true;
    detail.setAttribute("aria-label", "New patrol report");
    detail.append(composer.node);
    detail.hidden = false;
    composer.start();
    composer.node.querySelector("input").focus();
  }

  async function reload() {
    try {
      const reports = await api.get("/api/partners/patrols");
      if (ctx.gone()) return;
      problem.clear();
      if (!agencies.size && reports.length) agencies = await agencyNames();
      fill(
        body,
        reports.length
          ? reports.map((r) => {
              const row = h(
                "tr",
                { tabindex: "0", class: r.flags.length ? "pt-flagged" : null, "aria-selected": String(r.id === openId), onclick: () => open(r) },
                h("th", { scope: "row", text: `${stamp(r.started_at)} → ${stamp(r.ended_at)}` }),
                h("td", { text: agencies.get(r.agency_id) || (ctx.me.agency && ctx.me.agency.id === r.agency_id ? ctx.me.agency.name : "community group") }),
                h("td", { text: [r.municipality, r.cell].filter(Boolean).join(" · ") || "—" }),
                h("td", {}, r.flags.length ? h("span", { class: "pt-flag", text: flagText(r.flags) }) : h("span", { class: "muted", text: "none" })),
                h("td", { class: "soc-num", text: String(r.photos.length) }),
              );
              row.dataset.id = r.id;
              row.addEventListener("keydown", (e) => e.key === "Enter" && open(r));
              return row;
            })
          : [h("tr", {}, h("td", { colspan: "5", class: "muted", text: "No patrol reports you may see." }))],
      );
    } catch (error) {
      problem.show(error);
    }
  }

  /** Agency names, where the user may list agencies (community partners may not: their own). */
  async function agencyNames() {
    if (!ctx.me.permissions.includes("agency.read")) return new Map();
    try {
      return new Map((await api.get("/api/agencies")).map((a) => [a.id, a.name]));
    } catch {
      return new Map();
    }
  }

  function open(r) {
    closeComposer();
    detail.setAttribute("aria-label", "Patrol report");
    openId = r.id;
    for (const row of body.querySelectorAll("tr[data-id]")) row.setAttribute("aria-selected", String(row.dataset.id === r.id));
    const photos = r.photos.map((p, i) =>
      h(
        "li",
        {},
        button(`Photo ${i + 1} (${Math.round(p.size / 1024)} KiB)`, () =>
          api.download(`/api/partners/patrols/${encodeURIComponent(r.id)}/photos/${p.sha256}`, `patrol-${r.id.slice(0, 8)}-${i + 1}`).catch((e) => ctx.announce(e.message)),
        ),
      ),
    );
    fill(
      info,
      facts([
        ["Patrol", `${stamp(r.started_at)} → ${stamp(r.ended_at)}`],
        ["Where", [r.municipality, r.province].filter(Boolean).join(", ")],
        ["Filed", stamp(r.created_at)],
      ]),
      h(
        "p",
        { class: r.flags.length ? "pt-popia pt-popia-flagged" : "pt-popia", "aria-label": "POPIA screening" },
        r.flags.length
          ? `POPIA screening: the submitter confirmed personal information is needed — ${flagText(r.flags)}.`
          : "POPIA screening: no ID or phone numbers of other people.",
      ),
      h("h4", { text: "Observations" }),
      h("p", { class: "pt-pre", text: r.observations }),
      r.photos.length ? h("h4", { text: plural(r.photos.length, "photo") }) : null,
      r.photos.length ? h("ul", { class: "pt-photos" }, photos) : null,
    );
    detail.hidden = false;
    if (!map) map = new PartnerMap(mapBox, api);
    map.ready.then(() => map.showRoute(r.route));
    detail.querySelector("h3").focus();
  }

  return { reload };
}

/**
 * The "New patrol report" form. Submitting first screens the observations
 * (POST /api/partners/patrols/screen); what it flags is listed, masked, and the report is sent
 * only when the text screens clean or the member ticked that the flagged details are needed
 * (`confirm_personal_information`). Editing the text clears that tick: the new text is
 * screened again. Photos are uploaded one by one once the report exists.
 * `on.filed(report, note)` runs after it is stored (`note` says which photos failed, if any).
 */
function patrolForm(ctx, on) {
  const { api } = ctx;
  const problem = formProblem();
  const now = new Date();
  now.setSeconds(0, 0);
  const started = h("input", { type: "datetime-local", name: "started_at", required: true, value: localInput(new Date(now.getTime() - 2 * 3600e3)) });
  const ended = h("input", { type: "datetime-local", name: "ended_at", required: true, value: localInput(now) });
  const observations = h("textarea", { name: "observations", rows: "5", required: true, maxlength: "20000" });
  const photos = h("input", { type: "file", name: "photos", multiple: true, accept: PHOTO_TYPES });
  const mapBox = h("div", { class: "pt-map pt-map-draw", "aria-label": "Patrol route map" });
  const routeText = h("p", { class: "pt-picked", role: "status", text: NO_ROUTE });
  const findingsList = h("ul", { class: "pt-findings", "aria-label": "Flagged personal information" });
  const confirm = h("input", { type: "checkbox", name: "confirm_personal_information" });
  const screeningNote = h("p", { role: "alert" });
  const screeningBox = h(
    "section",
    { class: "pt-screening", "aria-label": "POPIA screening", tabindex: "-1", hidden: true },
    screeningNote,
    findingsList,
    h("label", { class: "pt-check" }, confirm, "These details are needed in the report (I confirm)"),
  );
  let map = null;
  let points = [];
  let screened = null; // {text, findings} of the last screening

  const form = h(
    "form",
    { class: "pt-form", "aria-label": "New patrol report" },
    h("label", {}, "Patrol started", started),
    h("label", {}, "Patrol ended", ended),
    h(
      "fieldset",
      { class: "pt-wide pt-fieldset" },
      h("legend", { text: "Route" }),
      mapBox,
      h("div", { class: "pt-bar" }, routeText, button("Undo last point", () => map && map.undoPoint()), button("Clear route", () => map && map.clearPath())),
    ),
    h("label", { class: "pt-wide" }, "Observations", observations),
    h("label", { class: "pt-wide" }, "Photos (JPEG, PNG or WebP; up to 10 MiB each)", photos),
    h("div", { class: "pt-wide" }, screeningBox),
    h("div", { class: "pt-wide pt-bar" }, h("button", { type: "submit", class: "primary", text: "Check and submit" }), button("Cancel", () => on.cancelled())),
    problem.node,
  );

  observations.addEventListener("input", () => {
    if (!screened || screened.text === observations.value) return;
    confirm.checked = false;
    screeningNote.textContent = "The text changed: it is screened again when you submit.";
  });

  function showFindings(findings) {
    screeningBox.hidden = !findings.length;
    confirm.checked = false;
    if (!findings.length) return;
    screeningNote.textContent =
      "The screening found personal information of other people. POPIA asks us to keep it only when it is needed: edit it out of the observations, or tick below that it is needed, then submit again.";
    const text = observations.value;
    fill(
      findingsList,
      findings.map((f) =>
        h(
          "li",
          {},
          h("span", { class: "pt-flag", text: f.kind === "id_number" ? "ID number" : "Phone number" }),
          h("span", { class: "pt-masked", text: f.masked }),
          button("Select it in the text", () => {
            observations.focus();
            observations.setSelectionRange(utf16Index(text, f.start), utf16Index(text, f.end));
          }),
        ),
      ),
    );
    screeningBox.focus();
  }

  /** Whether the text may go: screened clean, or its flags confirmed. Screens it if it changed. */
  async function cleared() {
    const text = observations.value;
    if (!screened || screened.text !== text) {
      screened = { text, findings: await api.post("/api/partners/patrols/screen", { text }) };
      showFindings(screened.findings);
      return !screened.findings.length;
    }
    if (screened.findings.length && !confirm.checked) {
      problem.show(new Error("Edit the flagged details out of the observations, or tick that they are needed."));
      return false;
    }
    return true;
  }

  async function submitReport() {
    if (!points.length) {
      problem.show(new Error("Mark the route: click the map where the patrol went."));
      return;
    }
    if (!(await cleared())) return;
    let report = await api.post("/api/partners/patrols", {
      started_at: isoOf(started.value),
      ended_at: isoOf(ended.value),
      route: routeOf(points),
      observations: observations.value,
      confirm_personal_information: screened.findings.length > 0 && confirm.checked,
    });
    const refused = [];
    for (const file of photos.files) {
      try {
        report = await uploadPhoto(api, report.id, file);
      } catch (error) {
        refused.push(`${file.name}: ${error.message}`);
      }
    }
    on.filed(report, refused.length ? `The report was filed, but ${plural(refused.length, "photo was", "photos were")} refused — ${refused.join("; ")}` : null);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.clear();
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await submitReport();
    } catch (error) {
      problem.show(error);
    } finally {
      submit.disabled = false;
    }
  });

  const node = h("div", {}, h("h3", { text: "New patrol report", tabindex: "-1" }), form);
  return {
    node,
    start() {
      map = new PartnerMap(mapBox, api);
      map.drawPath("line", (chosen) => {
        points = chosen;
        routeText.textContent = chosen.length ? `Route of ${plural(chosen.length, "point")}` : NO_ROUTE;
      });
      const hooks = (window.khusela = window.khusela || {});
      hooks.partnersPatrolMap = map;
    },
    destroy() {
      if (map) map.destroy();
      map = null;
      node.remove();
      const hooks = window.khusela || {};
      delete hooks.partnersPatrolMap;
    },
  };
}
