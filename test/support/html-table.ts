// Reading a server-rendered page's table in tests: its rows, each the row's identifying
// attribute followed by the cells' text (tags dropped).

export function tableRows(html: string, id: string, attribute: string): string[][] {
  const table = new RegExp(`<table id="${id}">.*?</table>`, "s").exec(html)?.[0] ?? "";
  return [...table.matchAll(new RegExp(`<tr ${attribute}="([^"]*)"[^>]*>(.*?)</tr>`, "gs"))].map((m) => [
    m[1] as string,
    ...[...(m[2] ?? "").matchAll(/<td[^>]*>(.*?)<\/td>/gs)].map((c) => (c[1] ?? "").replaceAll(/<[^>]+>/g, "")),
  ]);
}
