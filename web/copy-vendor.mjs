// Copies the browser builds the investigator page needs from web/node_modules into
// service/static/vendor/ (gitignored). Idempotent: a file whose bytes are already there is left alone.
// Usage: node web/copy-vendor.mjs   (after `npm ci` in web/)
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const vendor = join(here, '..', 'service', 'static', 'vendor');

// [source under node_modules, name under service/static/vendor]
const FILES = [
  ['cytoscape/dist/cytoscape.min.js', 'cytoscape.min.js'],
  ['cytoscape/LICENSE', 'cytoscape.LICENSE.txt'],
  // Swagger UI for the API docs at /docs (served from here, not from a CDN).
  ['swagger-ui-dist/swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
  ['swagger-ui-dist/swagger-ui.css', 'swagger-ui.css'],
  ['swagger-ui-dist/favicon-32x32.png', 'swagger-favicon-32x32.png'],
  ['swagger-ui-dist/LICENSE', 'swagger-ui.LICENSE.txt'],
];

const same = (a, b) => existsSync(b) && readFileSync(a).equals(readFileSync(b));

mkdirSync(vendor, { recursive: true });
let copied = 0;
for (const [src, name] of FILES) {
  const from = join(modules, src);
  const to = join(vendor, name);
  if (!existsSync(from)) {
    console.error(`copy-vendor: ${relative(process.cwd(), from)} is missing: run \`npm ci\` in web/ first`);
    process.exit(1);
  }
  if (same(from, to)) continue;
  copyFileSync(from, to);
  copied += 1;
}
if (copied) console.log(`copy-vendor: ${copied} file(s) copied to ${relative(process.cwd(), vendor) || vendor}`);
