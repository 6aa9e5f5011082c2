// The Community alerts tab: the composer (headline, text, severity, urgency, the area as
// resolution-7 H3 cells clicked on the map — what the API stores and the CAP feed carries)
// for operators and officials, and the alerts sent, with Cancel and their CAP messages. The
// public CAP feed needs no sign-in: it is a plain link.
import { h } from "../shared/dom.js";
import { PartnerMap } from "./partners-map.js";
import { button, fill, plural, problemLine, stamp, table, words } from "./soc-util.js";

const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor"];
const URGENCIES = ["Immediate", "Expected", "Future"];
const CATEGORIES = ["Safety", "Security", "Rescue", "Fire", "Health", "Env"];
export const CAP_FEED = "/api/partners/community-alerts.cap";

function options(values, chosen) {
  return values.map((v) => h("option", { value: v, text: v, selected: v === chosen }));
}

export function communityBoard(panel, ctx) {
  const { api } = ctx;
  let map = null;
  const listBody = h("tbody");
  const listProblem = problemLine();
  const feedLink = h("a", { href: CAP_FEED, target: "_blank", rel: "noopener", text: "CAP feed (public, Atom)" });
  const showAll = h("input", { type: "checkbox", onchange: () => reload() });
  const sent = h(
    "section",
    { class: "pt-list", "aria-label": "Community alerts sent" },
    h("div", { class: "pt-bar" }, h("h3", { text: "Community alerts" }), feedLink, h("label", { class: "pt-check" }, showAll, "Include cancelled and expired")),
    table("Community alerts", ["Severity", "Headline", "Area", "Status", "Sent", "Expires", ""], listBody),
    listProblem.node,
  );

  const composer = ctx.canBroadcast ? buildComposer() : null;
  panel.append(h("div", { class: composer ? "pt-split pt-split-wide" : "pt-single" }, sent, composer ? composer.node : null));
  ctx.onUnmount(() => map && map.destroy());

  function buildComposer() {
    const problem = problemLine();
    const headline = h("input", { type: "text", name: "headline", required: true, minlength: "5", maxlength: "160" });
    const description = h("textarea", { name: "description", rows: "3", required: true, minlength: "5", maxlength: "5000" });
    const instruction = h("input", { type: "text", name: "instruction", maxlength: "1000" });
    const areaDesc = h("input", { type: "text", name: "area_desc", required: true, minlength: "2", maxlength: "300" });
    const severity = h("select", { name: "severity" }, options(SEVERITIES, "Moderate"));
    const urgency = h("select", { name: "urgency" }, options(URGENCIES, "Expected"));
    const category = h("select", { name: "category" }, options(CATEGORIES, "Safety"));
    const hours = h("input", { type: "number", name: "valid_hours", min: "0.25", max: "336", step: "0.25", value: "24" });
    const municipality = h("input", { type: "text", name: "municipality", maxlength: "16", size: "6" });
    const province = h("input", { type: "text", name: "province", maxlength: "8", size: "4", value: "GP" });
    const picked = h("p", { class: "pt-picked", role: "status", text: "No cells chosen: click the map to add H3 cells (about 5 km² each)." });
    const mapBox = h("div", { class: "pt-map pt-map-composer", "aria-label": "Alert area map" });
    let cells = [];
    const clear = button("Clear area", () => map && map.clearPicked());
    const form = h(
      "form",
      { class: "pt-form pt-composer", "aria-label": "Compose a community alert" },
      h("label", { class: "pt-wide" }, "Headline", headline),
      h("label", { class: "pt-wide" }, "Text", description),
      h("label", { class: "pt-wide" }, "Instruction", instruction),
      h("label", {}, "Severity", severity),
      h("label", {}, "Urgency", urgency),
      h("label", {}, "Category", category),
      h("label", {}, "Valid for (hours)", hours),
      h("label", { class: "pt-wide" }, "Area in words", areaDesc),
      h("label", {}, "Municipality", municipality),
      h("label", {}, "Province", province),
      h("div", { class: "pt-wide" }, mapBox, h("div", { class: "pt-bar" }, picked, clear)),
      h("div", { class: "pt-wide pt-bar" }, h("button", { type: "submit", class: "primary", text: "Send alert" })),
      problem.node,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.clear();
      const body = {
        headline: headline.value.trim(),
        description: description.value.trim(),
        area_desc: areaDesc.value.trim(),
        severity: severity.value,
        urgency: urgency.value,
        category: category.value,
        valid_hours: Number(hours.value),
        cells,
      };
      if (instruction.value.trim()) body.instruction = instruction.value.trim();
      if (municipality.value.trim()) body.municipality = municipality.value.trim();
      if (province.value.trim()) body.province = province.value.trim();
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const issued = await api.post("/api/partners/community-alerts", body);
        ctx.announce("Alert published; texts and push messages are going out.");
        problem.node.textContent = "";
        status.textContent = `Published “${issued.headline}”: texts and push messages are going out to everyone following the area.`;
        form.reset();
        if (map) map.clearPicked();
        await reload();
      } catch (error) {
        problem.show(error);
      } finally {
        submit.disabled = false;
      }
    });
    const status = h("p", { class: "pt-sent", role: "status" });
    const node = h("section", { class: "pt-detail", "aria-label": "Composer" }, h("h3", { text: "New community alert" }), form, status);
    return {
      node,
      start() {
        if (map) return;
        map = new PartnerMap(mapBox, api);
        map.ready.then(() =>
          map.pickCells((chosen, municipalities) => {
            cells = chosen;
            picked.textContent = chosen.length ? `${plural(chosen.length, "cell")} chosen${municipalities.length ? ` in ${municipalities.join(", ")}` : ""}` : "No cells chosen: click the map to add H3 cells (about 5 km² each).";
            if (municipalities.length === 1) municipality.value = municipalities[0];
            else if (!chosen.length) municipality.value = "";
          }),
        );
        const hooks = (window.khusela = window.khusela || {});
        hooks.partnersComposerMap = map;
        ctx.onUnmount(() => delete hooks.partnersComposerMap);
      },
    };
  }

  async function reload() {
    try {
      const alerts = await api.get(`/api/partners/community-alerts${showAll.checked ? "?include_expired=true" : ""}`);
      if (ctx.gone()) return;
      listProblem.clear();
      fill(
        listBody,
        alerts.length
          ? alerts.map((a) => {
              const cancel =
                ctx.canBroadcast && a.status === "active"
                  ? button("Cancel", async () => {
                      listProblem.clear();
                      try {
                        await api.post(`/api/partners/community-alerts/${encodeURIComponent(a.id)}/cancel`);
                        ctx.announce(`Cancelled: ${a.headline}`);
                        await reload();
                      } catch (error) {
                        listProblem.show(error);
                      }
                    })
                  : null;
              return h(
                "tr",
                { class: `pt-alert st-${a.status}` },
                h("td", {}, h("span", { class: `pt-sev sev-${a.severity.toLowerCase()}`, text: a.severity })),
                h("th", { scope: "row" }, h("div", { text: a.headline }), h("div", { class: "muted", text: a.description })),
                h("td", { text: `${a.area_desc}${a.cells.length ? ` · ${plural(a.cells.length, "cell")}` : ""}` }),
                h("td", { text: words(a.status) }),
                h("td", { text: stamp(a.sent_at) }),
                h("td", { text: stamp(a.expires_at) }),
                h("td", {}, h("a", { href: `/api/partners/community-alerts/${encodeURIComponent(a.id)}.cap`, target: "_blank", rel: "noopener", text: "CAP" }), cancel),
              );
            })
          : [h("tr", {}, h("td", { colspan: "7", class: "muted", text: "No community alerts in force." }))],
      );
    } catch (error) {
      listProblem.show(error);
    }
  }

  return {
    reload,
    shown() {
      if (composer) composer.start();
    },
  };
}
