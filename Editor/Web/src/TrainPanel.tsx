// The train panel: the run's settings (as `neuro train` takes them), start/stop, and the live loss and
// accuracy curves drawn from the server's WebSocket training messages.

import { useEffect, useRef, useState } from "react";
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import type { TrainingPoint, TrainingRequest, TrainingState, TrainingWeights } from "./protocol";

Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip);

const optimizers = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];
const backends = ["cpu", "gl", "auto"];

interface Props {
  state: TrainingState;
  points: TrainingPoint[];
  error: string | null;
  /** "dropped" when the document was replaced during the run, so its weights were not kept. */
  weights: TrainingWeights;
  valid: boolean;
  onStart(request: TrainingRequest): void;
  onStop(): void;
}

function positive(text: string): number | null {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) && n > 0 ? n : null;
}

export function TrainPanel({ state, points, error, weights, valid, onStart, onStop }: Props) {
  const [dataset, setDataset] = useState("fashion-mnist");
  const [folder, setFolder] = useState("");
  const [optimizer, setOptimizer] = useState("momentum");
  const [learningRate, setLearningRate] = useState("0.02");
  const [batchSize, setBatchSize] = useState("32");
  const [epochs, setEpochs] = useState("1");
  const [backend, setBackend] = useState("cpu");
  const [trainLimit, setTrainLimit] = useState("");

  const lr = positive(learningRate);
  const batch = positive(batchSize);
  const epochCount = positive(epochs);
  const limit = trainLimit.trim() === "" ? undefined : positive(trainLimit);
  const problems: string[] = [];
  if (lr === null) problems.push("learning rate must be a positive number");
  if (batch === null || !Number.isInteger(batch)) problems.push("batch size must be a positive integer");
  if (epochCount === null || !Number.isInteger(epochCount)) problems.push("epochs must be a positive integer");
  if (limit === null || (limit !== undefined && !Number.isInteger(limit))) problems.push("train limit must be a positive integer or empty");
  if (dataset === "folder" && folder.trim() === "") problems.push("image folder path is empty");
  const running = state === "running";

  const start = () => {
    if (problems.length > 0) return;
    onStart({
      dataset: dataset === "folder" ? { folder: folder.trim() } : dataset,
      optimizer,
      learningRate: lr!,
      batchSize: batch!,
      epochs: epochCount!,
      backend,
      ...(limit !== undefined && limit !== null ? { trainLimit: limit } : {}),
    });
  };

  const last = points.length > 0 ? points[points.length - 1] : null;
  const lastAccuracy = [...points].reverse().find((p) => p.accuracy !== null)?.accuracy ?? null;

  return (
    <div className="train-panel" data-testid="train-panel">
      <h3>Train</h3>
      <label className="field">
        <span>Dataset</span>
        <select value={dataset} onChange={(e) => setDataset(e.target.value)} data-testid="train-dataset">
          <option value="fashion-mnist">Fashion-MNIST</option>
          <option value="folder">Image folder</option>
        </select>
      </label>
      {dataset === "folder" && (
        <label className="field">
          <span>Folder</span>
          <input value={folder} placeholder="relative to the served folder" onChange={(e) => setFolder(e.target.value)} data-testid="train-folder" />
        </label>
      )}
      <label className="field">
        <span>Optimizer</span>
        <select value={optimizer} onChange={(e) => setOptimizer(e.target.value)} data-testid="train-optimizer">
          {optimizers.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Learning rate</span>
        <input value={learningRate} onChange={(e) => setLearningRate(e.target.value)} data-testid="train-lr" />
      </label>
      <label className="field">
        <span>Batch size</span>
        <input value={batchSize} onChange={(e) => setBatchSize(e.target.value)} data-testid="train-batch" />
      </label>
      <label className="field">
        <span>Epochs</span>
        <input value={epochs} onChange={(e) => setEpochs(e.target.value)} data-testid="train-epochs" />
      </label>
      <label className="field">
        <span>Backend</span>
        <select value={backend} onChange={(e) => setBackend(e.target.value)} data-testid="train-backend">
          {backends.map((b) => (
            <option key={b}>{b}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Train limit</span>
        <input value={trainLimit} placeholder="all images" onChange={(e) => setTrainLimit(e.target.value)} data-testid="train-limit" />
      </label>
      {problems.length > 0 && <small className="field-error">{problems.join("; ")}</small>}
      <div className="row">
        <button onClick={start} disabled={running || problems.length > 0 || !valid} data-testid="train-start" title={valid ? undefined : "the network has errors"}>
          Start
        </button>
        <button onClick={onStop} disabled={!running} data-testid="train-stop">
          Stop
        </button>
      </div>
      <dl className="facts">
        <dt>State</dt>
        <dd data-testid="train-state">{state}</dd>
        <dt>Points</dt>
        <dd data-testid="train-point-count">{points.length}</dd>
        <dt>Step</dt>
        <dd>{last ? `${last.step} (epoch ${last.epoch + 1})` : "—"}</dd>
        <dt>Loss</dt>
        <dd data-testid="train-last-loss">{last ? last.loss.toFixed(4) : "—"}</dd>
        <dt>Accuracy</dt>
        <dd data-testid="train-last-accuracy">{lastAccuracy !== null ? `${(lastAccuracy * 100).toFixed(1)} %` : "—"}</dd>
        <dt>Images/s</dt>
        <dd>{last?.imagesPerSecond ? last.imagesPerSecond.toFixed(0) : "—"}</dd>
      </dl>
      {error && (
        <div className="node-error block" data-testid="train-error">
          {error}
        </div>
      )}
      {weights === "dropped" && (
        <div className="node-error block" data-testid="train-weights-dropped">
          The document was replaced during the run (open, new or a model template): the trained weights were not kept.
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
    c.data.datasets[0].data = points.map((p) => ({ x: p.step, y: p.loss }));
    c.data.datasets[1].data = points.filter((p) => p.accuracy !== null).map((p) => ({ x: p.step, y: p.accuracy as number }));
    c.update("none");
  }, [points]);

  return (
    <div className="chart" data-testid="train-chart" data-points={points.length}>
      <canvas ref={canvas} />
    </div>
  );
}
