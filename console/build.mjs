// Bundle the console and the responder view (with Leaflet and Chart.js from node_modules)
// into khusela/web/static/build: one JS and one CSS file per page, no CDN at run time.
// `node build.mjs --watch` rebuilds on every change while developing.
import * as esbuild from "esbuild";

const options = {
  entryPoints: {
    console: "src/console/main.js",
    responder: "src/responder/main.js",
  },
  bundle: true,
  minify: true,
  sourcemap: true,
  sourcesContent: false, // maps point at files; no third-party source text (or its URLs) is shipped
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: "../khusela/web/static/build",
  loader: { ".png": "dataurl", ".svg": "dataurl" },
  logLevel: "warning",
  legalComments: "linked",
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log("watching console/src …");
} else {
  await esbuild.build(options);
}
