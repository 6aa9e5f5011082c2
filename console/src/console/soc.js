// The SOC panel (#/soc), the cybersecurity command centre: the alert queue, cases with their
// timelines, response actions awaiting a second analyst, reported e-mails and exceptions.
// Alerts and actions arrive on the live feed (cyber.alert_raised|alert_changed,
// cyber.action_changed); the rest is read when its tab opens and polled while it is shown.
// Users with cyber.read see everything; the buttons that change things need cyber.respond.
import { panelFeed } from "../shared/panel-feed.js";
import "./soc.css";
import { h } from "../shared/dom.js";
import { actionBoard } from "./soc-actions.js";
import { alertQueue } from "./soc-alerts.js";
import { caseBoard } from "./soc-cases.js";
import { exceptionBoard, phishBoard } from "./soc-phish.js";
import { plural } from "./soc-util.js";

const SOC_SUBJECTS = ["cyber.alert_raised", "cyber.alert_changed", "cyber.action_changed"];
const POLL_MS = 30_000;
const TABS = [
  ["alerts", "Alert queue"],
  ["cases", "Cases"],
  ["actions", "Response actions"],
  ["phishing", "Phishing reports"],
  ["exceptions", "Exceptions"],
];

const hooks = (window.khusela = window.khusela || {});

/**
 * Mount the SOC panel in `container`.
 * @returns {{unmount(): void}}
 */
export function mountSoc(container, api, me) {
  const permissions = new Set(me.permissions);
  let unmounted = false;
  let tab = "alerts";
  const timers = new Set();
  const later = (fn, ms) => {
    const id = setTimeout(() => {
      timers.delete(id);
      if (!unmounted) fn();
    }, ms);
    timers.add(id);
  };
  const every = (fn, ms) => {
    timers.add(
      setInterval(() => {
        if (!unmounted) fn();
      }, ms),
    );
  };

  // --- layout --------------------------------------------------------------------------
  const summary = h("span", { class: "soc-summary muted", role: "status" });
  const toolbar = h("div", { class: "soc-toolbar" }, h("h2", { text: "SOC" }), summary);
  const tabList = h("div", { class: "soc-tabs", role: "tablist", "aria-label": "SOC sections" });
  const panels = {};
  const tabButtons = {};
  for (const [key, label] of TABS) {
    const button = h("button", {
      type: "button",
      role: "tab",
      id: `soc-tab-${key}`,
      "aria-controls": `soc-panel-${key}`,
      onclick: () => selectTab(key, true),
    });
    button.append(h("span", { text: label }), h("span", { class: "soc-count", hidden: true }));
    button.addEventListener("keydown", (event) => {
      const keys = TABS.map(([k]) => k);
      const i = keys.indexOf(key);
      let next = null;
      if (event.key === "ArrowRight") next = keys[(i + 1) % keys.length];
      else if (event.key === "ArrowLeft") next = keys[(i - 1 + keys.length) % keys.length];
      else if (event.key === "Home") next = keys[0];
      else if (event.key === "End") next = keys[keys.length - 1];
      if (next) {
        event.preventDefault();
        selectTab(next, true);
      }
    });
    tabButtons[key] = button;
    tabList.append(button);
    panels[key] = h("section", { class: `soc-panel soc-panel-${key}`, role: "tabpanel", id: `soc-panel-${key}`, "aria-labelledby": `soc-tab-${key}` });
  }
  const announcer = h("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  const root = h("div", { class: "soc" }, toolbar, tabList, ...Object.values(panels), announcer);
  container.replaceChildren(root);

  function setCount(key, n) {
    const badge = tabButtons[key].querySelector(".soc-count");
    badge.hidden = !n;
    badge.textContent = n ? String(n) : "";
  }

  // --- the sections, and what they ask of each other ---------------------------------------
  const ctx = {
    api,
    me,
    canRespond: permissions.has("cyber.respond"),
    gone: () => unmounted,
    announce(text) {
      announcer.textContent = text;
    },
    openCase(id) {
      selectTab("cases");
      cases.open(id);
    },
    openAlert(id) {
      selectTab("alerts");
      queue.open(id);
    },
    openCases: () => cases.openCases(),
    casesChanged: () => cases.reload(),
    exceptionsChanged: () => exceptions.reload(),
    actionChanged: (action) => actions.upsert(action),
    pendingActions(n) {
      setCount("actions", n);
      renderSummary();
    },
  };
  const queue = alertQueue(panels.alerts, ctx);
  const cases = caseBoard(panels.cases, ctx);
  const actions = actionBoard(panels.actions, ctx);
  const phishing = phishBoard(panels.phishing, ctx);
  const exceptions = exceptionBoard(panels.exceptions, ctx);
  const loaders = {
    alerts: queue.reload,
    cases: () => {
      cases.reload();
      cases.refreshOpen();
    },
    actions: actions.reload,
    phishing: phishing.reload,
    exceptions: exceptions.reload,
  };

  function renderSummary() {
    const pending = Number(tabButtons.actions.querySelector(".soc-count").textContent || 0);
    summary.textContent = `${plural(queue.count(), "alert")} in the queue view · ${plural(pending, "action")} awaiting approval`;
  }

  function selectTab(key, focus = false) {
    if (!panels[key]) key = "alerts";
    const changed = key !== tab;
    tab = key;
    for (const [k, button] of Object.entries(tabButtons)) {
      const on = k === key;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    if (focus) tabButtons[key].focus();
    if (changed && key !== "alerts" && key !== "actions") loaders[key]();
  }

  // --- the live feed (cyber subjects) ----------------------------------------------------
  const feed = panelFeed(api, SOC_SUBJECTS, {
    isActive: () => !unmounted,
    later,
    onReady(reconnected) {
      if (hooks.soc) hooks.soc.feedReady = true;
      if (!reconnected) return; // the lists were read just before the first connection
      queue.reload();
      actions.reload();
    },
    onEvent: (subject, payload) => onFeed(subject, payload),
  });

  function onFeed(subject, payload) {
    if (subject === "cyber.action_changed") {
      actions.upsert(payload);
      if (payload.case_id) cases.refreshOpen();
      return;
    }
    queue.onFeed(subject, payload);
    renderSummary();
    if (payload.kind === "phishing" && tab === "phishing") phishing.reload();
    if (payload.case_id && tab === "cases") cases.refreshOpen();
  }

  hooks.soc = { feedReady: false };

  selectTab("alerts");
  (async () => {
    await Promise.all([queue.reload(), actions.reload()]);
    if (unmounted) return;
    renderSummary();
    feed.start();
    every(() => (tab === "alerts" ? null : loaders[tab]()), POLL_MS);
    every(() => actions.tick(), 1000);
  })();

  return {
    unmount() {
      unmounted = true;
      for (const id of timers) {
        clearTimeout(id);
        clearInterval(id);
      }
      timers.clear();
      feed.stop();
      delete hooks.soc;
    },
  };
}
