// The Patrol reports tab: community groups' patrol reports the user may see; one opened shows
// its route on the map, the observations and the POPIA screening flags — the kinds of
// personal information (ID or phone numbers of other people) its submitter confirmed were
// needed after the screening flagged them. Photos download with the user's token.
import { h } from "../shared/dom.js";
import { PartnerMap } from "./partners-map.js";
import { button, facts, fill, plural, problemLine, stamp, table, words } from "./soc-util.js";

const FLAG_TEXT = { id_number: "ID number", phone_number: "Phone number" };

export function flagText(flags) {
  return flags.length ? flags.map((f) => FLAG_TEXT[f] || words(f)).join(", ") : "none";
}

export function patrolBoard(panel, ctx) {
  const { api } = ctx;
  let map = null;
  let openId = null;
  let agencies = new Map();
  const body = h("tbody");
  const problem = problemLine();
  const mapBox = h("div", { class: "pt-map pt-map-route", role: "img", "aria-label": "Patrol route" });
  const info = h("div", { class: "pt-patrol-info" });
  const detail = h("section", { class: "pt-detail", "aria-label": "Patrol report", hidden: true }, h("h3", { text: "Patrol report", tabindex: "-1" }), info, mapBox);
  panel.append(
    h(
      "div",
      { class: "pt-split" },
      h("div", { class: "pt-list" }, h("h3", { text: "Patrol reports" }), table("Patrol reports", ["Patrol", "Group", "Where", "POPIA flags", "Photos"], body), problem.node),
      detail,
    ),
  );
  ctx.onUnmount(() => map && map.destroy());

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
