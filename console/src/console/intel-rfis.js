// RFI inbox: requests for information the caller's agency asked or was assigned. The asking
// agency hands a request to another agency; the assigned agency answers, and the answer
// carries its own marking (an answer above the reader's clearance shows only its banner).
import { h } from "../shared/dom.js";
import { CLASSIFICATIONS, TLPS, banner, field, input, plural, problemLine, select, stamp, words } from "./intel-util.js";

export function rfiBoard(panel, ctx) {
  const { api, me } = ctx;
  const own = me.agency ? me.agency.id : null;
  const problem = problemLine();

  const askProblem = problemLine();
  const ask = h(
    "form",
    { class: "in-form", "aria-label": "Ask for information", novalidate: true },
    h("label", { class: "in-field in-wide" }, h("span", { text: "Question" }), h("textarea", { name: "question", rows: 3, maxlength: 10000 })),
    select("tlp", TLPS, { label: "TLP", chosen: "AMBER", text: (t) => `TLP:${t}` }),
    select("classification", CLASSIFICATIONS, { label: "Classification", chosen: "restricted" }),
    askProblem.node,
    h("div", { class: "in-actions" }, h("button", { type: "submit", class: "primary small", text: "Ask" })),
  );
  ask.addEventListener("submit", async (event) => {
    event.preventDefault();
    askProblem.clear();
    const data = new FormData(ask);
    try {
      await api.post("/api/intel/rfis", {
        question: String(data.get("question") || "").trim(),
        tlp: data.get("tlp"),
        classification: data.get("classification"),
      });
      ask.reset();
      ctx.announce("Request asked");
      reload();
    } catch (error) {
      askProblem.show(error);
    }
  });

  const asked = h("ol", { class: "in-rfis", "aria-label": "Asked by your agency" });
  const assigned = h("ol", { class: "in-rfis", "aria-label": "Assigned to your agency" });
  const canWrite = ctx.canWrite;
  panel.append(
    h(
      "div",
      { class: "in-split" },
      h("div", { class: "in-list" }, problem.node, h("h3", { text: "Assigned to your agency" }), assigned, h("h3", { text: "Asked by your agency" }), asked),
      h("div", { class: "in-detail" }, canWrite ? [h("h3", { text: "Ask for information" }), ask] : h("p", { class: "muted", text: "Your role may read requests, not ask them." })),
    ),
  );

  function answerBlock(rfi) {
    if (!rfi.answer) return null;
    if (rfi.answer.hidden) {
      return h(
        "div",
        { class: "in-answer", "aria-label": "Answer" },
        banner(rfi.answer.banner, "top"),
        h("p", { class: "muted", text: "An answer was given above your clearance." }),
      );
    }
    return h(
      "div",
      { class: "in-answer", role: "group", "aria-label": "Answer" },
      banner(rfi.answer.banner, "top"),
      h("p", { class: "in-answer-text", text: rfi.answer.text }),
      h("p", { class: "muted small", text: `Answered by ${ctx.agencyName(rfi.answer.agency_id)} · ${stamp(rfi.answer.answered_at)}` }),
      banner(rfi.answer.banner, "bottom"),
    );
  }

  function assignForm(rfi) {
    const p = problemLine();
    const choice = select(
      "agency_id",
      ctx.agencies.filter((a) => a.id !== own).map((a) => [a.id, a.name]),
      { blank: "— agency —" },
    );
    const form = h("form", { class: "in-form in-inline", "aria-label": "Assign the request" }, field("Assign to", choice), h("button", { type: "submit", class: "secondary small", text: "Assign" }), p.node);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.post(`/api/intel/rfis/${encodeURIComponent(rfi.id)}/assign`, { agency_id: choice.value });
        ctx.announce("Request assigned");
        reload();
      } catch (error) {
        p.show(error);
      }
    });
    return form;
  }

  function answerForm(rfi) {
    const p = problemLine();
    const form = h(
      "form",
      { class: "in-form", "aria-label": "Answer the request", novalidate: true },
      h("label", { class: "in-field in-wide" }, h("span", { text: "Answer" }), h("textarea", { name: "answer", rows: 3 })),
      select("tlp", TLPS, { label: "Answer TLP", chosen: "AMBER", text: (t) => `TLP:${t}` }),
      select("classification", CLASSIFICATIONS, { label: "Answer classification", chosen: "restricted" }),
      field("Grade (e.g. B2 P, optional)", input("grade", { maxlength: 8 })),
      h("button", { type: "submit", class: "primary small", text: "Send answer" }),
      p.node,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await api.post(`/api/intel/rfis/${encodeURIComponent(rfi.id)}/answer`, {
          answer: String(data.get("answer") || "").trim(),
          tlp: data.get("tlp"),
          classification: data.get("classification"),
          grade: String(data.get("grade") || "").trim() || null,
        });
        ctx.announce("Answer sent");
        reload();
      } catch (error) {
        p.show(error);
      }
    });
    return form;
  }

  function card(rfi) {
    const mine = rfi.asked_agency_id === own;
    const parts = [
      banner(rfi.banner, "top"),
      h("p", { class: "in-question", text: rfi.question }),
      h("p", {
        class: "muted small",
        text: `${words(rfi.status)} · asked by ${ctx.agencyName(rfi.asked_agency_id)} ${stamp(rfi.asked_at)}${rfi.assigned_to ? ` · assigned to ${ctx.agencyName(rfi.assigned_to)}` : ""}`,
      }),
      answerBlock(rfi),
    ];
    if (canWrite && mine && !rfi.assigned_to && !rfi.answer) parts.push(assignForm(rfi));
    if (canWrite && rfi.assigned_to === own && !rfi.answer) parts.push(answerForm(rfi));
    return h("li", { class: "in-rfi", "aria-label": rfi.question }, ...parts);
  }

  async function reload() {
    problem.clear();
    let found;
    try {
      found = await api.get("/api/intel/rfis");
    } catch (error) {
      problem.show(error);
      return;
    }
    if (ctx.gone()) return;
    const mineAsked = found.filter((r) => r.asked_agency_id === own);
    const toUs = found.filter((r) => r.assigned_to === own);
    asked.replaceChildren(...(mineAsked.length ? mineAsked.map(card) : [h("li", { class: "muted", text: "None." })]));
    assigned.replaceChildren(...(toUs.length ? toUs.map(card) : [h("li", { class: "muted", text: "None." })]));
    ctx.announce(`${plural(found.length, "request")} in the inbox`);
  }

  return {
    show(_id, opened) {
      if (opened) reload();
    },
    reload,
  };
}
