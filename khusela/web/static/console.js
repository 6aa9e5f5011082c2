// The console shell: sign in, then show who you are and what you may do.
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("khusela.token");

async function api(path, options = {}) {
  const headers = { "content-type": "application/json", ...(options.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  if (!response.ok && response.status !== 204) {
    const problem = await response.json().catch(() => ({ detail: response.statusText }));
    throw new Error(problem.detail || problem.title);
  }
  return response.status === 204 ? null : response.json();
}

function show(me) {
  $("login").hidden = true;
  $("home").hidden = false;
  $("who").textContent = `${me.username} · ${me.agency ? me.agency.name : "resident"}`;
  const rows = [["Roles", me.roles.join(", ")], ["Clearance", me.clearance], ["Agency", me.agency ? me.agency.name : "—"]];
  $("profile").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
  $("permissions").replaceChildren(...me.permissions.map((p) => {
    const li = document.createElement("li"); li.textContent = p; return li;
  }));
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = { username: form.get("username"), password: form.get("password") };
  if (form.get("totp")) body.totp = form.get("totp");
  try {
    const issued = await api("/api/auth/login", { method: "POST", body: JSON.stringify(body) });
    token = issued.access_token;
    sessionStorage.setItem("khusela.token", token);
    $("error").textContent = "";
    show(await api("/api/me"));
  } catch (error) {
    $("error").textContent = error.message;
  }
});

$("logout").addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" }).catch(() => {});
  token = null;
  sessionStorage.removeItem("khusela.token");
  location.reload();
});

if (token) api("/api/me").then(show).catch(() => sessionStorage.removeItem("khusela.token"));
