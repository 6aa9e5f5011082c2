// The one way the console's pages talk to the API: a bearer token kept for the tab's
// session, JSON in and out, and problem+json errors turned into `ProblemError`s whose
// message is the server's own `detail` (what an operator should read).

const TOKEN_KEY = "khusela.token";

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class Api {
  constructor(storage = sessionStorage) {
    this.storage = storage;
    this.token = storage.getItem(TOKEN_KEY);
    /** Called once when the server says the token is no longer valid (401). */
    this.onSignedOut = () => {};
  }

  get signedIn() {
    return Boolean(this.token);
  }

  async request(method, path, body) {
    const headers = { accept: "application/json, application/problem+json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    const payload = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      if (response.status === 401 && this.token) this.forget();
      throw new ProblemError(response.status, typeof payload === "object" ? payload : { detail: payload });
    }
    return payload;
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body = {}) {
    return this.request("POST", path, body);
  }

  put(path, body = {}) {
    return this.request("PUT", path, body);
  }

  async signIn(username, password, totp) {
    const body = { username, password };
    if (totp) body.totp = totp;
    const issued = await this.post("/api/auth/login", body);
    this.token = issued.access_token;
    this.storage.setItem(TOKEN_KEY, this.token);
    return this.get("/api/me");
  }

  async signOut() {
    try {
      await this.post("/api/auth/logout");
    } finally {
      this.forget();
    }
  }

  forget() {
    const had = this.token;
    this.token = null;
    this.storage.removeItem(TOKEN_KEY);
    if (had) this.onSignedOut();
  }

  /** A link that downloads with the token (for CSV exports opened by the browser). */
  async download(path, filename) {
    const response = await fetch(path, { headers: { authorization: `Bearer ${this.token}` } });
    if (!response.ok) throw new ProblemError(response.status, await response.json().catch(() => ({})));
    const url = URL.createObjectURL(await response.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}
