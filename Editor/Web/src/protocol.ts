// The wire types of Documentation~/EditorProtocol.md. The server owns the document: everything here is
// what it sends (documents, palette, training points) or what the UI sends back (commands).

import type { DiagnosticsRecord, MonitorRecord } from "./monitor/records";

export type Shape = number[];

export interface Position {
  x: number;
  y: number;
}

export type AttributeValue = number | boolean | string | number[] | null;

export interface DocNode {
  id: string;
  type: string;
  attributes: Record<string, AttributeValue>;
  /** inputs[i] feeds port i; null when that port is unconnected. */
  inputs: (string | null)[];
  position: Position;
  group: string | null;
  outputShape: Shape | null;
  error: string | null;
  /** A one-click repair of `error` (a command to send as it is), when the server knows one. */
  fix: NodeFix | null;
  parameters: number;
  flops: number;
}

export interface NodeFix {
  label: string;
  command: Command;
}

export interface DocGroup {
  id: string;
  label: string;
  template: string | null;
  collapsed: boolean;
  nodes: string[];
}

export interface DocEdge {
  id: string;
  source: string;
  target: string;
  targetPort: number;
  shape: Shape | null;
}

export interface NetworkDocument {
  revision: number;
  name: string;
  path: string | null;
  /** The document's file: changes when new, open or a model template replaces the document (undo may bring one back). */
  file: number;
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  nodes: DocNode[];
  groups: DocGroup[];
  edges: DocEdge[];
  output: string | null;
  auxiliaryOutputs?: { node: string; weight: number }[];
  totals: { parameters: number; flops: number };
  valid: boolean;
  errors: { node: string; message: string }[];
}

export type AttributeKind = "int" | "float" | "bool" | "ints" | "string" | "enum";

export interface AttributeSpec {
  name: string;
  kind: AttributeKind;
  default?: AttributeValue;
  min?: number;
  max?: number;
  length?: number;
  options?: string[];
  inferred?: boolean;
  /** May be left unset (the Input's `features`: set it for a flat input instead of channels × height × width). */
  optional?: boolean;
}

export interface LayerSpec {
  type: string;
  group: string;
  /** A fixed port count, or -1 for "any number ≥ 2" (the port count grows as you connect). */
  inputs: number;
  attributes: AttributeSpec[];
}

export interface TemplateSpec {
  id: string;
  label: string;
  kind: "model" | "block";
  description?: string;
}

/** Options of a model template (POST /api/templates/preview, insertTemplate's `options`). */
export interface TemplateOptions {
  inputChannels: number;
  /** The size of the images the document's Input takes. */
  inputSize: number;
  /** The size the model is built for; when it differs from `inputSize` a bilinear resize node goes in front. */
  imageSize: number;
  classes: number;
  widthDivisor: number;
}

export interface TemplateDataset {
  id: string;
  label: string;
  inputChannels: number;
  imageSize: number;
  classes: number;
}

export interface TemplatePreview {
  template: string;
  label: string;
  dataset: string;
  datasets: TemplateDataset[];
  options: TemplateOptions;
  resize: boolean;
  smallestImageSize: number | null;
  parameters: number;
  flops: number;
  outputShape: Shape;
}

export interface FileEntry {
  path: string;
  kind: "neuro" | "onnx";
}

export type TrainingState = "idle" | "running" | "stopped" | "finished" | "failed";

export interface TrainingPoint {
  epoch: number;
  step: number;
  /** null when it is not finite (a diverged run's NaN or ∞). */
  loss: number | null;
  accuracy: number | null;
  imagesPerSecond?: number;
  /** The schedule's rate of the latest step. */
  learningRate?: number;
  /** The remaining steps at the current epoch's pace (evaluations not counted). */
  secondsLeft?: number | null;
}

export interface TrainingStatus {
  runId: string | null;
  /** The run's monitor file in the served folder (runs/….jsonl). */
  runFile?: string | null;
  /** Whether the run diverged (its loss went NaN or ∞, or rose far above its start). */
  diverged?: boolean;
  /** The latest diagnostics record of the run. */
  diagnostics?: DiagnosticsRecord | null;
  state: TrainingState;
  points: TrainingPoint[];
  error: string | null;
  weights?: TrainingWeights;
  /** The options the run uses (request field names), the optimizer's defaults filled in; null before the first run. */
  options?: Record<string, TrainingOptionValue> | null;
  /** Steps of the whole run; 0 until its data is loaded. */
  totalSteps?: number;
}

