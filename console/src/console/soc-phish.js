// Reported e-mails (the analyser's verdict, score and reasons, the analyst's own verdict and
// the accuracy measured from those) and the exceptions analysts made (with how often each
// suppressed a detection, so one hiding an attack is noticed), which can be revoked.
import { h } from "../shared/dom.js";
import { button, facts, fill, problemLine, stamp, statusBadge, table, words } from "./soc-util.js";

const VERDICTS = ["phishing", "suspicious", "clean"];

function percent(x) {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(0)} %`;
}

export function phishBoard(panel, ctx) {
  const { api } = ctx;
  let reports = [];
  let openId = null;
  const accuracy = h("p", { class: "soc-accuracy", role: "status" });
  const filter = h(
    "select",
    { id: "soc-phish-filter" },
    h("option", { value: "", text: "All reports" }),
    h("option", { value: "unreviewed", text: "Not yet reviewed" }),
    VERDICTS.map((v) => h("option", { value: v, text: `Analyser said ${v}` })),
  );
  filter.addEventListener("change", () => reload());
  const problem = problemLine();
  const body = h("tbody");
  const view = h("section", { class: "soc-phish-view", "aria-label": "Reported e-mail", hidden: true });
  panel.append(
    accuracy,
    h(
      "div",
      { class: "soc-split" },
      h(
        "section",
        { "aria-label": "Reported e-mails" },
        h("div", { class: "soc-filters" }, h("label", { for: "soc-phish-filter", text: "Show" }), filter),
        problem.node,
        table("Reported e-mails", ["Received", "Verdict", "Score", "Subject", "Sender", "Reporter", "Analyst verdict"], body),
      ),
      view,
    ),
  );

  async function loadAccuracy() {
    try {
      const a = await api.get("/api/cyber/phishing/accuracy");
      if (ctx.gone()) return;
      accuracy.textContent = a.reviewed
        ? `Analyser accuracy on ${a.reviewed} reviewed reports: agreement ${percent(a.agreement)}, recall ${percent(a.recall)}, false positive rate ${percent(a.false_positive_rate)}.`
        : "Analyser accuracy: no report reviewed yet.";
    } catch (error) {
      accuracy.textContent = error.message;
    }
  }

  let seq = 0;
  async function reload() {
    const mine = ++seq;
    const query = new URLSearchParams();
    if (filter.value === "unreviewed") query.set("unreviewed", "true");
    else if (filter.value) query.set("verdict", filter.value);
    try {
      const list = await api.get(`/api/cyber/phishing/reports?${query}`);
      if (mine !== seq || ctx.gone()) return;
      reports = list;
      problem.clear();
    } catch (error) {
      if (mine === seq && !ctx.gone()) problem.show(error);
      return;
    }
    body.replaceChildren(
      ...reports.map((r) => {
        const tr = h(
          "tr",
          { "data-report-id": r.id, tabindex: "0", "aria-selected": String(r.id === openId) },
          h("td", { text: stamp(r.received_at) }),
          h("td", {}, h("span", { class: `soc-badge v-${r.verdict}`, text: r.verdict })),
          h("td", { class: "soc-num", text: String(Math.round(r.score)) }),
          h("th", { scope: "row", text: r.subject || "(no subject)" }),
          h("td", { class: "soc-mono", text: r.sender || "—" }),
          h("td", { text: r.reporter }),
          h("td", {}, r.analyst_verdict ? h("span", { class: `soc-badge v-${r.analyst_verdict}`, text: r.analyst_verdict }) : h("span", { class: "muted", text: "not reviewed" })),
        );
        tr.addEventListener("click", () => open(r.id));
        tr.addEventListener("keydown", (event) => {
          if (event.key === "Enter") open(r.id);
        });
        return tr;
      }),
    );
    if (openId) draw(reports.find((r) => r.id === openId));
    loadAccuracy();
  }

  function open(id) {
    openId = id;
    for (const tr of body.querySelectorAll("tr[data-report-id]")) tr.setAttribute("aria-selected", String(tr.dataset.reportId === id));
    draw(reports.find((r) => r.id === id), true);
  }

  function draw(r, focus = false) {
    if (!r) {
      view.hidden = true;
      return;
    }
    view.hidden = false;
    const problemHere = problemLine();
    const title = h("h3", { id: "soc-phish-title", tabindex: "-1", text: r.subject || "(no subject)" });
    view.setAttribute("aria-labelledby", "soc-phish-title");
    const set = async (verdict) => {
      problemHere.clear();
      try {
        await api.post(`/api/cyber/phishing/reports/${encodeURIComponent(r.id)}/verdict`, { verdict });
        ctx.announce(`Analyst verdict set: ${verdict}.`);
        await reload();
      } catch (error) {
        problemHere.show(error);
      }
    };
    fill(
      view,
      title,
      facts([
        ["From", r.sender || "—"],
        ["Reported by", `${r.reporter}, ${stamp(r.received_at)}`],
        ["Analyser", `${r.verdict} (score ${Math.round(r.score)} of 100)`],
        ["Analyst", r.analyst_verdict ? `${r.analyst_verdict} (${r.corrected_by}, ${stamp(r.corrected_at)})` : "not reviewed"],
        ["SHA-256", h("span", { class: "soc-mono", text: r.sha256 })],
        ["Alert", r.alert_id ? button("Open the alert", () => ctx.openAlert(r.alert_id), "ghost small") : null],
      ]),
      h("h4", { text: "Why the analyser said so" }),
      r.reasons.length
        ? h("ul", { class: "soc-reasons", "aria-label": "Reasons" }, r.reasons.map((text) => h("li", { text })))
        : h("p", { class: "muted", text: "No reasons given." }),
      ctx.canRespond
        ? h(
            "div",
            { class: "soc-actions", role: "group", "aria-label": "Analyst verdict" },
            h("span", { class: "muted", text: "Analyst verdict:" }),
            VERDICTS.map((v) =>
              button(v, () => set(v), r.analyst_verdict === v ? "primary small" : "secondary small", { "aria-pressed": String(r.analyst_verdict === v) }),
            ),
          )
        : null,
      problemHere.node,
    );
    if (focus) title.focus();
  }

  return { reload };
}

export function exceptionBoard(panel, ctx) {
  const { api } = ctx;
  const problem = problemLine();
  const note = h("p", { class: "muted small", role: "status" });
  const body = h("tbody");
  panel.append(
    h("p", { class: "muted", text: "Each exception silences one rule for one source or host. Hits are detections it suppressed: many hits deserve a second look." }),
    note,
    problem.node,
    table("Exceptions", ["Rule", "Source", "Host", "Reason", "Made by", "Expires", "Hits", "Last hit", "State", ""], body),
  );

  async function reload() {
    let list;
    try {
      list = await api.get("/api/cyber/exceptions");
    } catch (error) {
      if (!ctx.gone()) problem.show(error);
      return;
    }
    if (ctx.gone()) return;
    problem.clear();
    const live = list.filter((e) => !e.revoked_at).length;
    note.textContent = list.length ? `${live} live, ${list.length - live} revoked.` : "No exceptions.";
    body.replaceChildren(
      ...list.map((e) =>
        h(
          "tr",
          { "data-exception-id": e.id },
          h("th", { scope: "row", class: "soc-mono", text: e.rule_id }),
          h("td", { class: "soc-mono", text: e.source || "—" }),
          h("td", { class: "soc-mono", text: e.host || "—" }),
          h("td", { text: e.reason }),
          h("td", { text: `${e.created_by}, ${stamp(e.created_at)}` }),
          h("td", { text: e.expires_at ? stamp(e.expires_at) : "until revoked" }),
          h("td", { class: "soc-num", text: String(e.hits) }),
          h("td", { text: stamp(e.last_hit_at) }),
          h("td", {}, statusBadge(e.revoked_at ? "revoked" : "live")),
          h(
            "td",
            {},
            !e.revoked_at && ctx.canRespond
              ? button("Revoke", async () => {
                  try {
                    await api.request("DELETE", `/api/cyber/exceptions/${encodeURIComponent(e.id)}`);
                    ctx.announce(`Exception for ${words(e.rule_id)} revoked.`);
                  } catch (error) {
                    problem.show(error);
                  }
                  reload();
                }, "secondary small", { "aria-label": `Revoke the exception for ${e.source || e.host}` })
              : null,
          ),
        ),
      ),
    );
  }

  return { reload };
}
