// The command-centre console (skeleton: sign in, then who you are). The operator views
// (map, queue, detail, KPIs, administration) are built on this.
import "leaflet/dist/leaflet.css";
import "./console.css";
import { Api } from "../shared/api.js";

const $ = (id) => document.getElementById(id);
const api = new Api();

function show(me) {
  $("login").hidden = true;
  $("home").hidden = false;
  $("who").textContent = `${me.username} · ${me.agency ? me.agency.name : "resident"}`;
  $("permissions").replaceChildren(
    ...me.permissions.map((p) => Object.assign(document.createElement("li"), { textContent: p })),
  );
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    show(await api.signIn(form.get("username"), form.get("password"), form.get("totp")));
    $("error").textContent = "";
  } catch (error) {
    $("error").textContent = error.message;
  }
});

$("logout").addEventListener("click", async () => {
  await api.signOut().catch(() => {});
  location.reload();
});

if (api.signedIn) api.get("/api/me").then(show).catch(() => api.forget());
