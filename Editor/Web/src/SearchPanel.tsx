// The Search tab: starts an architecture search on the server (Documentation~/EditorProtocol.md, "Architecture
// search"), polls its candidates while it runs, and draws them on a Pareto chart (accuracy against measured latency,
// the front highlighted) that grows as candidates finish. A click on a trained candidate opens its model file.

import { useEffect, useRef, useState } from "react";
import { Chart, Legend, LinearScale, PointElement, ScatterController, Tooltip } from "chart.js";
import { api, ApiError } from "./api";
import type { SearchCandidate, SearchRequest, SearchStatus } from "./protocol";

Chart.register(ScatterController, PointElement, LinearScale, Tooltip, Legend);

/** Milliseconds between two polls of GET /api/search while a search runs. */
const PollMs = 1000;

interface Props {
  /** Opens a candidate's model file (a path relative to the served folder) in the designer. */
  onOpen(path: string): void;
}

export function SearchPanel({ onOpen }: Props) {
  const [status, setStatus] = useState<SearchStatus | null>(null);
  const [error, setError] = useState<{ message: string; field: string | null } | null>(null);
  const [form, setForm] = useState({ dataset: "fashion-mnist", folder: "", budgetMinutes: "10", maxParameters: "", maxFlops: "", maxMilliseconds: "", backend: "cpu", seed: "1" });
  const running = status?.state === "running";

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const next = await api.search();
        if (stopped) return;
        setStatus(next);
        if (next.state === "running") timer = window.setTimeout(poll, PollMs);
      } catch {
        if (!stopped) timer = window.setTimeout(poll, PollMs * 5);
      }
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [status?.searchId, running]);

  const start = async () => {
    const optional = (text: string) => (text.trim() === "" ? null : Number(text));
    const request: SearchRequest = {
      dataset: form.dataset === "folder" ? { folder: form.folder } : "fashion-mnist",
      budgetMinutes: Number(form.budgetMinutes), maxParameters: optional(form.maxParameters), maxFlops: optional(form.maxFlops),
      maxMilliseconds: optional(form.maxMilliseconds), backend: form.backend, seed: Number(form.seed),
      ...window.__neuroSearchOptions,
    };
    try {
      await api.startSearch(request);
      setError(null);
      setStatus(await api.search());
    } catch (e) {
      setError({ message: e instanceof Error ? e.message : String(e), field: e instanceof ApiError ? e.field : null });
    }
  };

  const field = (name: keyof typeof form, label: string, hint?: string) => (
    <label className={error?.field === name ? "field invalid" : "field"}>
      {label}
      <input value={form[name]} placeholder={hint} disabled={running} data-testid={`search-${name}`}
        onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
    </label>
  );

  return (
    <div className="train-panel" data-testid="search-panel">
      <label className="field">
        Dataset
        <select value={form.dataset} disabled={running} onChange={(e) => setForm({ ...form, dataset: e.target.value })}>
          <option value="fashion-mnist">Fashion-MNIST</option>
          <option value="folder">Image folder</option>
        </select>
      </label>
      {form.dataset === "folder" && field("folder", "Folder", "relative/path")}
      {field("budgetMinutes", "Budget (minutes)")}
      {field("maxParameters", "Max parameters", "none")}
      {field("maxFlops", "Max FLOPs", "none")}
      {field("maxMilliseconds", "Max ms (batch 1)", "none")}
      <label className="field">
        Backend
        <select value={form.backend} disabled={running} onChange={(e) => setForm({ ...form, backend: e.target.value })}>
          <option value="cpu">cpu</option>
          <option value="gl">gl</option>
        </select>
      </label>
      {field("seed", "Seed")}
      <div className="buttons">
        {running ? (
          <button onClick={() => void api.stopSearch()} data-testid="search-stop">Stop</button>
        ) : (
          <button onClick={() => void start()} data-testid="search-start">Search</button>
        )}
      </div>
      {error && <p className="error" data-testid="search-error">{error.message}</p>}
      {status && status.state !== "idle" && (
        <p data-testid="search-state">
          {status.state}: {status.candidates.length} candidates, front {status.front.join(", ")} ({status.folder})
          {status.error ? ` — ${status.error}` : ""}
        </p>
      )}
      <ParetoChart candidates={status?.candidates ?? []} front={status?.front ?? []} onOpen={onOpen} />
    </div>
  );
}

/** Accuracy against measured latency, one point per trained candidate; the front in its own colour. */
function ParetoChart({ candidates, front, onOpen }: { candidates: SearchCandidate[]; front: number[]; onOpen(path: string): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"scatter"> | null>(null);
  const shown = useRef<SearchCandidate[][]>([[], []]);
  const open = useRef(onOpen);
  open.current = onOpen;

  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: "scatter",
      data: { datasets: [
        { label: "Candidates", data: [], backgroundColor: "#8aa0b8" },
        { label: "Pareto front", data: [], backgroundColor: "#e0702a", pointRadius: 6 },
      ] },
      options: {
        animation: false,
        scales: { x: { title: { display: true, text: "latency (ms)" } }, y: { title: { display: true, text: "accuracy" } } },
        plugins: { tooltip: { callbacks: { label: (item) => describe(shown.current[item.datasetIndex][item.dataIndex]) } } },
        onClick: (_event, elements) => {
          const hit = elements[0];
          const candidate = hit && shown.current[hit.datasetIndex][hit.index];
          if (candidate?.model) open.current(candidate.model);
        },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const trained = candidates.filter((c) => c.accuracy !== null && c.model !== null);
    const onFront = new Set(front);
    shown.current = [trained.filter((c) => !onFront.has(c.id)), trained.filter((c) => onFront.has(c.id)).sort((a, b) => a.latencyMs - b.latencyMs)];
    chart.current!.data.datasets.forEach((d, i) => (d.data = shown.current[i].map((c) => ({ x: c.latencyMs, y: c.accuracy! }))));
    chart.current!.update();
    // for tests: the count, and where the first front point is drawn (CSS pixels in the canvas)
    const first = chart.current!.getDatasetMeta(1).data[0];
    canvas.current!.dataset.points = String(trained.length);
    canvas.current!.dataset.frontAt = first ? `${Math.round(first.x)},${Math.round(first.y)}` : "";
  }, [candidates, front]);

  return <canvas ref={canvas} data-testid="search-chart" />;
}

function describe(c: SearchCandidate): string {
  return `#${c.id}: ${(100 * c.accuracy!).toFixed(1)}%, ${c.latencyMs.toFixed(2)} ms, ${c.parameters.toLocaleString()} params, ${c.flops.toLocaleString()} FLOPs`;
}

declare global {
  interface Window {
    /** Extra search request fields a test sets (the tiny search's population and image counts). */
    __neuroSearchOptions?: Partial<SearchRequest>;
  }
}
