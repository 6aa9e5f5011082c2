// The Intel desk (#/intel): items the caller may see (list, full-text search, one item under
// its marking banners, share), submission, the entity graph, the RFI inbox and sharing
// groups. Each section has its own address (#/intel/items/<id>, #/intel/entities/<id>,
// #/intel/rfis …) so an analyst can paste a link to a colleague; the API decides what that
// colleague may see, and an item they may not see is "not found" with nothing else said.
import "./intel.css";
import { h } from "../shared/dom.js";
import { entityBoard } from "./intel-entities.js";
import { groupBoard } from "./intel-groups.js";
import { itemBoard } from "./intel-items.js";
import { rfiBoard } from "./intel-rfis.js";
import { submitBoard } from "./intel-submit.js";
import { agencyNamer } from "./intel-util.js";

/** Which tabs a user can use, in order: [key, label, make(panel, ctx)]. */
export function tabsFor(me) {
  const p = new Set(me.permissions);
  const tabs = [["items", "Items", itemBoard]];
  if (p.has("intel.write")) tabs.push(["submit", "Submit", submitBoard]);
  tabs.push(["entities", "Entities", entityBoard], ["rfis", "RFI inbox", rfiBoard], ["groups", "Sharing groups", groupBoard]);
  return { tabs, canWrite: p.has("intel.write"), canReadAgencies: p.has("agency.read") };
}

/** `#/intel/entities/abc` → ["entities", "abc"]. */
export function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, "").split("?")[0].split("/");
  return [parts[1] || "", parts[2] ? decodeURIComponent(parts[2]) : null];
}

/**
 * Mount the Intel desk in `container`.
 * @returns {{unmount(): void}}
 */
export function mountIntel(container, api, me) {
  const { tabs, canWrite, canReadAgencies } = tabsFor(me);
  const keys = tabs.map(([k]) => k);
  let unmounted = false;
  let tab = null;

  const tabList = h("div", { class: "in-tabs", role: "tablist", "aria-label": "Intel sections" });
  const panels = {};
  const buttons = {};
  const boards = {};
  for (const [key, label] of tabs) {
    const button = h("button", {
      type: "button",
      role: "tab",
      id: `in-tab-${key}`,
      "aria-controls": `in-panel-${key}`,
      text: label,
      onclick: () => go(`#/intel/${key}`),
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
        go(`#/intel/${next}`);
        buttons[next].focus();
      }
    });
    buttons[key] = button;
    tabList.append(button);
    panels[key] = h("section", {
      class: `in-panel in-panel-${key}`,
      role: "tabpanel",
      id: `in-panel-${key}`,
      "aria-labelledby": `in-tab-${key}`,
      hidden: true,
    });
  }
  const clearance = h("span", { class: "muted", text: `Your clearance: ${me.clearance}` });
  const toolbar = h("div", { class: "in-toolbar" }, h("h2", { text: "Intel" }), clearance);
  const announcer = h("div", { class: "sr-only", role: "status", "aria-live": "polite" });
  container.replaceChildren(h("div", { class: "in" }, toolbar, tabList, ...Object.values(panels), announcer));

  const ctx = {
    api,
    me,
    canWrite,
    agencies: [],
    agencyName: agencyNamer([], me),
    gone: () => unmounted,
    announce(text) {
      announcer.textContent = text;
    },
    go,
  };

  function go(hash) {
    if (location.hash === hash) onHash();
    else location.hash = hash;
  }

  function selectTab(key) {
    const changed = key !== tab;
    tab = key;
    for (const [k, button] of Object.entries(buttons)) {
      const on = k === key;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panels[k].hidden = !on;
    }
    return changed;
  }

  function onHash() {
    if (unmounted) return;
    const [name, id] = parseRoute(location.hash);
    if (!location.hash.startsWith("#/intel")) return; // main.js is switching views
    const key = keys.includes(name) ? name : keys[0];
    const changed = selectTab(key);
    // Each board: `show(id or null, opened)` — `opened` when its tab has just been selected.
    boards[key].show(id, changed);
  }

  (async () => {
    if (canReadAgencies) {
      try {
        ctx.agencies = await api.get("/api/agencies");
        ctx.agencyName = agencyNamer(ctx.agencies, me);
      } catch {
        // the names are a courtesy: without them the desk still works
      }
    }
    if (unmounted) return;
    for (const [key, , make] of tabs) boards[key] = make(panels[key], ctx);
    window.addEventListener("hashchange", onHash);
    onHash();
    const hooks = (window.khusela = window.khusela || {});
    hooks.intel = { ready: true };
  })();

  return {
    unmount() {
      unmounted = true;
      window.removeEventListener("hashchange", onHash);
      const hooks = window.khusela || {};
      delete hooks.intel;
    },
  };
}
