// What the Train tab shows of the server's training run, and how each event changes it. A pure reducer: the editor
// feeds it the status read at start-up, every WebSocket training message, its own start/stop requests, and the news
// that the document was replaced (new, open, a model template), after which the last run's numbers no longer belong to
// what is on the canvas.

import type { ServerMessage, TrainingPoint, TrainingState, TrainingStatus, TrainingWeights } from "./protocol";

export interface TrainingView {
  runId: string | null;
  state: TrainingState;
  points: TrainingPoint[];
  error: string | null;
  weights: TrainingWeights;
  /** Whether the run diverged (the server's diagnostics say so once it ended, or while it runs). */
  diverged: boolean;
  /** A run cleared from view because the document was replaced after it: its late messages are not shown again. */
  hiddenRunId: string | null;
}

export type TrainingMessage = Extract<ServerMessage, { type: "training" }>;

export type TrainingEvent =
  /** The whole status (GET /api/training, or a message that carries every point so far). */
  | { kind: "status"; status: TrainingStatus }
  /** A WebSocket message: a point, a final state, or a whole status (with `points`). */
  | { kind: "message"; message: TrainingMessage }
  | { kind: "started"; runId: string | null }
  /** Starting or stopping was refused; the message says why. */
  | { kind: "requestFailed"; error: string }
  | { kind: "documentReplaced" };

export const noTraining: TrainingView = { runId: null, state: "idle", points: [], error: null, weights: null, diverged: false, hiddenRunId: null };

export function trainingReducer(view: TrainingView, event: TrainingEvent): TrainingView {
  switch (event.kind) {
    case "status":
      return fromStatus(view, event.status);
    case "message":
      return onMessage(view, event.message);
    case "started":
      // the run's own messages can come before the answer to its start (a short run may even have ended): keep them
      if (event.runId !== null && view.runId === event.runId) return view;
      return { ...noTraining, runId: event.runId, state: "running", hiddenRunId: view.hiddenRunId };
    case "requestFailed":
      return { ...view, error: event.error };
    case "documentReplaced":
      // a running run keeps its numbers (the server refuses to replace the document it trains)
      return view.state === "running" ? view : { ...noTraining, hiddenRunId: view.runId ?? view.hiddenRunId };
  }
}

function fromStatus(view: TrainingView, status: TrainingStatus): TrainingView {
  if (status.runId !== null && status.runId === view.hiddenRunId) return view;
  return {
    runId: status.runId,
    state: status.state,
    points: status.points ?? [],
    error: status.error ?? null,
    weights: status.weights ?? null,
    diverged: status.diverged ?? false,
    hiddenRunId: view.hiddenRunId,
  };
}

function onMessage(view: TrainingView, message: TrainingMessage): TrainingView {
  // the status sent on connect carries every point so far: it replaces the list (a reconnect fills the gap)
  if (Array.isArray(message.points)) {
    return fromStatus(view, { runId: message.runId, state: message.state, points: message.points, error: message.error ?? null, weights: message.weights ?? null, diverged: message.diverged });
  }
  if (message.runId !== null && message.runId === view.hiddenRunId) return view;
  const points = view.runId === message.runId || view.runId === null ? view.points : [];
  const point: TrainingPoint | null =
    message.loss !== undefined // a point (its loss null when not finite); a state message has none
      ? { epoch: message.epoch ?? 0, step: message.step ?? 0, loss: message.loss, accuracy: message.accuracy ?? null, imagesPerSecond: message.imagesPerSecond }
      : null;
  // the same point can arrive twice (a message and the status that follows a reconnect)
  const fresh = point !== null && !points.some((p) => p.step === point.step && p.accuracy === point.accuracy);
  return {
    runId: message.runId,
    state: message.state,
    points: fresh ? [...points, point] : points,
    error: message.error ?? null,
    weights: message.weights ?? null,
    diverged: message.diverged ?? (view.runId === message.runId && view.diverged),
    hiddenRunId: view.hiddenRunId,
  };
}