/** A training option's value as the server reports it. */
export type TrainingOptionValue = number | string | string[] | null;

/** POST /api/training/start: the schema's fields by name (absent: the default); `dataset` is "fashion-mnist" or a folder. */
export type TrainingRequest = { dataset: string | { folder: string } } & Record<string, TrainingOptionValue | { folder: string } | undefined>;

export type TrainingFieldKind = "integer" | "number" | "choice" | "choices" | "path";

/** One field of GET /api/training/schema (Runtime/Training/TrainingField.cs). */
export interface TrainingFieldSpec {
  name: string;
  flag: string;
  label: string;
  kind: TrainingFieldKind;
  group: "data" | "optimizer" | "schedule" | "run";
  description: string;
  /** null: none (an optional setting off) or, with `optimizerDefault`, the chosen optimizer's. */
  default: TrainingOptionValue;
  optimizerDefault?: boolean;
  choices?: { name: string; description: string }[];
  minimum?: number;
  exclusiveMinimum?: boolean;
  maximum?: number;
  exclusiveMaximum?: boolean;
  unit?: string;
  /** The field matters only while `field` has one of `values`. */
  appliesWhen?: { field: string; values: string[] };
}

export interface OptimizerSpec {
  name: string;
  description: string;
  usesMomentum: boolean;
  /** The defaults of the fields marked `optimizerDefault`, by field name. */
  defaults: Record<string, number>;
}

export interface TrainingSchema {
  fields: TrainingFieldSpec[];
  optimizers: OptimizerSpec[];
}

/** What the train form holds for a field: typed text, a choice, or the chosen names of a multiple choice. */
export type TrainingFormValue = string | string[];

/** GET/PUT /api/training/form: the form's values kept with the document's file (`file` tells files apart). */
export interface TrainingForm {
  file: number;
  values: Record<string, TrainingFormValue> | null;
}

/** What became of a finished or stopped run's weights: kept by the document it started from, dropped because that
 * document was replaced (open, new, a model template) during the run, or not kept because the run diverged. */
export type TrainingWeights = "kept" | "dropped" | "diverged" | null;

/** A training message: a point (with `loss`), a final state, or (on connect) the whole status with `points`, every
 * point of the run so far, which replaces the client's list. */
/** One frame of the attached game (GET /api/live's `frames`): its time, the training budget it ran under and used. */
export interface LiveFrame {
  frame: number;
  ms: number;
  trainingBudgetMs: number;
  trainingMs: number;
  steps: number;
  paused: boolean;
}

/** The attached game's live link (GET /api/live, and the {"type":"live"} message): the link's greeting merged with its
 * latest frames; `runId` names the game's run in the monitor messages, `runFile` its recording in the folder. */
export interface LiveStatus {
  type: "live";
  state: "detached" | "connecting" | "attached" | "ended";
  address: string;
  runId: string | null;
  runFile: string | null;
  controlEnabled?: boolean;
  /** Whether this editor holds control (the game enabled it and no other client has it). */
  control?: boolean;
  paused?: boolean;
  lr?: number;
  step?: number;
  frame?: number;
  firstConvolution?: string | null;
  frames: LiveFrame[];
  missedMessages: number;
  missedFrames: number;
  nonFinite: string | null;
  error: string | null;
}

/** A probe of the attached game: the inspector's probe result, with the game frame and step it shows. */
export type LiveProbe = ProbeResult & { frame: number; step: number };

export type ServerMessage =
  | { type: "document"; document: NetworkDocument }
  | LiveStatus
  | ({
      type: "training";
      runId: string | null;
      state: TrainingState;
      error?: string | null;
      points?: TrainingPoint[];
      weights?: TrainingWeights;
      totalSteps?: number;
      runFile?: string | null;
      diverged?: boolean;
    } & Partial<TrainingPoint>)
  /** A monitor record of a run (a sample, an evaluation, the diagnostics); `missed`: records of its kind this tab did not get. */
  | { type: "monitor"; runId: string; missed?: number; record: MonitorRecord };

