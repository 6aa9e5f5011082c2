// The Partners panel (#/partners): cooperation agreements and their commitments, joint
// operations, community alerts, patrol reports and the anonymous-tips inbox. Each tab reads
// its section when it opens (no live feed: these change over days, not seconds). Tabs the
// user's permissions (and, for community partners, the group ceiling) cannot use are not
// shown at all; the API still refuses what the panel hides.
import "./partners.css";
import { h } from "../shared/dom.js";
import { agreementBoard } from "./partners-agreements.js";
import { communityBoard } from "./partners-community.js";
import { operationBoard } from "./partners-operations.js";
import { patrolBoard } from "./partners-patrols.js";
import { tipsInbox } from "./partners-tips.js";

const COMMUNITY_AGENCIES = new Set(["cpf", "neighbourhood_watch"]);
const NON_STAFF = new Set(["community_partner", "resident"]);

/** Mirrors `partners.access.is_community`: a CPF / watch member sees only their group's things. */
export function isCommunity(me) {
  if (me.agency && COMMUNITY_AGENCIES.has(me.agency.type)) return true;
  return (me.roles || []).every((r) => NON_STAFF.has(r));
}

/** Which tabs a user can use, in order: [key, label, make(panel, ctx)]. */
export function tabsFor(me) {
  const p = new Set(me.permissions);
  const read = p.has("partners.read");
  const write = p.has("partners.write");
  const community = isCommunity(me);
  const tabs = [];
  if (read) tabs.push(["agreements", "Agreements", agreementBoard]);
  if (read) tabs.push(["operations", "Operations", operationBoard]);
  // Everyone signed in may read community alerts; operators and officials compose them.
  if (read || p.has("community.read")) tabs.push(["alerts", "Community alerts", communityBoard]);
  if (read) tabs.push(["patrols", "Patrol reports", patrolBoard]);
  // The inbox holds tips about places in a jurisdiction: never a community group's to read.
  if (read && !community) tabs.push(["tips", "Tips inbox", tipsInbox]);
  return { tabs, canWrite: write, canBroadcast: write && !community, community };
}

/**
 * Mount the Partners panel in `container`.
 * @returns {{unmount(): void}}
 */
export function mountPartners(container, api, me) {
  const { tabs, canWrite, canBroadcast, community } = tabsFor(me);
  let unmounted = false;
  let tab = null;
  const cleanups = [];

  const tabList = h("div", { class: "pt-tabs", role: "tablist", "aria-label": "Partners sections" });
  const panels = {};
  const buttons = {};
  const boards = {};
  const keys = tabs.map(([k]) => k);
  for (const [key, label] of tabs) {
    const button = h("button", {
      type: "button",
      role: "tab",
      id: `pt-tab-${key}`,
      "aria-controls": `pt-panel-${key}`,
      text: label,
      onclick: () => selectTab(key, true),
    });
    button.addEventListener("keydown", (event) => {
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
    buttons[key] = button;
    tabList.append(button);
    panels[key] = h("section", {
      class: `pt-panel pt-panel-${key}`,
      role: "tabpanel",
      id: `pt-panel-${key}`,
      "aria-labelledby": `pt-tab-${key}`,
      hidden: true,
    });
  }
  const who = community ? `${me.agency ? me.agency.name : "Your group"}: what is shared with your group` : "";
  const toolbar = h("div", { class: "pt-toolbar" }, h("h2", { text: "Partners" }), h("span", { class: "muted", text: who }));
  const announcer = h("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  container.replaceChildren(h("div", { class: "pt" }, toolbar, tabList, ...Object.values(panels), announcer));

  const ctx = {
    api,
    me,
    canWrite,
    canBroadcast,
    community,
    gone: () => unmounted,
    announce(text) {
      announcer.textContent = text;
    },
    onUnmount(fn) {
      cleanups.push(fn);
    },
  };
  for (const [key, , make] of tabs) boards[key] = make(panels[key], ctx);

  function selectTab(key, focus = false) {
    if (!panels[key]) key = keys[0];
    const changed = key !== tab;
    tab = key;
    for (const [k, button] of Object.entries(buttons)) {
      const on = k === key;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    if (focus) buttons[key].focus();
    if (changed) boards[key].reload();
    if (boards[key].shown) boards[key].shown();
  }

  const hooks = (window.khusela = window.khusela || {});
  hooks.partners = { boards };
  if (keys.length) selectTab(keys[0]);

  return {
    unmount() {
      unmounted = true;
      for (const fn of cleanups) {
        try {
          fn();
        } catch (error) {
          console.error(error);
        }
      }
      delete hooks.partners;
    },
  };
}
