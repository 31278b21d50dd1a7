/**
 * The metric names a PromQL expression reads, and the sample names a Prometheus text exposition
 * offers. Enough PromQL for dashboards: selectors, functions, aggregations with by/without, binary
 * operators, ranges, Grafana variables.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Metric names in `expr`, sorted and unique. */
export function metricNames(expr: string): string[] {
  let text = expr
    .replace(/\{[^}]*\}/g, ' ') // label matchers, with their quoted values
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // string arguments
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = text.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(m[0].toLowerCase())) continue; // a function or aggregation
    names.add(m[0]);
  }
  return [...names].sort();
}

/** Every sample name a scrape can contain, from its # TYPE lines (present before any observation). */
export function exposedSampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** Values of `label="value"` matchers in `expr`. */
export function matcherValues(expr: string, label: string): string[] {
  return [...expr.matchAll(new RegExp(`\\b${label}\\s*=\\s*"([^"]*)"`, 'g'))].map((m) => m[1]!);
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows included) and query variables. */
export function dashboardQueries(file: string, dashboard: any): DashboardQuery[] {
  const found: DashboardQuery[] = [];
  const visit = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) found.push({ dashboard: file, panel: p.title, expr: t.expr });
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = v.type === 'query' && typeof q === 'string' ? /^label_values\((\w+)\s*,/.exec(q) : null;
    if (m) found.push({ dashboard: file, panel: `variable ${v.name}`, expr: m[1]! });
  }
  return found;
}
