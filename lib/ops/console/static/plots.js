import { el, show, svg } from './dom.js';

// Plots of a bench or chaos report (GET /api/reports), drawn as inline SVG: horizontal bar charts.

const BAR = 22;
const LABEL_WIDTH = 170;
const CHART_WIDTH = 460;

/** A horizontal bar chart; `bars`: [{ label, value, text?, bad? }]. */
function barChart(title, bars, unit) {
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const plotWidth = CHART_WIDTH - LABEL_WIDTH - 100;
  const height = bars.length * BAR + 10;
  return el(
    'div',
    { class: 'plot' },
    el('h3', {}, title),
    svg(
      'svg',
      { viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': title },
      svg('line', { x1: LABEL_WIDTH, y1: 0, x2: LABEL_WIDTH, y2: height - 6, class: 'axis' }),
      bars.map((b, i) => {
        const y = 4 + i * BAR;
        const width = Math.max(b.value > 0 ? 1 : 0, (b.value / max) * plotWidth);
        return svg(
          'g',
          {},
          svg('text', { x: LABEL_WIDTH - 6, y: y + 14, 'text-anchor': 'end' }, b.label),
          svg('rect', { x: LABEL_WIDTH, y: y + 2, width, height: BAR - 6, class: b.bad ? 'bar bad' : 'bar' }),
          svg(
            'text',
            { x: LABEL_WIDTH + width + 5, y: y + 14, class: 'value' },
            b.text ?? `${b.value} ${unit}`,
          ),
        );
      }),
    ),
  );
}

function latencyChart(bench) {
  const first = bench.latencyHistogramMs.findIndex((b) => b.count > 0);
  if (first !== -1) {
    const buckets = bench.latencyHistogramMs.slice(first);
    const total = buckets.reduce((sum, b) => sum + b.count, 0);
    return barChart(
      `API → effect latency: ${total} messages (p50 ${bench.latencyMs.p50} ms, p95 ${bench.latencyMs.p95} ms, p99 ${bench.latencyMs.p99} ms)`,
      buckets.map((b) => ({
        label: b.toMs === null ? `≥ ${b.fromMs} ms` : `${b.fromMs}–${b.toMs} ms`,
        value: b.count,
        text: `${b.count} (${((b.count / total) * 100).toFixed(1)}%)`,
      })),
      'messages',
    );
  }
  return barChart(
    'API → effect latency (percentiles)',
    ['p50', 'p95', 'p99'].map((p) => ({ label: p, value: bench.latencyMs[p] })),
    'ms',
  );
}

function costCharts(bench) {
  return bench.costByComponent.map((pipeline) => {
    const total = pipeline.components.reduce((sum, c) => sum + c.usdPerMillion, 0);
    return barChart(
      `Cost per million messages by component: ${pipeline.pipeline} ($${total.toFixed(2)} in all)`,
      pipeline.components.map((c) => ({
        label: c.component,
        value: c.usdPerMillion,
        text: `$${c.usdPerMillion.toFixed(3)}`,
      })),
      '$',
    );
  });
}

/** Draws the plots of the reports found (or says how to make one). */
export function drawPlots(container, reports) {
  const parts = [];
  if (reports.bench !== null) {
    const b = reports.bench;
    parts.push(
      el(
        'p',
        { class: 'meta' },
        `bench: ${b.messages} messages over ${b.keys} keys, ${b.throughputPerSecond} msg/s (${b.source})`,
      ),
      el('div', { class: 'plots' }, latencyChart(b), costCharts(b)),
    );
  }
  if (reports.chaos !== null) {
    const c = reports.chaos;
    const good = new Set(['delivered', 'FAILED (kept, alerted)', 'alerts', 'dead-lettered']);
    parts.push(
      el(
        'p',
        { class: 'meta' },
        `chaos: ${c.committed} messages over ${c.keys} keys in ${c.seconds} s (${c.source})`,
      ),
      el(
        'div',
        { class: 'plots' },
        barChart(
          'Reliability run: where every committed message ended',
          c.outcomes.map((o) => ({ label: o.label, value: o.count, bad: !good.has(o.label) && o.count > 0 })),
          '',
        ),
      ),
    );
  }
  if (parts.length === 0) {
    parts.push(
      el(
        'p',
        { class: 'empty' },
        'No report: run `npm run -s bench -- --json > .local/bench.json` or `npm run -s chaos -- --json > .local/chaos.json`, or start the console with --report FILE.',
      ),
    );
  }
  show(container, parts);
}
