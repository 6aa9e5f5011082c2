// Items tab: the list of what the caller may see, full-text search, and one item between its
// marking banners with its grading, locality, handling and sanitised notice; a share dialog
// that insists on a reason. An item the API says is not found is shown as "Not found" and
// nothing of the address (its id) is ever put on the page.
import { h } from "../shared/dom.js";
import { banner, day, facts, fill, plural, problemLine, stamp, table, tlpBadge, words } from "./intel-util.js";

const RELIABILITY = {
  A: "completely reliable",
  B: "usually reliable",
  C: "fairly reliable",
  D: "not usually reliable",
  E: "unreliable",
  F: "reliability cannot be judged",
};
const CREDIBILITY = {
  1: "confirmed",
  2: "probably true",
  3: "possibly true",
  4: "doubtful",
  5: "improbable",
  6: "truth cannot be judged",
};
const HANDLING = {
  P: "P — lawful sharing permitted",
  C: "C — sharing with conditions (sanitised beyond the originating agency)",
};

export function gradeText(grade) {
  if (!grade) return null;
  const source = grade[0];
  const info = grade.slice(1);
  return `${grade}: source ${RELIABILITY[source] || source}, information ${CREDIBILITY[info] || info}`;
}

function localityText(item) {
  const parts = [item.province, item.municipality, item.ward ? `ward ${item.ward}` : null].filter(Boolean);
  if (item.cells && item.cells.length) parts.push(plural(item.cells.length, "H3 cell"));
  return parts.join(" · ");
}

function windowText(item) {
  if (!item.window_start) return null;
  return `${stamp(item.window_start)} – ${item.window_end ? stamp(item.window_end) : "open"}`;
}

