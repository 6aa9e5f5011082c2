// The queue by keyboard alone. Keys are never taken while the operator types in a field,
// nor with Ctrl/Alt/Meta held (the browser's own shortcuts keep working).

export const SHORTCUTS = [
  ["j  or  ↓", "next alert"],
  ["k  or  ↑", "previous alert"],
  ["Enter", "open the selected alert"],
  ["a", "acknowledge the selected alert"],
  ["d", "dispatch the top recommended unit"],
  ["Escape", "close the alert (or this help)"],
  ["/  or  ?", "show these shortcuts"],
];

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return !["button", "submit", "checkbox", "radio", "reset"].includes(target.type);
  return false;
}

/**
 * Listen on the document; returns a function that stops listening.
 * @param actions {next, previous, open, acknowledge, dispatch, escape, help, isDialogOpen}
 */
export function installKeyboard(actions) {
  const onKey = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (actions.isDialogOpen()) return; // the help dialog handles its own keys (Escape closes it)
    const target = event.target;
    if (event.key === "Escape") {
      if (typing(target)) target.blur(); // first leave the field, then close
      else if (actions.escape()) event.preventDefault();
      return;
    }
    if (typing(target)) return;
    const onMap = target instanceof Element && target.closest(".leaflet-container");
    const onControl = target instanceof Element && target.closest("button, a, summary, [role=button]");
    switch (event.key) {
      case "j":
      case "J":
        actions.next();
        break;
      case "ArrowDown":
        if (onMap) return; // arrows pan the map while it has the focus
        actions.next();
        break;
      case "k":
      case "K":
        actions.previous();
        break;
      case "ArrowUp":
        if (onMap) return;
        actions.previous();
        break;
      case "Enter":
        if (onControl) return; // Enter presses the focused button
        actions.open();
        break;
      case "a":
      case "A":
        actions.acknowledge();
        break;
      case "d":
      case "D":
        actions.dispatch();
        break;
      case "/":
      case "?":
        actions.help();
        break;
      default:
        return;
    }
    event.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}
