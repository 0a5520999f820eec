// Reads `redocly lint --format=json` output and fails on any problem, warnings included:
// `redocly lint` itself exits 0 on warnings, and the document must have none.
//
//   node scripts/lint-report.mjs LINT.json

import { readFileSync } from "node:fs";

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: node scripts/lint-report.mjs LINT.json");
  process.exit(2);
}

let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  console.error(`redocly lint gave no JSON report (${e.message}); its output is above`);
  process.exit(1);
}

const { errors = 0, warnings = 0, ignored = 0 } = report.totals ?? {};
for (const problem of report.problems ?? []) {
  const where = problem.location?.[0]?.pointer ?? "";
  console.log(`${problem.severity.padEnd(5)} ${problem.ruleId}: ${problem.message} at ${where}`);
}
console.log(`redocly lint (recommended): ${errors} errors, ${warnings} warnings, ${ignored} ignored`);
process.exit(errors + warnings + ignored === 0 ? 0 : 1);
