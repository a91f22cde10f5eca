// `npm publish` first runs scripts/check-publish.ts (prepublishOnly): with provenance on,
// a package.json without the real source repository is refused with what to fill in.

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { publishProblems } from "../../scripts/check-publish";

const ROOT = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;

describe("the publish check", () => {
  it("runs before npm publish", () => {
    expect((pkg.scripts as Record<string, string>).prepublishOnly).toBe("tsx scripts/check-publish.ts");
  });

  it("asks for the repository this package.json leaves out, and nothing else", () => {
    expect(publishProblems(pkg)).toEqual([expect.stringMatching(/needs "repository".*npm provenance checks it/)]);
  });

  it("passes once the repository is a GitHub one, and refuses a private package or one without provenance", () => {
    const repository = { type: "git", url: "git+https://github.com/acme/aegis-edge.git" };
    expect(publishProblems({ ...pkg, repository })).toEqual([]);
    expect(publishProblems({ ...pkg, repository: "https://example.com/x.git" })).toHaveLength(1);
    expect(publishProblems({ ...pkg, repository, private: true })).toEqual(['package.json is "private": true']);
    expect(publishProblems({ ...pkg, repository, publishConfig: { access: "public" } })).toEqual([
      'package.json needs "publishConfig": {"provenance": true}',
    ]);
  });
});
