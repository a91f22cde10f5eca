// `npm publish` runs this first (prepublishOnly). The package is published with npm
// provenance, which ties the tarball to the source repository and the CI run that built
// it: the registry refuses a publish whose package.json `repository` does not name the
// repository the workflow ran in. This repository has no remote of its own yet, so the
// field is left out rather than guessed, and this check says what to fill in instead of
// letting the registry refuse the upload half-way.

import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");

/** What is missing for a publish with provenance, or an empty list. */
export function publishProblems(pkg: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const repository = pkg.repository as { url?: unknown } | string | undefined;
  const url = typeof repository === "string" ? repository : repository?.url;
  if (typeof url !== "string" || !/^(git\+)?https:\/\/github\.com\/[\w.-]+\/[\w.-]+?(\.git)?$/.test(url)) {
    problems.push(
      'package.json needs "repository": {"type": "git", "url": "git+https://github.com/OWNER/NAME.git"}, the ' +
        "GitHub repository the package is published from: npm provenance checks it against the build",
    );
  }
  if ((pkg.publishConfig as { provenance?: unknown } | undefined)?.provenance !== true) {
    problems.push('package.json needs "publishConfig": {"provenance": true}');
  }
  if (pkg.private === true) problems.push('package.json is "private": true');
  return problems;
}

if (import.meta.main) {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const problems = publishProblems(pkg);
  for (const p of problems) console.error(`cannot publish: ${p}`);
  process.exit(problems.length > 0 ? 1 : 0);
}
