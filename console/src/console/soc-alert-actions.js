// What an analyst can do with the alert open in the SOC queue's detail: acknowledge, close,
// mark a false positive (optionally excepting this source or host, with a reason), add it
// to an open case or open a new one, and propose a block of its source IP (which waits for
// a second analyst). Every refusal shows the API's own detail in `problemHere`.
import { h } from "../shared/dom.js";
import { button, isIp, words } from "./soc-util.js";

/**
 * The buttons and forms for alert `a`; `queue` is the alert queue (its reload, feed update,
 * ticked alerts and case opening), `ctx` the SOC panel's shared context.
 * @returns {HTMLElement}
 */
export function alertActions(a, problemHere, ctx, queue) {
  const { api } = ctx;
  const { selected } = queue;
  const setStatus = async (status, exception) => {
    problemHere.clear();
    try {
      const changed = await api.post(`/api/cyber/alerts/${encodeURIComponent(a.id)}/status`, exception ? { status, exception } : { status });
      queue.onFeed("cyber.alert_changed", changed);
      ctx.announce(`Alert marked ${words(status)}.`);
      if (exception) ctx.exceptionsChanged();
    } catch (error) {
      problemHere.show(error);
    }
  };
  const bar = h(
    "div",
    { class: "soc-actions" },
    button("Acknowledge", () => setStatus("acknowledged"), "secondary small", { disabled: a.status === "acknowledged" }),
    button("Close", () => setStatus("closed"), "secondary small", { disabled: a.status === "closed" }),
  );
  const forms = h("div", { class: "soc-forms" });

  // false positive, optionally with an exception scoped to this source or host
  const fpForm = h("form", { class: "soc-form", "aria-label": "Mark false positive", hidden: true });
  const scope = h(
    "select",
    { id: "soc-fp-scope" },
    h("option", { value: "", text: "No exception" }),
    a.source && a.kind !== "phishing" ? h("option", { value: "source", text: `Except this source (${a.source})` }) : null,
    a.host ? h("option", { value: "host", text: `Except this host (${a.host})` }) : null,
  );
  const reason = h("input", { id: "soc-fp-reason", type: "text", maxlength: "500", placeholder: "e.g. vulnerability scanner" });
  fpForm.append(
    h("label", { for: "soc-fp-scope", text: "Stop alerting on this rule for" }),
    scope,
    h("label", { for: "soc-fp-reason", text: "Reason" }),
    reason,
    h("button", { type: "submit", class: "primary small", text: "Mark false positive" }),
  );
  fpForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (scope.value && reason.value.trim().length < 3) {
      problemHere.show(new Error("Say why (at least 3 characters): the exception keeps its reason."));
      return;
    }
    setStatus("false_positive", scope.value ? { scope: scope.value, reason: reason.value.trim() } : null);
  });
  bar.append(button("False positive…", () => toggle(fpForm), "secondary small"));

  // add to an open case
  const caseForm = h("form", { class: "soc-form", "aria-label": "Add to case", hidden: true });
  const caseSelect = h("select", { id: "soc-case-pick" });
  caseForm.append(h("label", { for: "soc-case-pick", text: "Case" }), caseSelect, h("button", { type: "submit", class: "primary small", text: "Add to case" }));
  caseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!caseSelect.value) return;
    problemHere.clear();
    const ids = selected.size ? [...new Set([a.id, ...selected])] : [a.id];
    try {
      await api.post(`/api/cyber/cases/${encodeURIComponent(caseSelect.value)}/alerts`, { alert_ids: ids });
      ctx.casesChanged();
      await queue.reload();
      await queue.refreshDetail();
    } catch (error) {
      problemHere.show(error);
    }
  });
  if (!a.case_id) {
    bar.append(
      button("Add to case…", async () => {
        toggle(caseForm);
        const open = await ctx.openCases().catch(() => []);
        caseSelect.replaceChildren(...open.map((c) => h("option", { value: c.id, text: `${c.title} (${words(c.status)})` })));
        if (!open.length) caseSelect.append(h("option", { value: "", text: "No open cases" }));
      }),
      button("New case", () => queue.openCaseFrom(selected.size ? [...new Set([a.id, ...selected])] : [a.id], problemHere)),
    );
  }

  // propose a block of the source IP
  const blockForm = h("form", { class: "soc-form", "aria-label": "Propose block", hidden: true });
  if (isIp(a.source)) {
    const why = h("input", { id: "soc-block-reason", type: "text", maxlength: "500", value: `${a.title} from ${a.source}` });
    const hours = h("input", { id: "soc-block-hours", type: "number", min: "1", max: "8760", step: "1", placeholder: "default" });
    blockForm.append(
      h("label", { for: "soc-block-reason", text: "Reason" }),
      why,
      h("label", { for: "soc-block-hours", text: "Hours" }),
      hours,
      h("button", { type: "submit", class: "primary small", text: `Propose block of ${a.source}` }),
    );
    blockForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      problemHere.clear();
      const body = { kind: "block_ip", target: a.source, reason: why.value.trim(), alert_id: a.id };
      if (a.case_id) body.case_id = a.case_id;
      if (hours.value) body.duration_hours = Number(hours.value);
      try {
        const action = await api.post("/api/cyber/actions", body);
        ctx.actionChanged(action);
        blockForm.hidden = true;
        ctx.announce(`Block of ${action.target} proposed: a second analyst must approve it.`);
        problemHere.node.textContent = "";
        forms.append(h("p", { class: "soc-ok", role: "status", text: `Block of ${action.target} proposed; it waits for a second analyst's approval.` }));
      } catch (error) {
        problemHere.show(error);
      }
    });
    bar.append(button("Propose block of source IP…", () => toggle(blockForm)));
  }

  forms.append(fpForm, caseForm, blockForm);
  function toggle(form) {
    for (const f of [fpForm, caseForm, blockForm]) if (f !== form) f.hidden = true;
    form.hidden = !form.hidden;
    if (!form.hidden) {
      const first = form.querySelector("select, input");
      if (first) first.focus();
    }
  }
  return h("div", {}, bar, forms);
}
