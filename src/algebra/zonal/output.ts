import type { StatName, ZoneStats } from './stats.js';

/** One row of the output: the zone's id and one key per statistic. */
export type ZoneRow = Record<string, ZoneStats[string] | string> & { id: string | number };

/**
 * The two output forms of `databox zonal`: JSON (an array with one object per feature: `id` and one key
 * per statistic, `histogram` as `{ "edges": [...], "counts": [...] }`) and CSV (the same as columns:
 * `histogram` becomes `histogram_edges` and `histogram_counts`, each a JSON array in one cell). Numbers
 * are written in the shortest form that reads back to the same double; a statistic of an empty zone is
 * null in JSON and an empty cell in CSV.
 */

export function formatZonalJson(rows: readonly ZoneRow[]): string {
  return rows.length === 0 ? '[]\n' : `[\n${rows.map((r) => `  ${JSON.stringify(r)}`).join(',\n')}\n]\n`;
}

export function formatZonalCsv(rows: readonly ZoneRow[], stats: readonly StatName[]): string {
  const header = ['id', ...stats.flatMap((s) => (s === 'histogram' ? ['histogram_edges', 'histogram_counts'] : [s]))];
  const lines = [header.map(csvCell).join(',')];
  for (const row of rows) {
    const cells: string[] = [csvCell(String(row.id))];
    for (const s of stats) {
      const v = row[s];
      if (s === 'histogram') {
        const h = v as { edges: number[]; counts: number[] } | null;
        cells.push(h === null ? '' : csvCell(JSON.stringify(h.edges)), h === null ? '' : csvCell(JSON.stringify(h.counts)));
      } else cells.push(v === null || v === undefined ? '' : String(v));
    }
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled. */
function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
