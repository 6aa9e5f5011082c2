// Sharing groups: the caller's groups with their ceilings (the most a member may export),
// a form to create one and to add a member by user id. The API lists groups, not members.
import { h } from "../shared/dom.js";
import { CLASSIFICATIONS, TLPS, field, input, problemLine, select, table, tlpBadge } from "./intel-util.js";

export function groupBoard(panel, ctx) {
  const { api } = ctx;
  const problem = problemLine();
  const tbody = h("tbody");

  const createProblem = problemLine();
  const create = h(
    "form",
    { class: "in-form", "aria-label": "Create a sharing group", novalidate: true },
    field("Name", input("name", { maxlength: 200 })),
    field("Description", input("description", { maxlength: 1000 })),
    select("max_tlp", TLPS.filter((t) => t !== "AMBER+STRICT" && t !== "RED"), { label: "Maximum TLP", chosen: "AMBER", text: (t) => `TLP:${t}` }),
    select("max_classification", CLASSIFICATIONS, { label: "Maximum classification", chosen: "secret" }),
    h("label", { class: "in-check" }, h("input", { type: "checkbox", name: "aggregate_only" }), h("span", { text: "Aggregates only" })),
    createProblem.node,
    h("div", { class: "in-actions" }, h("button", { type: "submit", class: "primary small", text: "Create group" })),
  );
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    createProblem.clear();
    const data = new FormData(create);
    try {
      const group = await api.post("/api/intel/groups", {
        name: String(data.get("name") || "").trim(),
        description: String(data.get("description") || "").trim(),
        max_tlp: data.get("max_tlp"),
        max_classification: data.get("max_classification"),
        aggregate_only: data.get("aggregate_only") === "on",
      });
      create.reset();
      ctx.announce(`Created ${group.name}`);
      reload();
    } catch (error) {
      createProblem.show(error);
    }
  });

  panel.append(
    h(
      "div",
      { class: "in-split" },
      h("div", { class: "in-list" }, problem.node, table("Sharing groups", ["Name", "Description", "Max TLP", "Max classification", "Aggregates only", "Add a member"], tbody)),
      h("div", { class: "in-detail" }, ctx.canWrite ? [h("h3", { text: "Create a sharing group" }), create] : null),
    ),
  );

  function memberForm(group) {
    const p = problemLine();
    const user = input("user_id", { maxlength: 36, placeholder: "user id" });
    const form = h("form", { class: "in-inline", "aria-label": `Add a member to ${group.name}` }, field("User id", user), h("button", { type: "submit", class: "secondary small", text: "Add" }), p.node);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.post(`/api/intel/groups/${encodeURIComponent(group.id)}/members`, { user_id: user.value.trim() });
        form.reset();
        ctx.announce(`Added to ${group.name}`);
      } catch (error) {
        p.show(error);
      }
    });
    return form;
  }

  async function reload() {
    problem.clear();
    let groups;
    try {
      groups = await api.get("/api/intel/groups");
    } catch (error) {
      problem.show(error);
      return;
    }
    if (ctx.gone()) return;
    tbody.replaceChildren(
      ...(groups.length
        ? groups.map((g) =>
            h(
              "tr",
              {},
              h("th", { scope: "row", text: g.name }),
              h("td", { text: g.description }),
              h("td", {}, tlpBadge(g.max_tlp)),
              h("td", { text: g.max_classification }),
              h("td", { text: g.aggregate_only ? "yes" : "no" }),
              h("td", {}, ctx.canWrite ? memberForm(g) : null),
            ),
          )
        : [h("tr", {}, h("td", { colspan: 6, class: "muted", text: "You belong to no sharing group." }))]),
    );
  }

  return {
    show(_id, opened) {
      if (opened) reload();
    },
    reload,
  };
}
