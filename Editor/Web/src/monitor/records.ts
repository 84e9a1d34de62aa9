// The training monitor's records (Documentation~/Monitoring.md, "Runs as files"): the lines of a run's JSONL file and
// the `record` of the server's {"type":"monitor"} messages are the same objects, read here into one RunData per run.
// Numbers that are not finite arrive as null.

export interface Histogram {
  min: number | null;
  max: number | null;
  counts: number[];
}

export interface RunRecord {
  type: "run";
  backend: string;
  device: string;
  batchSize: number;
  every: number;
  histogramBins: number;
  name?: string;
  startedAt?: string;
  totalSteps?: number;
  options?: Record<string, unknown>;
  parameters: { name: string; shape: number[] }[];
  nodes: { name: string; type: string; inputs: string[]; shape: number[] }[];
}

export interface ParameterRecord {
  name: string;
  weightNorm: number | null;
  gradNorm: number | null;
  updateNorm: number | null;
  updateRatio: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  count: number;
  zeros: number;
  nonFinite: number;
  gradNonFinite: number;
  histogram: Histogram;
  gradHistogram: Histogram;
  updateHistogram?: Histogram;
}

export interface NodeRecord {
  name: string;
  type: string;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  zeroFraction: number | null;
  deadChannelFraction: number | null;
  saturatedFraction: number | null;
  nonFinite: number;
  gradNorm: number | null;
  /** NaN and ±∞ in ∂L/∂output (absent in files written before it was recorded). */
  gradNonFinite?: number;
  forwardMs: number | null;
  backwardMs: number | null;
  histogram: Histogram;
  gradHistogram?: Histogram;
}

export interface TrainRecord {
  type: "train";
  step: number;
  epoch: number;
  loss: number | null;
  batchAccuracy: number | null;
  lr: number | null;
  imagesPerSecond: number | null;
  elapsedSeconds: number | null;
  forwardMs: number | null;
  backwardMs: number | null;
  parameters: ParameterRecord[];
  nodes: NodeRecord[];
}

export interface Mistake {
  index: number;
  label: number;
  predicted: number;
  confidence: number | null;
  /** base64 of the image's bytes (C,H,W). */
  pixels: string;
}

export interface EvaluationRecord {
  type: "evaluation";
  step: number;
  epoch: number;
  count: number;
  testLoss: number | null;
  testAccuracy: number | null;
  classes: string[];
  /** confusion[t][p]: images of true class t predicted as p. */
  confusion: number[][];
  classAccuracy: (number | null)[];
  imageShape: [number, number, number];
  mostConfidentlyWrong: Mistake[];
}

export interface DiagnosticItem {
  kind: string;
  /** What the finding is called ("vanishing gradient"); `message` follows it without repeating it. */
  title: string;
  severity: "warning" | "error";
  node: string | null;
  parameter: string | null;
  step: number;
  message: string;
  remedy: string;
  value: number | null;
  threshold: number | null;
}

export interface DiagnosticsRecord {
  type: "diagnostics";
  step: number;
  items: DiagnosticItem[];
}

export type MonitorRecord = RunRecord | TrainRecord | EvaluationRecord | DiagnosticsRecord;

/** One run: its description, samples (by step), evaluations and the diagnostics in force. */
export interface RunData {
  /** The file's path in the served folder, or "live:<runId>" before it is known. */
  key: string;
  runId: string | null;
  description: RunRecord | null;
  samples: TrainRecord[];
  evaluations: EvaluationRecord[];
  diagnostics: DiagnosticsRecord | null;
  /** Monitor messages this tab did not get (a slow tab); the history is read again from the file. */
  missed: number;
}

/** Samples kept per run at most: past it, every other one of the older half is dropped (curves keep their shape). */
export const maxSamples = 2000;

export function emptyRun(key: string, runId: string | null = null): RunData {
  return { key, runId, description: null, samples: [], evaluations: [], diagnostics: null, missed: 0 };
}

/** Inserts by step, replacing a record of the same step (the same sample from the file and from the stream). */
function insertByStep<T extends { step: number }>(list: T[], item: T): T[] {
  let at = list.length;
  while (at > 0 && list[at - 1].step > item.step) at--;
  if (at > 0 && list[at - 1].step === item.step) return [...list.slice(0, at - 1), item, ...list.slice(at)];
  return [...list.slice(0, at), item, ...list.slice(at)];
}

function thin(samples: TrainRecord[]): TrainRecord[] {
  if (samples.length <= maxSamples) return samples;
  const half = Math.floor(samples.length / 2);
  return [...samples.slice(0, half).filter((_, i) => i % 2 === 0), ...samples.slice(half)];
}

/** The run with one more record (a new object; the lists are copied). */
export function applyRecord(run: RunData, record: MonitorRecord): RunData {
  switch (record.type) {
    case "run":
      return { ...run, description: record };
    case "train":
      return { ...run, samples: thin(insertByStep(run.samples, record)) };
    case "evaluation":
      return { ...run, evaluations: insertByStep(run.evaluations, record) };
    case "diagnostics":
      return !run.diagnostics || record.step >= run.diagnostics.step ? { ...run, diagnostics: record } : run;
    default:
      return run;
  }
}

/** A run file's text: one record per line; a last line cut short (a run still writing, or killed) is skipped. */
export function parseRunFile(text: string, key: string, runId: string | null = null): RunData {
  let run = emptyRun(key, runId);
  const samples: TrainRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim().length === 0) continue;
    let record: MonitorRecord;
    try {
      record = JSON.parse(line) as MonitorRecord;
    } catch {
      continue;
    }
    if (record.type === "train") samples.push(record);
    else run = applyRecord(run, record);
  }
  samples.sort((a, b) => a.step - b.step);
  let kept = samples;
  while (kept.length > maxSamples) kept = thin(kept);
  return { ...run, samples: kept };
}

/** `extra`'s records added to `base` (the file read while the stream went on). */
export function mergeRuns(base: RunData, extra: RunData): RunData {
  let run: RunData = { ...base, runId: base.runId ?? extra.runId };
  if (!run.description && extra.description) run = { ...run, description: extra.description };
  for (const sample of extra.samples) run = applyRecord(run, sample);
  for (const evaluation of extra.evaluations) run = applyRecord(run, evaluation);
  if (extra.diagnostics) run = applyRecord(run, extra.diagnostics);
  return run;
}

/** What a run is called in legends and lists: its name and start time, or its file. */
export function runLabel(run: RunData): string {
  const d = run.description;
  const file = run.key.startsWith("live:") ? "live run" : (run.key.split("/").pop() ?? run.key);
  if (!d?.name) return file;
  const started = d.startedAt ? new Date(d.startedAt).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
  return `${d.name} ${started}`.trim();
}

/** TensorBoard's smoothing: an exponential moving average with debiasing, weight `alpha` in [0, 1). */
export function smooth(values: (number | null)[], alpha: number): (number | null)[] {
  let average = 0;
  let weight = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    average = alpha * average + (1 - alpha) * v;
    weight = alpha * weight + (1 - alpha);
    return average / weight;
  });
}

/** base64 → bytes. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** bytes → base64. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
