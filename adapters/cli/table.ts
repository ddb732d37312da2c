/** Terminal tables for the CLI, in the boxed style of the nova client (cli-table3). */
import Table from "cli-table3"

/** Renders rows under a header; numbers are right-aligned. */
export function renderTable(
  head: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const table = new Table({
    head: [...head],
    style: { head: [], border: [] },
    chars: { "mid": "", "left-mid": "", "mid-mid": "", "right-mid": "" },
    colAligns: head.map((_, i) =>
      rows.length > 0 && typeof rows[0]![i] === "number" ? "right" : "left"),
  })
  for (const row of rows) table.push(row.map((cell) => String(cell)))
  return table.toString()
}

/** Renders a two-column Property/Value table (nova's `*-show` style); objects become JSON. */
export function renderProperties(record: object): string {
  const rows = Object.entries(record).map(([key, value]) =>
    [key, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)])
  return renderTable(["Property", "Value"], rows)
}
