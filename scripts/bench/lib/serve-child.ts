// A self-hosted gateway in a process of its own, for benchmarks whose load generator must not
// share its event loop: the options come as JSON in argv[2], the URL goes to stdout as one
// line, and SIGTERM closes the server cleanly. Over the IPC channel, when there is one, a
// "cpu" message is answered with this process's CPU time so far (process.cpuUsage).

import { startSelfHosted } from "../../../src/server/self-hosted";

const options = JSON.parse(process.argv[2] ?? "{}") as Parameters<typeof startSelfHosted>[0];
const server = await startSelfHosted({ ...options, port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.on("SIGTERM", () => {
  void server.close().finally(() => process.exit(0));
});
process.on("message", (message) => {
  if (message === "cpu") process.send?.({ cpu: process.cpuUsage() });
});
