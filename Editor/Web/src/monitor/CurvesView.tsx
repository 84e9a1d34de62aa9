// The curves of the shown runs, overlaid: training loss (raw and smoothed), training (batch) and test accuracy, test
// loss and the learning rate, against the step; zoom with the wheel, pan by dragging, double-click to reset. The runs'
// diagnostics are listed above. Curves export as CSV (every series of every shown run) and PNG (the four charts).

import { useEffect, useRef, useState } from "react";
import { Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, type ChartDataset } from "chart.js";
import zoomPlugin from "chartjs-plugin-zoom";
import { runLabel, smooth, type RunData } from "./records";

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip, zoomPlugin);

/** Colours of the overlaid runs, in order. */
export const runColours = ["#d9534f", "#2a7ae2", "#3aa757", "#9b59b6", "#e08e0b", "#16a2b8", "#7f8c8d"];

type Point = { x: number; y: number };
type Series = { label: string; points: Point[]; dashed?: boolean; thin?: boolean; markers?: boolean };

interface ChartSpec {
  id: string;
  title: string;
  log?: boolean;
  series(run: RunData, smoothing: number): Series[];
}

const points = (xs: number[], ys: (number | null)[]): Point[] =>
  xs.flatMap((x, i) => (ys[i] === null || !Number.isFinite(ys[i]) ? [] : [{ x, y: ys[i] as number }]));

const charts: ChartSpec[] = [
  {
    id: "loss",
    title: "training loss",
    series: (run, smoothing) => {
      const steps = run.samples.map((s) => s.step);
      const raw = run.samples.map((s) => s.loss);
      return [
        { label: "raw", points: points(steps, raw), thin: true },
        { label: "smoothed", points: points(steps, smooth(raw, smoothing)) },
      ];
    },
  },
  {
    id: "accuracy",
    title: "accuracy",
    series: (run, smoothing) => [
      { label: "training (batch, smoothed)", points: points(run.samples.map((s) => s.step), smooth(run.samples.map((s) => s.batchAccuracy), smoothing)) },
      { label: "test", points: points(run.evaluations.map((e) => e.step), run.evaluations.map((e) => e.testAccuracy)), dashed: true, markers: true },
    ],
  },
  {
    id: "testLoss",
    title: "test loss",
    series: (run) => [{ label: "test", points: points(run.evaluations.map((e) => e.step), run.evaluations.map((e) => e.testLoss)), markers: true }],
  },
  {
    id: "lr",
    title: "learning rate",
    series: (run) => [{ label: "rate", points: points(run.samples.map((s) => s.step), run.samples.map((s) => s.lr)) }],
  },
];

function CurveChart({ spec, runs, smoothing, register }: { spec: ChartSpec; runs: RunData[]; smoothing: number; register(id: string, chart: Chart | null): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"line", Point[]> | null>(null);

  useEffect(() => {
    const c = new Chart<"line", Point[]>(canvas.current!, {
      type: "line",
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        plugins: {
          title: { display: false },
          legend: { display: true, labels: { boxWidth: 10, font: { size: 10 } } },
          zoom: { zoom: { wheel: { enabled: true }, mode: "x" }, pan: { enabled: true, mode: "x" } },
        },
        scales: {
          x: { type: "linear", title: { display: true, text: "step" } },
          y: { type: spec.log ? "logarithmic" : "linear", title: { display: true, text: spec.title } },
        },
      },
    });
    chart.current = c;
    register(spec.id, c as unknown as Chart);
    return () => {
      register(spec.id, null);
      c.destroy();
    };
  }, [spec, register]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.datasets = runs.flatMap((run, r) =>
      spec.series(run, smoothing).map(
        (s): ChartDataset<"line", Point[]> => ({
          label: runs.length > 1 ? `${runLabel(run)}: ${s.label}` : s.label,
          data: s.points,
          borderColor: runColours[r % runColours.length] + (s.thin ? "55" : ""),
          backgroundColor: runColours[r % runColours.length],
          borderWidth: s.thin ? 1 : 1.8,
          borderDash: s.dashed ? [5, 3] : [],
          pointRadius: s.markers ? 3 : 0,
        }),
      ),
    );
    c.update("none");
  }, [runs, smoothing, spec]);

  const count = runs.reduce((n, run) => n + spec.series(run, 0).reduce((m, s) => m + s.points.length, 0), 0);
  return (
    <div className="curve" data-testid={`curve-${spec.id}`} data-runs={runs.length} data-points={count} onDoubleClick={() => chart.current?.resetZoom()}>
      <div className="curve-title">{spec.title}</div>
      <div className="curve-canvas">
        <canvas ref={canvas} />
      </div>
    </div>
  );
}

