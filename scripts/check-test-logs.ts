// After a full test run: the logs it wrote (every test's console output, which vitest keeps
// in test-artifacts/vitest-junit.xml) must hold no API key, operator token, signing secret or
// webhook secret. Run by `npm test`; exits 1 naming what it found, and where.

import { readFileSync } from "node:fs";
import { TEST_WEBHOOK_SECRET } from "../test/support/webhook-secret";
import { TEST_ADMIN_TOKEN, TEST_KEY_SIGNING_SECRET } from "../vitest.config";

const FILES = [process.env.AEGIS_TEST_LOG ?? "test-artifacts/vitest-junit.xml", "test-artifacts/console.log"];
const literal = (value: string) => new RegExp(value.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));

/** What must never be logged: the tests' own secrets, and anything shaped like one. */
const SECRETS: [what: string, pattern: RegExp][] = [
  ["an API key", /ak_tn[a-z2-7]{16}_[A-Za-z0-9]{32,64}/],
  ["the operator token", literal(TEST_ADMIN_TOKEN)],
  ["an operator token of a test gateway", /admin-token-0123456789/],
  ["the npm start test's operator token", /-0123456789';|"q"-0123456789/],
  ["the key signing secret", literal(TEST_KEY_SIGNING_SECRET)],
  ["a key signing secret of a test", /signing-secret-0123456/],
  ["the webhook secret", literal(TEST_WEBHOOK_SECRET)],
  ["a webhook secret", /whsec_[A-Za-z0-9+/=]{16,}/],
  ["a metrics token", /metrics-[a-z-]*token-0123456789/],
  ["a metrics token npm start generated", /mtk_[A-Za-z0-9_-]{43}/],
];

const [FILE] = FILES;
let text: string;
try {
  // The junit file keeps each test's output; console.log, every line vitest saw (onConsoleLog),
  // with those logged outside any test (hooks, work that outlives a test).
  text = FILES.map((f) => readFileSync(f, "utf8")).join("\n");
} catch (err) {
  console.error(`check-test-logs: ${String(err)}: run the tests first (npm test writes them)`);
  process.exit(1);
}
const tests = (text.match(/<testcase /g) ?? []).length;
if (tests === 0) {
  console.error(`check-test-logs: ${FILE} holds no test: nothing was checked`);
  process.exit(1);
}
const found = SECRETS.flatMap(([what, pattern]) => {
  const at = text.search(pattern);
  // The context before it, never the secret itself: this message is a log too.
  return at === -1 ? [] : [`${what}, at character ${at}, after: …${text.slice(Math.max(0, at - 80), at)}`];
});
if (found.length > 0) {
  console.error(`check-test-logs: the test run's logs hold secrets:\n${found.join("\n")}`);
  process.exit(1);
}
const logged = (text.match(/<system-(out|err)>/g) ?? []).length;
console.log(`check-test-logs: ${tests} tests, ${logged} blocks of logs, no key, token or secret in them`);