/** A run kept in the served folder (GET /api/runs), newest first. */
export interface RunEntry {
  path: string;
  bytes: number;
  modified: string;
  name?: string;
  startedAt?: string;
  totalSteps?: number;
  backend?: string;
  options?: Record<string, unknown>;
}

/** Filters or feature maps (POST /api/inspect/filters, /featureMaps): `values` is base64 of float32 (count, channels, height, width). */
export interface ProbeResult {
  node: string;
  kind: "filters" | "featureMaps";
  count: number;
  channels: number;
  height: number;
  width: number;
  values: string;
  /** Feature maps: the input image's bytes (C,H,W) and shape, its test index and label. */
  input?: string;
  inputShape?: [number, number, number];
  testImage?: number;
  label?: number;
}

/** Test images (GET /api/inspect/images, /cell): bytes (C,H,W) in base64. */
export interface TestImages {
  imageShape: [number, number, number];
  classes: string[];
  images: { index: number; label: number; predicted?: number; pixels: string }[];
}

/** Commands of POST /api/document/commands; every one (but copy) is one undo step on the server, except a moveNodes
 * that `amends` the revision of the change it lays out. */
export type Command =
  | { op: "new" }
  | {
      op: "addNode";
      type: string;
      attributes?: Record<string, AttributeValue>;
      position?: Position;
      id?: string;
      inputs?: (string | null)[];
      /** Read this node and take its place in the chain (the nodes that read it read the new one). */
      after?: string;
      /** Go onto this edge: read its source and feed its target's port. */
      insertInto?: { source: string; target: string; targetPort: number };
    }
  | { op: "removeNodes"; ids: string[] }
  | { op: "connect"; source: string; target: string; targetPort?: number }
  | { op: "disconnect"; source: string; target: string }
  | { op: "setAttributes"; id: string; attributes: Record<string, AttributeValue> }
  | { op: "moveNodes"; positions: Record<string, Position>; amends?: number }
  | { op: "rename"; id: string; newId: string }
  | { op: "insertTemplate"; template: string; position?: Position; after?: string; options?: TemplateOptions }
  | { op: "setGroupCollapsed"; group: string; collapsed: boolean }
  | { op: "ungroup"; group: string }
  | { op: "paste"; nodes: PastedNode[]; offset?: Position }
  | { op: "setOutput"; id: string }
  | { op: "layout" };

export interface PastedNode {
  id: string;
  type: string;
  attributes: Record<string, AttributeValue>;
  inputs: (string | null)[];
  position?: Position;
}

/** "1×6×28×28": the shape text drawn on edges and nodes. */
export function formatShape(shape: Shape | null | undefined): string {
  return shape ? shape.join("×") : "?";
}

/** 61706 → "61,706"; 1.8e9 → "1.80 G". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  return n.toLocaleString("en-US");
}

/** POST /api/search/start (Documentation~/EditorProtocol.md, "Architecture search"). */
export interface SearchRequest {
  dataset?: "fashion-mnist" | { folder: string };
  budgetMinutes?: number;
  maxParameters?: number | null;
  maxFlops?: number | null;
  maxMilliseconds?: number | null;
  backend?: string;
  seed?: number;
  candidates?: number;
  population?: number;
  sampleSize?: number;
  trainImages?: number;
  validationImages?: number;
  epochs?: number;
  patience?: number;
  batchSize?: number;
}

/** One finished candidate of GET /api/search. */
export interface SearchCandidate {
  id: number;
  parentId: number | null;
  change: string;
  status: "trained" | "overLatency";
  accuracy: number | null;
  latencyMs: number;
  parameters: number;
  flops: number;
  epochs: number;
  model: string | null;
}

/** GET /api/search. */
export interface SearchStatus {
  searchId: string | null;
  state: "idle" | "running" | "finished" | "stopped" | "failed";
  folder: string | null;
  end: string | null;
  error: string | null;
  candidates: SearchCandidate[];
  front: number[];
}
