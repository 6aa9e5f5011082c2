// The KPIs view: alerts per hour and response times (p50/p90 to acknowledge, dispatch and
// reach the scene) per station, municipality or partner, set against the NENA/NFPA
// answering target (answer within `target_seconds` for `target_share` of alerts). The
// table carries the same figures as the charts, for screen readers and for exact values.
import { Chart, registerables } from "chart.js";
import "./kpis-admin.css";
import { h } from "../shared/dom.js";

Chart.register(...registerables);

const GROUPINGS = [
  ["station", "Station"],
  ["municipality", "Municipality"],
  ["partner", "Partner (responding agency)"],
];
const STAGES = [
  ["to_acknowledge", "Acknowledge", "#4fb3ff"],
  ["to_dispatch", "Dispatch", "#ffd166"],
  ["to_on_scene", "On scene", "#7ddc8a"],
];
const TOP_GROUPS = 15;
const HOURLY_MAX_DAYS = 31;
const TEXT = "#e8eef6";
const MUTED = "#a9b6c8";
const GRID = "rgba(232, 238, 246, 0.12)";
const HOUR_MS = 3_600_000;
const AXIS_LABELS = { 1: "1 s", 10: "10 s", 60: "1 min", 600: "10 min", 3600: "1 h", 36000: "10 h" };
const MAJOR_TICKS = Object.keys(AXIS_LABELS).map(Number);


const pad = (n) => String(n).padStart(2, "0");
const localDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays);
}

/** "12 s", "4 min 05 s", "1 h 02 min"; "—" when there is no figure. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

const percent = (share) => (share === null || share === undefined ? "—" : `${Math.round(share * 1000) / 10} %`);

function verdict(meets) {
  if (meets === true) return { text: "✓ Meets target", cls: "kx-good" };
  if (meets === false) return { text: "✗ Below target", cls: "kx-bad" };
  return { text: "No answerable alerts", cls: "kx-muted" };
}

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

function baseOptions() {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: reducedMotion() ? false : { duration: 300 },
    color: TEXT,
    plugins: {
      legend: { labels: { color: TEXT, boxWidth: 14, font: { size: 13 } } },
      tooltip: { backgroundColor: "#0c1016", borderColor: "#3a4658", borderWidth: 1 },
    },
  };
}

/** A dashed line across the chart at the answering target, labelled. */
const targetLine = {
  id: "kxTargetLine",
  afterDatasetsDraw(chart, _args, options) {
    const y = chart.scales.y;
    if (!options.seconds || !y) return;
    const at = y.getPixelForValue(options.seconds);
    if (at < chart.chartArea.top || at > chart.chartArea.bottom) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.strokeStyle = "#ff8a8a";
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(chartArea.left, at);
    ctx.lineTo(chartArea.right, at);
    ctx.stroke();
    ctx.font = "12px system-ui, sans-serif";
    const width = ctx.measureText(options.label).width;
    ctx.fillStyle = "rgba(16, 21, 28, 0.85)";
    ctx.fillRect(chartArea.left + 2, at - 18, width + 8, 16);
    ctx.fillStyle = "#ff8a8a";
    ctx.textAlign = "left";
    ctx.fillText(options.label, chartArea.left + 6, at - 6);
    ctx.restore();
  },
};

/** Every hour from `since` to `until` with its count (hours the server left out are 0). */
function hourSeries(hours, since, until) {
  const counts = new Map();
  for (const { hour, alerts } of hours) {
    const at = Math.floor(new Date(hour).getTime() / HOUR_MS) * HOUR_MS;
    counts.set(at, (counts.get(at) || 0) + alerts);
  }
  const series = [];
  const end = Math.min(until.getTime(), Date.now());
  for (let t = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS; t < end; t += HOUR_MS) {
    series.push({ at: new Date(t), alerts: counts.get(t) || 0 });
  }
  return series;
}

function byDay(series) {
  const days = new Map();
  for (const { at, alerts } of series) {
    const key = localDate(at);
    days.set(key, (days.get(key) || 0) + alerts);
  }
  return [...days].map(([day, alerts]) => ({ day, alerts }));
}