/** Every series of every run as CSV: run, step, epoch, loss, smoothed loss, batch accuracy, rate, test accuracy, test loss. */
export function curvesCsv(runs: RunData[], smoothing: number): string {
  const rows = ["run,step,epoch,loss,smoothed_loss,batch_accuracy,learning_rate,test_accuracy,test_loss"];
  const cell = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "" : String(v));
  for (const run of runs) {
    const label = `"${runLabel(run).replace(/"/g, '""')}"`;
    const smoothed = smooth(run.samples.map((s) => s.loss), smoothing);
    const tests = new Map(run.evaluations.map((e) => [e.step, e]));
    run.samples.forEach((s, i) => {
      const e = tests.get(s.step);
      tests.delete(s.step);
      rows.push([label, s.step, s.epoch, cell(s.loss), cell(smoothed[i]), cell(s.batchAccuracy), cell(s.lr), cell(e?.testAccuracy), cell(e?.testLoss)].join(","));
    });
    for (const e of tests.values()) rows.push([label, e.step, e.epoch, "", "", "", "", cell(e.testAccuracy), cell(e.testLoss)].join(","));
  }
  return rows.join("\n") + "\n";
}

function download(name: string, url: string) {
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
}

export function CurvesView({ runs }: { runs: RunData[] }) {
  const [smoothing, setSmoothing] = useState(0.6);
  const instances = useRef(new Map<string, Chart>());
  const register = useRef((id: string, chart: Chart | null) => (chart ? instances.current.set(id, chart) : instances.current.delete(id))).current;

  const exportCsv = () => download("curves.csv", URL.createObjectURL(new Blob([curvesCsv(runs, smoothing)], { type: "text/csv" })));
  const exportPng = () => {
    const shown = charts.map((c) => instances.current.get(c.id)).filter((c): c is Chart => !!c);
    const width = Math.max(...shown.map((c) => c.canvas.width));
    const height = shown.reduce((h, c) => h + c.canvas.height, 0);
    const sheet = document.createElement("canvas");
    sheet.width = width;
    sheet.height = height;
    const context = sheet.getContext("2d")!;
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    let y = 0;
    for (const c of shown) {
      context.drawImage(c.canvas, 0, y);
      y += c.canvas.height;
    }
    download("curves.png", sheet.toDataURL("image/png"));
  };

  const diagnostics = runs[0]?.diagnostics?.items ?? [];
  return (
    <div className="curves-view" data-testid="curves-view">
      {diagnostics.length > 0 && (
        <ul className="diagnostics" data-testid="run-diagnostics">
          {diagnostics.map((d, i) => (
            <li key={i} className={d.severity} data-kind={d.kind} data-node={d.node ?? ""}>
              <b>{d.node ? `${d.node}: ` : ""}{d.title}</b> — {d.message}. <i>{d.remedy}.</i>
            </li>
          ))}
        </ul>
      )}
      <div className="row curves-tools">
        <label title="TensorBoard's smoothing: an exponential moving average of the training curves">
          smoothing <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} data-testid="curves-smoothing" />{" "}
          {smoothing.toFixed(2)}
        </label>
        <button className="small" onClick={() => instances.current.forEach((c) => c.resetZoom())} data-testid="curves-reset-zoom">
          reset zoom
        </button>
        <button className="small" onClick={exportCsv} disabled={runs.length === 0} data-testid="curves-export-csv">
          CSV
        </button>
        <button className="small" onClick={exportPng} disabled={runs.length === 0} data-testid="curves-export-png">
          PNG
        </button>
        <span className="hint">wheel: zoom · drag: pan · double-click: reset</span>
      </div>
      <div className="curves">
        {charts.map((spec) => (
          <CurveChart key={spec.id} spec={spec} runs={runs} smoothing={smoothing} register={register} />
        ))}
      </div>
    </div>
  );
}
