// A tensor's histograms over the steps, drawn as TensorBoard draws them: "distributions" (bands between the
// percentiles 0, 7, 16, 31, 50, 69, 84, 93 and 100 of each sample, step on x) and "histograms" (the latest samples'
// histograms stacked, oldest at the back).

import { useEffect, useRef } from "react";
import type { Histogram } from "./records";

export interface StepHistogram {
  step: number;
  histogram: Histogram;
}

const percentiles = [0, 0.07, 0.16, 0.31, 0.5, 0.69, 0.84, 0.93, 1];

/** The value below which fraction `q` of the histogram's counts lie (linear within a bin). */
function quantile(h: Histogram, q: number): number | null {
  if (h.min === null || h.max === null) return null;
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const width = (h.max - h.min) / h.counts.length;
  let seen = 0;
  const target = q * total;
  for (let b = 0; b < h.counts.length; b++) {
    if (seen + h.counts[b] >= target && h.counts[b] > 0) return h.min + width * (b + (target - seen) / h.counts[b]);
    seen += h.counts[b];
  }
  return h.max;
}

function setup(canvas: HTMLCanvasElement) {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const context = canvas.getContext("2d")!;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  context.font = "10px sans-serif";
  return { context, width, height };
}

export function DistributionChart({ series, testId }: { series: StepHistogram[]; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const { context, width, height } = setup(canvas.current);
    const bands = series.map((s) => ({ step: s.step, q: percentiles.map((p) => quantile(s.histogram, p)) })).filter((b) => b.q.every((v) => v !== null));
    if (bands.length === 0) return;
    const left = 44;
    const values = bands.flatMap((b) => b.q as number[]);
    const low = Math.min(...values);
    const high = Math.max(...values);
    const first = bands[0].step;
    const last = bands[bands.length - 1].step;
    const x = (step: number) => left + (last > first ? ((step - first) / (last - first)) * (width - left - 6) : (width - left) / 2);
    const y = (v: number) => height - 14 - (high > low ? ((v - low) / (high - low)) * (height - 22) : (height - 22) / 2);
    for (let k = 0; k < 4; k++) {
      context.fillStyle = `rgba(230, 126, 34, ${0.18 + 0.14 * k})`;
      context.beginPath();
      bands.forEach((b, i) => (i === 0 ? context.moveTo(x(b.step), y(b.q[k]!)) : context.lineTo(x(b.step), y(b.q[k]!))));
      for (let i = bands.length - 1; i >= 0; i--) context.lineTo(x(bands[i].step), y(bands[i].q[8 - k]!));
      context.closePath();
      context.fill();
    }
    context.strokeStyle = "#a04000";
    context.beginPath();
    bands.forEach((b, i) => (i === 0 ? context.moveTo(x(b.step), y(b.q[4]!)) : context.lineTo(x(b.step), y(b.q[4]!))));
    context.stroke();
    context.fillStyle = "#3e4c59";
    context.fillText(high.toPrecision(3), 2, 10);
    context.fillText(low.toPrecision(3), 2, height - 16);
    context.fillText(`step ${first}`, left, height - 2);
    context.textAlign = "right";
    context.fillText(`${last}`, width - 4, height - 2);
  }, [series]);
  return <canvas ref={canvas} className="distribution" data-testid={testId} data-samples={series.length} />;
}

export function HistogramStack({ series, testId }: { series: StepHistogram[]; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const { context, width, height } = setup(canvas.current);
    const shown = series.filter((s) => s.histogram.min !== null && s.histogram.max !== null).slice(-12);
    if (shown.length === 0) return;
    const low = Math.min(...shown.map((s) => s.histogram.min as number));
    const high = Math.max(...shown.map((s) => s.histogram.max as number));
    const offset = Math.min(8, (height - 30) / Math.max(1, shown.length));
    const ridge = height - 16 - offset * (shown.length - 1);
    shown.forEach((s, i) => {
      const h = s.histogram;
      const peak = Math.max(...h.counts, 1);
      const base = height - 14 - offset * (shown.length - 1 - i);
      const binWidth = ((h.max as number) - (h.min as number)) / h.counts.length;
      const x = (v: number) => 8 + (high > low ? ((v - low) / (high - low)) * (width - 16) : (width - 16) / 2);
      context.beginPath();
      context.moveTo(x(h.min as number), base);
      h.counts.forEach((c, b) => {
        const top = base - (c / peak) * (ridge - 4);
        context.lineTo(x((h.min as number) + binWidth * b), top);
        context.lineTo(x((h.min as number) + binWidth * (b + 1)), top);
      });
      context.lineTo(x(h.max as number), base);
      const shade = 0.25 + (0.75 * (i + 1)) / shown.length;
      context.fillStyle = `rgba(230, 126, 34, ${0.35 * shade})`;
      context.strokeStyle = `rgba(160, 64, 0, ${shade})`;
      context.fill();
      context.stroke();
    });
    context.fillStyle = "#3e4c59";
    context.fillText(low.toPrecision(3), 2, height - 2);
    context.textAlign = "right";
    context.fillText(`${high.toPrecision(3)} (step ${shown[shown.length - 1].step})`, width - 2, height - 2);
  }, [series]);
  return <canvas ref={canvas} className="distribution" data-testid={testId} data-samples={series.length} />;
}
