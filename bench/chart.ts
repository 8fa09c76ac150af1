/**
 * Cost curves as an SVG written by the benchmark: small multiples of line charts on logarithmic axes, plain
 * SVG with no dependency, so the file diffs and renders on GitHub as it is.
 */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yLog?: boolean;
  /** Format of tick labels on each axis. */
  xTick?: (v: number) => string;
  yTick?: (v: number) => string;
  /** A line across the panel at this y (a target), with its label. */
  target?: { y: number; label: string };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 460;
const H = 300;
const M = { left: 64, right: 16, top: 34, bottom: 48 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const compact = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 1 || a === 0) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
};

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    }
    return out.length >= 2 ? out : [lo, hi];
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 4 || 1));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 6) ?? step * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-9; v += nice) out.push(v);
  return out;
}

function panelSvg(p: Panel, ox: number, oy: number): string {
  const pts = p.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0));
  const out: string[] = [`<g transform="translate(${ox},${oy})">`];
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  if (!pts.length) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">not measured in this run</text></g>`);
    return out.join('');
  }
  let [x0, x1] = [Math.min(...pts.map((q) => q[0])), Math.max(...pts.map((q) => q[0]))];
  const ys = [...pts.map((q) => q[1]), ...(p.target ? [p.target.y] : [])];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (p.xLog) [x0, x1] = [x0 / 1.3, x1 * 1.3];
  else if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (p.yLog) [y0, y1] = [y0 / 1.5, y1 * 1.5];
  else [y0, y1] = [Math.min(0, y0), y1 * 1.1 || 1];
  const f = (v: number, lo: number, hi: number, log?: boolean) =>
    log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  const X = (v: number) => M.left + f(v, x0, x1, p.xLog) * (W - M.left - M.right);
  const Y = (v: number) => H - M.bottom - f(v, y0, y1, p.yLog) * (H - M.top - M.bottom);
  const xt = p.xTick ?? compact;
  const yt = p.yTick ?? compact;
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#bbb"/>`,
  );
  for (const v of ticks(x0, x1, !!p.xLog)) {
    out.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${X(v)}" y="${H - M.bottom + 14}" text-anchor="middle" font-size="10">${esc(xt(v))}</text>`);
  }
  for (const v of ticks(y0, y1, !!p.yLog)) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${Y(v)}" y2="${Y(v)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 4}" y="${Y(v) + 3}" text-anchor="end" font-size="10">${esc(yt(v))}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`);
  out.push(
    `<text transform="translate(14,${H / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`,
  );
  if (p.target) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${Y(p.target.y)}" y2="${Y(p.target.y)}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
    out.push(
      `<text x="${W - M.right - 2}" y="${Y(p.target.y) - 3}" text-anchor="end" font-size="10" fill="#666">${esc(p.target.label)}</text>`,
    );
  }
  p.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ok = s.points.filter(
      ([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.xLog || x > 0) && (!p.yLog || y > 0),
    );
    if (ok.length > 1)
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ok.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [x, y] of ok) out.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${c}"/>`);
    out.push(`<rect x="${M.left + 8}" y="${M.top + 6 + i * 14}" width="10" height="3" fill="${c}"/>`);
    out.push(`<text x="${M.left + 22}" y="${M.top + 11 + i * 14}" font-size="10">${esc(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('');
}

/** Panels two to a row, as one SVG document. */
export function chartSvg(title: string, panels: Panel[]): string {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * W;
  const height = rows * H + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...panels.map((p, i) => panelSvg(p, (i % cols) * W, 30 + Math.floor(i / cols) * H)),
    '</svg>',
    '',
  ].join('\n');
}
