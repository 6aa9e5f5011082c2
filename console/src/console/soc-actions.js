// Response actions: the ones awaiting a second analyst's approval first and prominent
// (Approve / Reject), then the rest with a status filter; active ones can be reverted and
// show how long until they expire. When the API refuses (the proposer approving their own
// action, a protected target), its `detail` is shown beside the action.
import { h } from "../shared/dom.js";
import { button, plural, problemLine, stamp, statusBadge, table, until, words } from "./soc-util.js";

const STATUSES = ["proposed", "active", "rejected", "reverted", "expired"];

export function actionBoard(panel, ctx) {
  const { api } = ctx;
  let actions = new Map(); // id -> action
  const problems = new Map(); // id -> text the API last refused with
  const filter = h(
    "select",
    { id: "soc-action-status" },
    h("option", { value: "", text: "Any status" }),
    STATUSES.map((s) => h("option", { value: s, text: words(s) })),
  );
  filter.addEventListener("change", () => render());
  const problem = problemLine();
  const awaiting = h("ul", { class: "soc-awaiting", "aria-label": "Awaiting approval" });
  const awaitingNote = h("p", { class: "muted small" });
  const body = h("tbody");
  const note = h("p", { class: "muted small", role: "status" });
  panel.append(
    h(
      "section",
      { class: "soc-awaiting-box", "aria-labelledby": "soc-awaiting-title" },
      h("h3", { id: "soc-awaiting-title", text: "Awaiting approval" }),
      awaitingNote,
      awaiting,
    ),
    problem.node,
    h(
      "section",
      { class: "soc-action-list", "aria-label": "All response actions" },
      h("div", { class: "soc-filters" }, h("label", { for: "soc-action-status", text: "Status" }), filter),
      note,
      table("Response actions", ["Action", "Target", "Status", "Reason", "Proposed", "Approved", "Expires", ""], body),
    ),
  );

  async function decide(action, verb) {
    problems.delete(action.id);
    try {
      const changed = await api.post(`/api/cyber/actions/${encodeURIComponent(action.id)}/${verb}`);
      upsert(changed);
      ctx.announce(`${words(changed.kind)} ${changed.target}: ${changed.status}.`);
    } catch (error) {
      problems.set(action.id, error.message);
      render();
      if (error.status === 409) reload();
    }
  }

  function what(a) {
    return `${words(a.kind)}${a.automatic ? " (automatic)" : ""}`;
  }

  function card(a) {
    const refusal = problems.get(a.id);
    return h(
      "li",
      { class: "soc-await", "data-action-id": a.id },
      h("div", { class: "soc-await-what" }, h("strong", { text: `${what(a)} ` }), h("span", { class: "soc-mono", text: a.target })),
      h("div", { class: "soc-await-why", text: a.reason }),
      h("div", { class: "muted small", text: `Proposed by ${a.proposed_by || "the platform"} at ${stamp(a.proposed_at)}${a.duration_hours ? ` · for ${a.duration_hours} h` : ""}` }),
      ctx.canRespond
        ? h(
            "div",
            { class: "soc-actions" },
            button("Approve", () => decide(a, "approve"), "primary small", { "aria-label": `Approve ${words(a.kind)} ${a.target}` }),
            button("Reject", () => decide(a, "reject"), "secondary small", { "aria-label": `Reject ${words(a.kind)} ${a.target}` }),
          )
        : null,
      refusal ? h("p", { class: "soc-problem", role: "alert", text: refusal }) : null,
    );
  }

  function render() {
    const all = [...actions.values()].sort((x, y) => String(y.proposed_at).localeCompare(String(x.proposed_at)));
    const pending = all.filter((a) => a.status === "proposed");
    awaiting.replaceChildren(...pending.map(card));
    awaitingNote.textContent = pending.length ? `${pending.length} waiting for a second analyst.` : "Nothing waits for approval.";
    const shown = all.filter((a) => !filter.value || a.status === filter.value);
    note.textContent = shown.length ? `${plural(shown.length, "action")}, newest first.` : "No actions.";
    const now = Date.now();
    body.replaceChildren(
      ...shown.map((a) => {
        const refusal = problems.get(a.id);
        return h(
          "tr",
          { "data-action-id": a.id, class: `st-row-${a.status}` },
          h("th", { scope: "row", text: what(a) }),
          h("td", { class: "soc-mono", text: a.target }),
          h("td", {}, statusBadge(a.status)),
          h("td", { text: a.reason }),
          h("td", { text: `${stamp(a.proposed_at)} · ${a.proposed_by || "automatic"}` }),
          h("td", { text: a.approved_by ? `${a.approved_by}, ${stamp(a.approved_at)}` : "—" }),
          h("td", { class: "soc-expiry", "data-expires": a.expires_at || "", text: a.status === "active" ? `in ${until(a.expires_at, now)}` : a.ended_at ? `ended ${stamp(a.ended_at)}` : "—" }),
          h(
            "td",
            {},
            a.status === "active" && ctx.canRespond ? button("Revert", () => decide(a, "revert"), "secondary small", { "aria-label": `Revert ${words(a.kind)} ${a.target}` }) : null,
            refusal && a.status !== "proposed" ? h("span", { class: "soc-problem", role: "alert", text: refusal }) : null,
          ),
        );
      }),
    );
    ctx.pendingActions(pending.length);
  }

  function tick() {
    const now = Date.now();
    for (const cell of body.querySelectorAll(".soc-expiry")) {
      const a = actions.get(cell.parentElement.dataset.actionId);
      if (a && a.status === "active") cell.textContent = `in ${until(a.expires_at, now)}`;
    }
  }

  function upsert(a) {
    if (!a || !a.id) return;
    const before = actions.get(a.id);
    if (before && before.status !== a.status) problems.delete(a.id); // the refusal was about the old state
    actions.set(a.id, a);
    render();
  }

  let seq = 0;
  async function reload() {
    const mine = ++seq;
    try {
      const list = await api.get("/api/cyber/actions?limit=500");
      if (mine !== seq || ctx.gone()) return;
      actions = new Map(list.map((a) => [a.id, a]));
      problem.clear();
    } catch (error) {
      if (mine === seq && !ctx.gone()) problem.show(error);
      return;
    }
    render();
  }

  return { reload, upsert, tick };
}
