/**
 * A small grouped bar chart as SVG text (no dependencies), for RESULTS.md: one group per
 * category, one bar per series, values labelled.
 */

export interface BarChart {
  title: string;
  unit: string;
  categories: string[];
  series: { name: string; color: string; values: (number | undefined)[] }[];
}

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

function format(value: number): string {
  if (value === 0) return "0";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Several charts stacked vertically in one SVG. */
export function renderCharts(charts: BarChart[], width = 860): string {
  const chartHeight = 250;
  const parts: string[] = [];
  for (const [index, chart] of charts.entries())
    parts.push(renderChart(chart, 0, index * chartHeight, width, chartHeight));
  const height = charts.length * chartHeight;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

function renderChart(chart: BarChart, x0: number, y0: number, width: number, height: number): string {
  const left = x0 + 60;
  const right = x0 + width - 20;
  const top = y0 + 40;
  const bottom = y0 + height - 50;
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined);
  const max = niceMax(Math.max(...values, 0));
  const y = (v: number) => bottom - ((bottom - top) * v) / max;
  const out: string[] = [];
  out.push(`<text x="${x0 + 10}" y="${y0 + 20}" font-size="14" font-weight="bold">${esc(chart.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${format(v)}</text>`);
  }
  out.push(
    `<text x="${x0 + 14}" y="${(top + bottom) / 2}" transform="rotate(-90 ${x0 + 14} ${(top + bottom) / 2})" text-anchor="middle" fill="#555">${esc(chart.unit)}</text>`,
  );
  const groupWidth = (right - left) / chart.categories.length;
  const barWidth = Math.min(48, (groupWidth * 0.8) / chart.series.length);
  chart.categories.forEach((category, c) => {
    const groupLeft = left + c * groupWidth + (groupWidth - barWidth * chart.series.length) / 2;
    chart.series.forEach((series, s) => {
      const value = series.values[c];
      if (value === undefined) return;
      const bx = groupLeft + s * barWidth;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(bottom - y(value)).toFixed(1)}" fill="${series.color}"/>`,
      );
      out.push(
        `<text x="${(bx + barWidth / 2 - 1).toFixed(1)}" y="${(y(value) - 3).toFixed(1)}" text-anchor="middle" font-size="10">${format(value)}</text>`,
      );
    });
    out.push(
      `<text x="${(left + c * groupWidth + groupWidth / 2).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${esc(category)}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  let lx = left;
  for (const series of chart.series) {
    out.push(`<rect x="${lx}" y="${bottom + 28}" width="10" height="10" fill="${series.color}"/>`);
    out.push(`<text x="${lx + 14}" y="${bottom + 37}">${esc(series.name)}</text>`);
    lx += 24 + series.name.length * 6.5;
  }
  return `<g>${out.join("")}</g>`;
}
