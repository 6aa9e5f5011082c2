// The Tips inbox: anonymous tips about places in the user's jurisdiction, newest activity
// first, filtered by status; one opened shows the conversation (times to the hour only: that
// is all the platform keeps) and a reply box. The tipster reads the reply with their tracking
// code, signed with the agency's name, never the officer's.
import { h } from "../shared/dom.js";
import { fill, problemLine, stamp, table, words } from "./soc-util.js";

const STATUSES = ["new", "reviewing", "actioned", "closed"];

function hour(value) {
  return stamp(value).replace(/:\d\d:\d\d$/, ":00");
}

export function tipsInbox(panel, ctx) {
  const { api } = ctx;
  let openId = null;
  let tips = [];
  const filter = h(
    "select",
    { name: "status", onchange: () => reload() },
    h("option", { value: "", text: "All" }),
    STATUSES.map((s) => h("option", { value: s, text: words(s) })),
  );
  const body = h("tbody");
  const problem = problemLine();
  const detail = h("section", { class: "pt-detail", "aria-label": "Tip", hidden: true });
  panel.append(
    h(
      "div",
      { class: "pt-split" },
      h(
        "div",
        { class: "pt-list" },
        h("div", { class: "pt-bar" }, h("h3", { text: "Tips inbox" }), h("label", {}, "Status ", filter)),
        table("Tips", ["Received", "Category", "Where", "Status", "Messages"], body),
        problem.node,
      ),
      detail,
    ),
  );

  async function reload() {
    try {
      tips = await api.get(`/api/partners/inbox/tips${filter.value ? `?status=${filter.value}` : ""}`);
      if (ctx.gone()) return;
      problem.clear();
      fill(
        body,
        tips.length
          ? tips.map((t) => {
              const row = h(
                "tr",
                { tabindex: "0", class: `pt-tip st-${t.status}`, "aria-selected": String(t.id === openId), onclick: () => open(t.id) },
                h("th", { scope: "row", text: hour(t.received_hour) }),
                h("td", { text: words(t.category) }),
                h("td", { text: [t.municipality, t.province].filter(Boolean).join(", ") || "—" }),
                h("td", {}, h("span", { class: `soc-badge st-${t.status}`, text: words(t.status) })),
                h("td", { class: "soc-num", text: String(t.messages.length) }),
              );
              row.dataset.id = t.id;
              row.addEventListener("keydown", (e) => e.key === "Enter" && open(t.id));
              return row;
            })
          : [h("tr", {}, h("td", { colspan: "5", class: "muted", text: "No tips." }))],
      );
      if (openId && tips.some((t) => t.id === openId)) render(tips.find((t) => t.id === openId), false);
    } catch (error) {
      problem.show(error);
    }
  }

  function open(id) {
    openId = id;
    const tip = tips.find((t) => t.id === id);
    if (tip) render(tip, true);
  }

  function render(tip, focus) {
    for (const row of body.querySelectorAll("tr[data-id]")) row.setAttribute("aria-selected", String(row.dataset.id === tip.id));
    const messages = tip.messages.map((m) =>
      h(
        "li",
        { class: `pt-msg pt-msg-${m.author}` },
        h("span", { class: "pt-when", text: `${m.author === "staff" ? m.agency_name || "staff" : "Tipster"} · ${hour(m.hour)}` }),
        h("p", { class: "pt-pre", text: m.body }),
      ),
    );
    const problem = problemLine();
    const text = h("textarea", { name: "reply", rows: "3", maxlength: "10000" });
    const status = h(
      "select",
      { name: "status" },
      h("option", { value: "", text: "(unchanged)" }),
      STATUSES.map((s) => h("option", { value: s, text: words(s) })),
    );
    const form = h(
      "form",
      { class: "pt-form", "aria-label": "Reply to the tipster" },
      h("label", { class: "pt-wide" }, "Reply (the tipster reads it, signed by your agency)", text),
      h("label", {}, "Set status", status),
      h("div", { class: "pt-bar" }, h("button", { type: "submit", class: "primary", text: "Send reply" })),
      problem.node,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      problem.clear();
      const reply = {};
      if (text.value.trim()) reply.body = text.value.trim();
      if (status.value) reply.status = status.value;
      if (!reply.body && !reply.status) {
        problem.show(new Error("Write a reply or choose a status."));
        return;
      }
      try {
        await api.post(`/api/partners/inbox/tips/${encodeURIComponent(tip.id)}/reply`, reply);
        ctx.announce("Reply sent.");
        await reload();
      } catch (error) {
        problem.show(error);
      }
    });
    fill(
      detail,
      h("h3", { text: `Tip · ${words(tip.category)}`, tabindex: "-1" }),
      h("p", { class: "muted", text: `Received ${hour(tip.received_hour)} · updated ${hour(tip.updated_hour)} · ${words(tip.status)}` }),
      h("ol", { class: "pt-messages", "aria-label": "Conversation" }, messages),
      ctx.canWrite ? form : null,
    );
    detail.hidden = false;
    if (focus) detail.querySelector("h3").focus();
  }

  return { reload };
}
