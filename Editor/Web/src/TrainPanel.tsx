// The train panel: the run's settings (the form built from the server's schema, TrainForm.tsx), start/stop, where the
// run stands (steps of the total, time left, the rate it uses), and the live loss and accuracy curves drawn from the
// server's WebSocket training messages.

import { useEffect, useRef, useState } from "react";
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import { api } from "./api";
import type { TrainingOptionValue, TrainingPoint, TrainingRequest, TrainingState, TrainingWeights } from "./protocol";
import type { DiagnosticItem } from "./monitor/records";
import { buildRequest, TrainForm, useTrainingForm } from "./TrainForm";

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

interface Props {
  /** The run the panel shows (null before the first); the state's element carries it, so a script can tell runs apart. */
  runId: string | null;
  state: TrainingState;
  points: TrainingPoint[];
  error: string | null;
  /** "dropped" when the document was replaced during the run, "diverged" when the run diverged: its weights were not kept. */
  weights: TrainingWeights;
  /** Whether the run diverged. */
  diverged: boolean;
  /** What the diagnostics say of the run as a whole. */
  findings: DiagnosticItem[];
  valid: boolean;
  /** The document's revision: the form's values are read again when the document (and so maybe its file) changes. */
  documentRevision: number;
  onStart(request: TrainingRequest): void;
  onStop(): void;
}

/** 3725 s → "1 h 2 min"; 75 s → "1 min 15 s". */
function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** The options and total steps of the current run (GET /api/training), read again when its state changes or its first point comes. */
function useRunDetails(state: TrainingState, started: boolean) {
  const [details, setDetails] = useState<{ options: Record<string, TrainingOptionValue> | null; totalSteps: number }>({ options: null, totalSteps: 0 });
  useEffect(() => {
    let current = true;
    api.training().then(
      (t) => current && setDetails({ options: t.options ?? null, totalSteps: t.totalSteps ?? 0 }),
      () => {},
    );
    return () => {
      current = false;
    };
  }, [state, started]);
  return details;
}

export function TrainPanel({ runId, state, points, error, weights, diverged, findings, valid, documentRevision, onStart, onStop }: Props) {
  const { schema, values, setValue, loadError } = useTrainingForm(documentRevision);
  const { options, totalSteps } = useRunDetails(state, points.length > 0);
  const running = state === "running";
  const { request, problems } = schema && values ? buildRequest(schema, values) : { request: null, problems: [] };

  const last = points.length > 0 ? points[points.length - 1] : null;
  const lastAccuracy = [...points].reverse().find((p) => p.accuracy !== null)?.accuracy ?? null;
  const batchSize = typeof options?.batchSize === "number" ? options.batchSize : null;
  // the remaining steps at the latest point's pace (training only; each epoch's evaluation comes on top)
  const secondsLeft =
    running && last && totalSteps > 0 && batchSize && last.imagesPerSecond ? ((totalSteps - last.step) * batchSize) / last.imagesPerSecond : null;

  return (
    <div className="train-panel" data-testid="train-panel">
      <h3>Train</h3>
      {schema && values ? (
        <TrainForm schema={schema} values={values} disabled={running} onChange={setValue} />
      ) : (
        <div data-testid="train-form-loading">{loadError ?? "Loading the training options…"}</div>
      )}
      {problems.length > 0 && <small className="field-error">{problems.join("; ")}</small>}
      <div className="row">
        <button
          onClick={() => request && onStart(request)}
          disabled={running || request === null || !valid}
          data-testid="train-start"
          title={valid ? undefined : "the network has errors"}
        >
          Start
        </button>
        <button onClick={onStop} disabled={!running} data-testid="train-stop">
          Stop
        </button>
      </div>
      <dl className="facts">
        <dt>State</dt>
        <dd data-testid="train-state" data-run-id={runId ?? undefined}>
          {state}
        </dd>
        <dt>Points</dt>
        <dd data-testid="train-point-count">{points.length}</dd>
        <dt>Step</dt>
        <dd data-testid="train-step">
          {last ? `${last.step.toLocaleString("en-US")}${totalSteps > 0 ? ` of ${totalSteps.toLocaleString("en-US")}` : ""} (epoch ${last.epoch + 1})` : "—"}
        </dd>
        <dt>Time left</dt>
        <dd data-testid="train-time-left">{secondsLeft !== null ? `about ${formatDuration(secondsLeft)}` : "—"}</dd>
        <dt>Loss</dt>
        <dd data-testid="train-last-loss">{last ? (last.loss === null ? "NaN or ∞" : last.loss.toFixed(4)) : "—"}</dd>
        <dt>Accuracy</dt>
        <dd data-testid="train-last-accuracy">{lastAccuracy !== null ? `${(lastAccuracy * 100).toFixed(1)} %` : "—"}</dd>
        <dt>Images/s</dt>
        <dd>{last?.imagesPerSecond ? last.imagesPerSecond.toFixed(0) : "—"}</dd>
        <dt>Run</dt>
        <dd data-testid="train-run-options" data-learning-rate={typeof options?.learningRate === "number" ? options.learningRate : undefined}>
          {options ? `${options.optimizer}, rate ${options.learningRate}, ${options.schedule}, batch ${options.batchSize}, ${options.epochs} epochs` : "—"}
        </dd>
      </dl>
      {error && (
        <div className="node-error block" data-testid="train-error">
          {error}
        </div>
      )}
      {(diverged || findings.length > 0) && (
        <div className={`verdict ${diverged ? "error" : "warning"}`} data-testid="train-verdict" data-diverged={diverged}>
          {diverged && !findings.some((f) => f.kind === "diverged") && <b>The run diverged.</b>}
          {findings.map((f, i) => (
            <div key={i} data-kind={f.kind}>
              <b>{f.title}: </b>
              {f.message}. <i>{f.remedy}.</i>
            </div>
          ))}
        </div>
      )}
      {weights === "dropped" && (
        <div className="node-error block" data-testid="train-weights-dropped">
          The document was replaced during the run (open, new or a model template): the trained weights were not kept.
        </div>
      )}
      {weights === "diverged" && (
        <div className="node-error block" data-testid="train-weights-diverged">
          The run diverged: its weights were not kept; the document has the weights it had before the run. Lower the
          learning rate and train again.
        </div>
      )}
      <TrainingChart points={points} />
    </div>
  );
}

function TrainingChart({ points }: { points: TrainingPoint[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"line", { x: number; y: number }[]> | null>(null);

  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: "line",
      data: {
        datasets: [
          { label: "loss", data: [], borderColor: "#d9534f", backgroundColor: "#d9534f", yAxisID: "loss", pointRadius: 0, borderWidth: 1.5 },
          { label: "test accuracy", data: [], borderColor: "#2a7ae2", backgroundColor: "#2a7ae2", yAxisID: "accuracy", pointRadius: 3, borderWidth: 1.5 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "step" } },
          loss: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "loss" } },
          accuracy: { type: "linear", position: "right", min: 0, max: 1, grid: { drawOnChartArea: false }, title: { display: true, text: "accuracy" } },
        },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.datasets[0].data = points.flatMap((p) => (p.loss === null ? [] : [{ x: p.step, y: p.loss }]));
    c.data.datasets[1].data = points.filter((p) => p.accuracy !== null).map((p) => ({ x: p.step, y: p.accuracy as number }));
    c.update("none");
  }, [points]);

  return (
    <div className="chart" data-testid="train-chart" data-points={points.length}>
      <canvas ref={canvas} />
    </div>
  );
}