export function itemBoard(panel, ctx) {
  const { api } = ctx;
  let loaded = false;
  let query = "";
  let openId = null;
  let rows = [];

  const problem = problemLine();
  const search = h("input", { type: "search", name: "q", maxlength: 200, placeholder: "words in title or body" });
  const status = h("p", { class: "muted in-count", role: "status" });
  const searchForm = h(
    "form",
    { class: "in-search", role: "search", "aria-label": "Item search" },
    h("label", { class: "in-field" }, h("span", { text: "Search items" }), search),
    h("button", { type: "submit", class: "primary small", text: "Search" }),
    h("button", {
      type: "button",
      class: "ghost small",
      text: "Clear",
      onclick: () => {
        search.value = "";
        query = "";
        reload();
      },
    }),
  );
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    query = search.value.trim();
    reload();
  });
  const tbody = h("tbody");
  const list = h("div", { class: "in-list" }, searchForm, status, problem.node, table("Intel items", ["Title", "Category", "TLP", "Classification", "Grade", "Agency", "Created", "Review by"], tbody));
  const detail = h("section", { class: "in-detail", "aria-label": "Item", hidden: true });
  panel.append(h("div", { class: "in-split" }, list, detail));

  async function reload() {
    problem.clear();
    try {
      const path = query ? `/api/intel/search?q=${encodeURIComponent(query)}&limit=200` : "/api/intel/items?limit=200";
      rows = await api.get(path);
    } catch (error) {
      problem.show(error);
      rows = [];
    }
    if (ctx.gone()) return;
    loaded = true;
    render();
  }

  function render() {
    status.textContent = query ? `${plural(rows.length, "item")} matching “${query}”` : `${plural(rows.length, "item")} you may see`;
    tbody.replaceChildren(
      ...rows.map((item) => {
        const link = h("a", { href: `#/intel/items/${encodeURIComponent(item.id)}`, text: item.title });
        return h(
          "tr",
          { "aria-selected": String(item.id === openId), class: "in-row" },
          h("th", { scope: "row" }, link),
          h("td", { text: words(item.category) }),
          h("td", {}, tlpBadge(item.tlp)),
          h("td", { text: item.classification }),
          h("td", { text: item.grade ? `${item.grade} ${item.handling || ""}`.trim() : "ungraded" }),
          h("td", { text: ctx.agencyName(item.agency_id) }),
          h("td", { text: day(item.created_at) }),
          h("td", { text: day(item.review_at) }),
        );
      }),
    );
  }

  function notFound() {
    const heading = h("h3", { text: "Not found", tabindex: -1 });
    detail.replaceChildren(
      heading,
      h("p", { text: "No such item is available to you: it does not exist, was withdrawn, or is not yours to see." }),
      h("a", { href: "#/intel/items", text: "Back to the item list" }),
    );
    detail.setAttribute("aria-label", "Not found");
    detail.hidden = false;
    heading.focus();
  }

  async function open(id) {
    openId = id;
    if (!loaded) reload();
    let item;
    try {
      item = await api.get(`/api/intel/items/${encodeURIComponent(id)}`);
    } catch (error) {
      if (ctx.gone() || openId !== id) return;
      openId = null;
      if (error.status === 404) notFound();
      else {
        detail.replaceChildren(h("h3", { text: "This item could not be read" }), h("p", { class: "in-problem", text: error.message }));
        detail.hidden = false;
      }
      render();
      return;
    }
    if (ctx.gone() || openId !== id) return;
    showItem(item);
    render();
  }

  function showItem(item) {
    const heading = h("h3", { text: item.title, tabindex: -1 });
    const notices = [];
    if (item.sanitised) {
      notices.push(
        h("p", { class: "in-sanitised", role: "note", "aria-label": "Sanitised", text: `Sanitised copy: ${item.sanitised_note || "the source's identity was removed before it reached you."}` }),
      );
    }
    const shared = [];
    if (item.sharing_groups.length) shared.push(plural(item.sharing_groups.length, "sharing group"));
    if (item.distribution.agencies.length) shared.push(item.distribution.agencies.map(ctx.agencyName).join(", "));
    if (item.distribution.users.length) shared.push(plural(item.distribution.users.length, "named user"));
    if (item.distribution.instances.length) shared.push(`instances: ${item.distribution.instances.join(", ")}`);
    const sourceLine = item.human_source ? `human source${item.source_ref ? ` ${item.source_ref}` : ""}` : item.source_ref;
    const body = h("div", { class: "in-body", "aria-label": "Body" }, ...String(item.body).split(/\n{2,}/).map((p) => h("p", { text: p })));
    const observables = item.observables.length
      ? h("ul", { class: "in-observables", "aria-label": "Observables" }, ...item.observables.map((o) => h("li", { text: `${words(o.kind)}: ${o.value}` })))
      : null;
    const actions = h("div", { class: "in-actions" });
    if (ctx.canWrite) actions.append(h("button", { type: "button", class: "secondary small", text: "Share…", onclick: () => shareDialog(item) }));
    detail.setAttribute("aria-label", "Item");
    fill(
      detail,
      banner(item.banner, "top"),
      heading,
      ...notices,
      facts(
        [
          ["Category", words(item.category)],
          ["Originator", ctx.agencyName(item.agency_id)],
          ["Locality", localityText(item)],
          ["Time window", windowText(item)],
          ["Grading", gradeText(item.grade)],
          ["Handling", item.handling ? HANDLING[item.handling] || item.handling : null],
          ["Source", sourceLine],
          ["Received from", item.received_from],
          ["Shared with", shared.join(" · ") || "the originating agency only"],
          ["Version", `${item.version} · created ${stamp(item.created_at)} · updated ${stamp(item.updated_at)}`],
          ["Review by", day(item.review_at)],
        ],
        "Item facts",
      ),
      body,
      observables,
      actions,
      banner(item.banner, "bottom"),
    );
    detail.hidden = false;
    heading.focus();
  }

  async function shareDialog(item) {
    const problemShare = problemLine();
    let groups = [];
    try {
      groups = await api.get("/api/intel/groups");
    } catch {
      groups = [];
    }
    const ownAgency = ctx.me.agency ? ctx.me.agency.id : null;
    const agencyBoxes = ctx.agencies
      .filter((a) => a.id !== ownAgency)
      .map((a) => h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "agency", value: a.id }), h("span", { text: a.name })));
    const groupBoxes = groups.map((g) =>
      h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "group", value: g.id }), h("span", { text: `${g.name} (up to ${g.max_tlp})` })),
    );
    const reason = h("textarea", { name: "reason", rows: 3, minlength: 10, maxlength: 1000, required: true });
    const form = h(
      "form",
      { method: "dialog", class: "in-form" },
      h("h2", { text: "Share this item" }),
      banner(item.banner, "top"),
      h("fieldset", {}, h("legend", { text: "Agencies" }), ...(agencyBoxes.length ? agencyBoxes : [h("p", { class: "muted", text: "No other agency listed." })])),
      h("fieldset", {}, h("legend", { text: "Sharing groups" }), ...(groupBoxes.length ? groupBoxes : [h("p", { class: "muted", text: "You belong to no sharing group." })])),
      h("label", { class: "in-field in-wide" }, h("span", { text: "Reason (written to the dissemination log)" }), reason),
      problemShare.node,
      h(
        "div",
        { class: "in-actions" },
        h("button", { type: "submit", class: "primary small", text: "Share" }),
        h("button", { type: "button", class: "ghost small", text: "Cancel", onclick: () => dialog.close() }),
      ),
    );
    const dialog = h("dialog", { class: "in-dialog", "aria-label": "Share item" }, form);
    dialog.addEventListener("close", () => dialog.remove());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
      try {
        const updated = await api.post(`/api/intel/items/${encodeURIComponent(item.id)}/shares`, {
          agencies: checked("agency"),
          groups: checked("group"),
          reason: reason.value,
        });
        dialog.close();
        ctx.announce("Shared; the dissemination log has the reason.");
        showItem(updated);
      } catch (error) {
        problemShare.show(error);
      }
    });
    panel.append(dialog);
    dialog.showModal();
  }

  return {
    show(id, opened) {
      if (id) {
        open(id);
        return;
      }
      openId = null;
      detail.hidden = true;
      detail.replaceChildren();
      if (opened || !loaded) reload();
      else render();
    },
    reload,
  };
}
