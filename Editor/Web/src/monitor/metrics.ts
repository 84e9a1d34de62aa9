// What the graph's badges and heat mode show of a sample: one number per node for the metric the user picks, its text,
// and a colour on a scale across the nodes (log scale for norms, ratios and times; 0–1 for fractions).

import type { RunRecord, TrainRecord } from "./records";

export type BadgeMetric = "gradNorm" | "updateRatio" | "deadOrSaturated" | "time";
export type HeatMode = "off" | "time" | "gradNorm";

export const badgeMetrics: { id: BadgeMetric; label: string; title: string }[] = [
  { id: "gradNorm", label: "gradient norm", title: "‖∂L/∂y‖: the norm of the loss's gradient with respect to the node's output" },
  { id: "updateRatio", label: "update ratio", title: "‖Δw‖/‖w‖ of the node's weights in the sampled step (healthy: about 1e-3)" },
  { id: "deadOrSaturated", label: "dead / saturated", title: "ReLU: channels dead for the whole batch; sigmoid, tanh: outputs within 2 % of a bound" },
  { id: "time", label: "time", title: "forward + backward time of the node in the sampled step" },
];

export interface Badge {
  value: number;
  text: string;
  /** CSS colour on the metric's scale. */
  colour: string;
}

/** The weight matrix or kernel of each node (a parameter of rank ≥ 2), by node name. */
export function weightsByNode(description: RunRecord | null): Map<string, string> {
  const weights = new Map<string, string>();
  for (const p of description?.parameters ?? []) {
    if (p.shape.length < 2) continue;
    const node = p.name.slice(0, p.name.lastIndexOf("."));
    if (!weights.has(node)) weights.set(node, p.name);
  }
  return weights;
}

/** Every node's value of `metric` in `sample` (nodes without one are left out); NaN where the tensors it is computed from
 * held NaN or ±∞ (the statistics are of the finite values only: a number there would hide the divergence). */
export function metricValues(sample: TrainRecord, metric: BadgeMetric | "time" | "gradNorm", weights: Map<string, string>): Map<string, number> {
  const values = new Map<string, number>();
  const parameters = new Map(sample.parameters.map((p) => [p.name, p]));
  for (const node of sample.nodes) {
    let value: number | null = null;
    if (metric === "gradNorm") value = node.gradNorm;
    else if (metric === "time") value = node.forwardMs === null && node.backwardMs === null ? null : (node.forwardMs ?? 0) + (node.backwardMs ?? 0);
    else if (metric === "updateRatio") value = parameters.get(weights.get(node.name) ?? "")?.updateRatio ?? null;
    else value = node.type === "ReLU" || node.type === "ReLU6" ? node.deadChannelFraction : node.saturatedFraction;
    const parameter = parameters.get(weights.get(node.name) ?? "");
    const nonFinite =
      metric === "gradNorm" ? (node.gradNonFinite ?? 0) > 0
      : metric === "updateRatio" ? parameter !== undefined && parameter.nonFinite + parameter.gradNonFinite > 0
      : metric === "deadOrSaturated" ? node.nonFinite > 0
      : false;
    if (nonFinite) values.set(node.name, NaN);
    else if (value !== null && Number.isFinite(value)) values.set(node.name, value);
  }
  return values;
}

const logScaled = (metric: BadgeMetric | HeatMode) => metric !== "deadOrSaturated";

/** A value's place in [0, 1] on the scale of `values` (log10 for norms, ratios and times). */
function position(value: number, values: number[], log: boolean): number {
  const f = (v: number) => (log ? Math.log10(Math.max(v, 1e-30)) : v);
  if (!log) return Math.min(1, Math.max(0, value));
  const all = values.filter((v) => v > 0).map(f);
  if (all.length === 0) return 0;
  const low = Math.min(...all);
  const high = Math.max(...all);
  return high > low ? (f(value) - low) / (high - low) : 0.5;
}

/** Blue (low) → yellow → red (high). */
export function scaleColour(t: number, alpha = 1): string {
  const hue = 220 - 220 * Math.min(1, Math.max(0, t));
  return `hsla(${hue.toFixed(0)}, 75%, 50%, ${alpha})`;
}

/** What a value that is NaN or ±∞ reads as (the Train tab's loss says the same). */
export const notFinite = "NaN or ∞";
const notFiniteColour = "#b00020";

export function formatMetric(metric: BadgeMetric, value: number): string {
  if (!Number.isFinite(value)) return notFinite;
  if (metric === "deadOrSaturated") return `${(100 * value).toFixed(0)} %`;
  if (metric === "time") return value >= 100 ? `${value.toFixed(0)} ms` : value >= 1 ? `${value.toFixed(1)} ms` : `${(value * 1000).toFixed(0)} µs`;
  return value === 0 ? "0" : value.toExponential(1);
}

/** The badge of every node for `metric` in `sample`. */
export function badges(sample: TrainRecord, metric: BadgeMetric, weights: Map<string, string>): Map<string, Badge> {
  const values = metricValues(sample, metric, weights);
  const all = [...values.values()].filter(Number.isFinite);
  const result = new Map<string, Badge>();
  for (const [node, value] of values) {
    const colour = Number.isFinite(value) ? scaleColour(position(value, all, logScaled(metric))) : notFiniteColour;
    result.set(node, { value, text: formatMetric(metric, value), colour });
  }
  return result;
}

/** The heat colour of every node (time or gradient norm, log scale across the nodes). */
export function heat(sample: TrainRecord, mode: HeatMode, weights: Map<string, string>): Map<string, string> {
  const colours = new Map<string, string>();
  if (mode === "off") return colours;
  const values = metricValues(sample, mode, weights);
  const all = [...values.values()].filter(Number.isFinite);
  for (const [node, value] of values) colours.set(node, Number.isFinite(value) ? scaleColour(position(value, all, true), 0.55) : notFiniteColour);
  return colours;
}

/** The graph inputs a run reads (names its nodes take as inputs but are not nodes): their badge is the throughput. */
export function inputNames(description: RunRecord | null): string[] {
  if (!description) return [];
  const nodes = new Set(description.nodes.map((n) => n.name));
  return [...new Set(description.nodes.flatMap((n) => n.inputs).filter((i) => !nodes.has(i)))];
}
