/**
 * A small SVG line chart, written by hand so the bench needs no plotting
 * package: one or more series of (x, y) points, linear or logarithmic axes.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  readonly series: readonly Series[];
  /** Format of tick labels. */
  readonly formatX?: (value: number) => string;
  readonly formatY?: (value: number) => string;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 78, right: 200, top: 44, bottom: 56 };

export function lineChart(spec: ChartSpec): string {
  const all = spec.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.yLog || y > 0));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xAxis = axis(Math.min(...xs, Infinity), Math.max(...xs, -Infinity), spec.xLog ?? false, false);
  const yAxis = axis(Math.min(...ys, Infinity), Math.max(...ys, -Infinity), spec.yLog ?? false, true);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + xAxis.position(x) * plotW;
  const py = (y: number) => MARGIN.top + (1 - yAxis.position(y)) * plotH;
  const fx = spec.formatX ?? compact;
  const fy = spec.formatY ?? compact;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN.left}" y="24" font-size="15" font-weight="600">${escapeXml(spec.title)}</text>`);
  for (const tick of yAxis.ticks) {
    const y = py(tick).toFixed(1);
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#444">${escapeXml(fy(tick))}</text>`,
    );
  }
  for (const tick of xAxis.ticks) {
    const x = px(tick).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`);
    out.push(
      `<text x="${x}" y="${MARGIN.top + plotH + 18}" text-anchor="middle" fill="#444">${escapeXml(fx(tick))}</text>`,
    );
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  spec.series.forEach((series, index) => {
    const points = series.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!spec.yLog || y > 0));
    const dash = series.dashed ? ` stroke-dasharray="6 4"` : "";
    if (points.length > 1) {
      const path = points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${px(x).toFixed(1)} ${py(y).toFixed(1)}`).join(" ");
      out.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of points) {
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${series.color}"><title>${escapeXml(`${series.name}: ${fx(x)}, ${fy(y)}`)}</title></circle>`,
      );
    }
    const ly = MARGIN.top + 10 + index * 20;
    const lx = MARGIN.left + plotW + 16;
    out.push(
      `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${lx + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(series.name)}</text>`);
  });
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}

interface Axis {
  readonly ticks: number[];
  /** 0..1 along the axis. */
  position(value: number): number;
}

function axis(min: number, max: number, log: boolean, fromZero: boolean): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [0, 1], position: () => 0 };
  if (log) {
    const low = 10 ** Math.floor(Math.log10(min));
    const high = 10 ** Math.ceil(Math.log10(max === min ? max * 10 : max));
    const ticks: number[] = [];
    for (let decade = low; decade <= high; decade *= 10) {
      for (const m of [1, 2, 5]) if (decade * m >= low && decade * m <= high) ticks.push(decade * m);
    }
    const span = Math.log10(high) - Math.log10(low);
    return { ticks, position: (v) => (Math.log10(v) - Math.log10(low)) / span };
  }
  const start = fromZero ? 0 : min;
  const step = niceStep((max - start) / 5 || 1);
  const low = Math.floor(start / step) * step;
  const high = Math.ceil(max / step) * step || step;
  const ticks: number[] = [];
  for (let v = low; v <= high + step / 2; v += step) ticks.push(v);
  return { ticks, position: (v) => (v - low) / (high - low || 1) };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

export function compact(value: number): string {
  if (value >= 1e6) return `${trim(value / 1e6)}M`;
  if (value >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
