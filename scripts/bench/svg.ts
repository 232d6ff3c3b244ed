// A tiny SVG chart writer for the benchmark report: line charts (latency by percentile) and
// bar charts (throughput). Self-contained files, no fonts or scripts to fetch, readable in a
// browser or on GitHub.

const WIDTH = 820;
const HEIGHT = 360;
const MARGIN = { top: 40, right: 200, bottom: 50, left: 70 };
const COLORS = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2"];

export interface LineSeries {
  name: string;
  values: number[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A "nice" upper bound for an axis (1, 2, 2.5 or 5 times a power of ten) and its tick step. */
function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

function frame(title: string, yLabel: string, top: number, step: number, plotW: number): string[] {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${
      esc(title)
    }</text>`,
    `<text transform="translate(24 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
      esc(yLabel)
    }</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = MARGIN.top + plotH - (v / top) * plotH;
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${
      MARGIN.top + plotH
    }" stroke="#333"/>`,
  );
  return out;
}

/** One line per series over categorical x positions (e.g. percentiles "p50", "p90", …). */
export function lineChart(opts: { title: string; yLabel: string; xLabels: string[]; series: LineSeries[] }) {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const { top, step } = niceScale(Math.max(...opts.series.flatMap((s) => s.values)));
  const out = frame(opts.title, opts.yLabel, top, step, plotW);
  const x = (i: number) =>
    MARGIN.left + (opts.xLabels.length > 1 ? (i / (opts.xLabels.length - 1)) * plotW : 0);
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  opts.xLabels.forEach((label, i) =>
    out.push(`<text x="${x(i)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${esc(label)}</text>`)
  );
  opts.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    s.values.forEach((v, i) =>
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${color}"/>`)
    );
    const ly = MARGIN.top + 10 + k * 18;
    out.push(
      `<line x1="${WIDTH - MARGIN.right + 14}" x2="${
        WIDTH - MARGIN.right + 34
      }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${WIDTH - MARGIN.right + 40}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** Vertical bars with their values printed on top. */
export function barChart(opts: { title: string; yLabel: string; bars: { label: string; value: number }[] }) {
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const plotW = WIDTH - MARGIN.left - 30; // no legend: use the room
  const { top, step } = niceScale(Math.max(...opts.bars.map((b) => b.value)));
  const out = frame(opts.title, opts.yLabel, top, step, plotW);
  const slot = plotW / opts.bars.length;
  opts.bars.forEach((b, i) => {
    const h = (b.value / top) * plotH;
    const x = MARGIN.left + i * slot + slot * 0.2;
    const y = MARGIN.top + plotH - h;
    out.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.6).toFixed(1)}" height="${
        h.toFixed(1)
      }" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${(x + slot * 0.3).toFixed(1)}" y="${(y - 5).toFixed(1)}" text-anchor="middle">${
        fmt(b.value)
      }</text>`,
      `<text x="${(x + slot * 0.3).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${
        esc(b.label)
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