export function mountKpis(container, api) {
  const charts = [];
  let generation = 0;
  let disposed = false;

  const today = new Date();
  const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  const from = h("input", { type: "date", name: "from", value: localDate(weekAgo), required: true });
  const to = h("input", { type: "date", name: "to", value: localDate(today), required: true });
  const groupBy = h(
    "select",
    { name: "group_by" },
    GROUPINGS.map(([value, label]) => h("option", { value, text: label })),
  );
  const formError = h("p", { class: "kx-error", role: "alert" });
  const download = h("button", { type: "button", class: "kx-secondary", text: "Download CSV" });
  const controls = h(
    "form",
    { class: "kx-toolbar", "aria-label": "KPI filters" },
    h("label", { class: "kx-field" }, "From", from),
    h("label", { class: "kx-field" }, "To", to),
    h("label", { class: "kx-field" }, "Group by", groupBy),
    h("button", { type: "submit", text: "Show" }),
    download,
    formError,
  );

  const status = h("p", { class: "kx-status", role: "status", "aria-live": "polite" });
  const summary = h("div", { class: "kx-tiles" });
  const hourlyTitle = h("h3", { id: "kx-hourly-title", text: "Alerts per hour" });
  const hourlyBox = h("div", { class: "kx-chart kx-chart-short" });
  const hourlyError = h("p", { class: "kx-error", role: "alert" });
  const timesTitle = h("h3", { id: "kx-times-title", text: "Response times per station" });
  const timesNote = h("p", { class: "kx-note" });
  const timesBox = h("div", { class: "kx-chart" });
  const timesError = h("p", { class: "kx-error", role: "alert" });
  const table = h("table", { class: "kx-table" });
  const tableWrap = h("div", { class: "kx-table-wrap", tabindex: "0", role: "region", "aria-label": "Response times table" }, table);

  const root = h(
    "section",
    { class: "kx-view kx-kpis", "aria-labelledby": "kx-kpis-title" },
    h("h2", { id: "kx-kpis-title", text: "Key performance indicators" }),
    controls,
    status,
    summary,
    h("section", { class: "kx-card", "aria-labelledby": "kx-hourly-title" }, hourlyTitle, hourlyError, hourlyBox),
    h(
      "section",
      { class: "kx-card", "aria-labelledby": "kx-times-title" },
      timesTitle,
      timesNote,
      timesError,
      timesBox,
      tableWrap,
    ),
  );
  container.replaceChildren(root);

  function range() {
    if (!from.value || !to.value) throw new Error("Choose both dates.");
    if (from.value > to.value) throw new Error("The start date is after the end date.");
    const since = dayStart(from.value);
    const end = dayStart(to.value, 1);
    const until = end > new Date() ? new Date() : end;
    if (until <= since) throw new Error("The period has not started yet.");
    return { since, until };
  }

  function query({ since, until }) {
    return new URLSearchParams({
      since: since.toISOString(),
      until: until.toISOString(),
      group_by: groupBy.value,
    }).toString();
  }

  function dropCharts() {
    while (charts.length) charts.pop().destroy();
  }

  function canvasIn(box, label) {
    const canvas = h("canvas", { role: "img", "aria-label": label });
    box.replaceChildren(canvas);
    return canvas;
  }

  function drawHourly(report, since, until) {
    const hourly = hourSeries(report.hours || [], since, until);
    const daily = hourly.length > HOURLY_MAX_DAYS * 24;
    const points = daily ? byDay(hourly) : hourly;
    hourlyTitle.textContent = daily ? "Alerts per day" : "Alerts per hour";
    const total = hourly.reduce((sum, p) => sum + p.alerts, 0);
    const when = new Intl.DateTimeFormat("en-ZA", { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
    const labels = points.map((p) => (daily ? p.day : when.format(p.at)));
    const canvas = canvasIn(hourlyBox, `${hourlyTitle.textContent}: ${total} alerts in the period`);
    const options = baseOptions();
    options.plugins.legend.display = false;
    options.scales = {
      x: { ticks: { color: MUTED, maxRotation: 0, autoSkip: true, autoSkipPadding: 16 }, grid: { display: false } },
      y: { beginAtZero: true, ticks: { color: MUTED, precision: 0 }, grid: { color: GRID }, title: { display: true, text: "alerts", color: MUTED } },
    };
    charts.push(
      new Chart(canvas, {
        type: "bar",
        data: { labels, datasets: [{ label: "Alerts", data: points.map((p) => p.alerts), backgroundColor: "#4fb3ff", borderRadius: 2 }] },
        options,
      }),
    );
  }

  function drawTimes(report) {
    const label = GROUPINGS.find(([v]) => v === report.group_by)?.[1] || report.group_by;
    timesTitle.textContent = `Response times per ${label.split(" ")[0].toLowerCase()}`;
    const top = [...report.groups].sort((a, b) => b.count - a.count).slice(0, TOP_GROUPS);
    timesNote.textContent =
      `Target: answered within ${report.target_seconds} s for ${Math.round(report.target_share * 100)} % of alerts ` +
      "(NENA call answering, NFPA 1225). " +
      (report.groups.length > TOP_GROUPS ? `The chart shows the ${TOP_GROUPS} groups with most alerts; the table shows all. ` : "") +
      "Filled bars: median (p50); outlined bars: 90th percentile (p90). Logarithmic scale.";
    if (!top.length) {
      timesBox.replaceChildren(h("p", { class: "kx-empty", text: "No alerts in this period." }));
      return;
    }
    const datasets = STAGES.flatMap(([key, name, colour]) => [
      { label: `${name} p50`, data: top.map((g) => g[key].p50_s), backgroundColor: colour, borderColor: colour, borderWidth: 1 },
      { label: `${name} p90`, data: top.map((g) => g[key].p90_s), backgroundColor: `${colour}33`, borderColor: colour, borderWidth: 2 },
    ]);
    const canvas = canvasIn(timesBox, `${timesTitle.textContent}: median and 90th percentile; the table below lists the figures`);
    const options = baseOptions();
    options.plugins.kxTargetLine = { seconds: report.target_seconds, label: `answer target ${report.target_seconds} s` };
    options.plugins.tooltip.callbacks = { label: (item) => `${item.dataset.label}: ${duration(item.raw)}` };
    options.scales = {
      x: { ticks: { color: TEXT, autoSkip: false, maxRotation: 40 }, grid: { display: false } },
      y: {
        type: "logarithmic",
        min: 1,
        ticks: { color: MUTED, callback: (v) => (MAJOR_TICKS.includes(v) ? AXIS_LABELS[v] : "") },
        grid: { color: (c) => (c.tick && MAJOR_TICKS.includes(c.tick.value) ? GRID : "transparent") },
        title: { display: true, text: "time from alert (log scale)", color: MUTED },
      },
    };
    charts.push(
      new Chart(canvas, {
        type: "bar",
        data: { labels: top.map((g) => g.label), datasets },
        options,
        plugins: [targetLine],
      }),
    );
  }

  function row(group, cell = "td") {
    const v = verdict(group.meets_target);
    const share = `${percent(group.answered_share)} (${group.answered_within_target}/${group.answerable})`;
    return h(
      "tr",
      {},
      h("th", { scope: "row", text: group.label }),
      h(cell, { class: "kx-num", text: String(group.count) }),
      STAGES.flatMap(([key]) => [
        h(cell, { class: "kx-num", text: duration(group[key].p50_s) }),
        h(cell, { class: "kx-num", text: duration(group[key].p90_s) }),
      ]),
      h(cell, { class: "kx-num", text: share }),
      h(cell, { class: v.cls, text: v.text }),
    );
  }

  function fillTable(report) {
    const label = GROUPINGS.find(([v]) => v === report.group_by)?.[1] || "Group";
    const groups = [...report.groups].sort((a, b) => b.count - a.count);
    table.replaceChildren(
      h("caption", { text: `Response times by ${label.toLowerCase()} (p50 = median, p90 = 90th percentile)` }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", rowspan: "2", text: label.split(" ")[0] }),
          h("th", { scope: "col", rowspan: "2", class: "kx-num", text: "Alerts" }),
          STAGES.map(([, name]) => h("th", { scope: "colgroup", colspan: "2", text: `To ${name.toLowerCase()}` })),
          h("th", { scope: "col", rowspan: "2", class: "kx-num", text: `Answered ≤ ${report.target_seconds} s` }),
          h("th", { scope: "col", rowspan: "2", text: `Target ${Math.round(report.target_share * 100)} %` }),
        ),
        h("tr", {}, STAGES.flatMap(() => [h("th", { scope: "col", class: "kx-num", text: "p50" }), h("th", { scope: "col", class: "kx-num", text: "p90" })])),
      ),
      h(
        "tbody",
        {},
        groups.length
          ? groups.map((g) => row(g))
          : h("tr", {}, h("td", { colspan: "10", class: "kx-empty", text: "No alerts in this period." })),
      ),
      h("tfoot", {}, row({ ...report.overall, label: "All" })),
    );
  }

  function fillSummary(report) {
    const o = report.overall;
    const v = verdict(o.meets_target);
    const tile = (name, value, extra, cls = "") =>
      h("div", { class: `kx-tile ${cls}` }, h("span", { class: "kx-tile-name", text: name }), h("strong", { text: value }), h("span", { class: "kx-tile-extra", text: extra }));
    summary.replaceChildren(
      tile("Alerts", String(o.count), `${o.answerable} answerable`),
      tile(`Answered within ${report.target_seconds} s`, percent(o.answered_share), v.text, v.cls),
      tile("To acknowledge", duration(o.to_acknowledge.p50_s), `p90 ${duration(o.to_acknowledge.p90_s)}`),
      tile("To dispatch", duration(o.to_dispatch.p50_s), `p90 ${duration(o.to_dispatch.p90_s)}`),
      tile("To on scene", duration(o.to_on_scene.p50_s), `p90 ${duration(o.to_on_scene.p90_s)}`),
    );
  }

  async function load() {
    let period;
    try {
      period = range();
    } catch (error) {
      formError.textContent = error.message;
      return;
    }
    formError.textContent = "";
    const mine = ++generation;
    status.textContent = "Loading…";
    root.setAttribute("aria-busy", "true");
    const q = query(period);
    const [hourly, times] = await Promise.allSettled([
      api.get(`/api/panic/kpis/hourly?${new URLSearchParams({ since: period.since.toISOString(), until: period.until.toISOString() })}`),
      api.get(`/api/panic/kpis?${q}`),
    ]);
    if (disposed || mine !== generation) return;
    dropCharts();
    hourlyError.textContent = hourly.status === "rejected" ? `Alerts per hour: ${hourly.reason.message}` : "";
    timesError.textContent = times.status === "rejected" ? `Response times: ${times.reason.message}` : "";
    if (hourly.status === "fulfilled") drawHourly(hourly.value, period.since, period.until);
    else hourlyBox.replaceChildren();
    if (times.status === "fulfilled") {
      fillSummary(times.value);
      drawTimes(times.value);
      fillTable(times.value);
    } else {
      summary.replaceChildren();
      timesBox.replaceChildren();
      table.replaceChildren();
    }
    root.removeAttribute("aria-busy");
    const fmt = new Intl.DateTimeFormat("en-ZA", { dateStyle: "medium", timeStyle: "short" });
    status.textContent = `${fmt.format(period.since)} – ${fmt.format(period.until)}`;
  }

  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  groupBy.addEventListener("change", load);

  download.addEventListener("click", async () => {
    let period;
    try {
      period = range();
    } catch (error) {
      formError.textContent = error.message;
      return;
    }
    download.disabled = true;
    try {
      await api.download(`/api/panic/kpis.csv?${query(period)}`, `khusela-response-times-${groupBy.value}-${from.value}-to-${to.value}.csv`);
      formError.textContent = "";
    } catch (error) {
      formError.textContent = `Download failed: ${error.message}`;
    } finally {
      download.disabled = false;
    }
  });

  load();

  return {
    unmount() {
      disposed = true;
      dropCharts();
      root.remove();
    },
  };
}
