// The runs kept in the served folder (runs/*.jsonl, and any monitor file copied in): open one to overlay its curves,
// inspect it (badges, node and evaluation views show its numbers), and compare the shown runs side by side.

import { useCallback, useEffect, useState } from "react";
import { api } from "../api";
import type { RunEntry } from "../protocol";
import { runColours } from "./CurvesView";
import type { MonitorState } from "./useMonitor";
import { runLabel, type RunData } from "./records";

function summary(run: RunData) {
  const last = run.samples[run.samples.length - 1];
  const best = Math.max(...run.evaluations.map((e) => e.testAccuracy ?? 0), 0);
  const options = run.description?.options ?? {};
  return {
    steps: last?.step ?? 0,
    loss: last?.loss ?? null,
    best: run.evaluations.length > 0 ? best : null,
    final: run.evaluations[run.evaluations.length - 1]?.testAccuracy ?? null,
    recipe: ["optimizer", "learningRate", "batchSize", "epochs"].map((k) => `${options[k] ?? "?"}`).join(", "),
    diagnostics: run.diagnostics?.items.length ?? 0,
  };
}

export function RunsView({ monitor }: { monitor: MonitorState }) {
  const [runs, setRuns] = useState<RunEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(() => api.runs().then(setRuns, (e: Error) => setError(e.message)), []);
  useEffect(() => void refresh(), [refresh, monitor.live?.key]);
  const isOpen = monitor.isOpen;

  return (
    <div className="runs-view" data-testid="runs-view">
      <div className="row">
        <button className="small" onClick={() => void refresh()} data-testid="runs-refresh">refresh</button>
        <span className="hint">Tick runs to overlay their curves; "inspect" shows a run on the graph and in the node and evaluation views.</span>
        {error && <span className="node-error">{error}</span>}
      </div>
      <table className="runs" data-testid="runs-list">
        <thead>
          <tr><th /><th>run</th><th>started</th><th>steps</th><th>recipe</th><th /></tr>
        </thead>
        <tbody>
          {runs.map((entry) => {
            const live = monitor.live?.key === entry.path;
            return (
              <tr key={entry.path} data-testid={`run-${entry.path}`}>
                <td>
                  <input type="checkbox" checked={isOpen(entry.path)} disabled={live} onChange={() => void monitor.toggleRun(entry.path)} data-testid={`run-overlay-${entry.path}`} />
                </td>
                <td title={entry.path}>{entry.name ?? entry.path}{live ? " (current)" : ""}</td>
                <td>{entry.startedAt ? new Date(entry.startedAt).toLocaleString("en-GB") : new Date(entry.modified).toLocaleString("en-GB")}</td>
                <td>{entry.totalSteps ?? "?"}</td>
                <td>{entry.options ? `${entry.options.optimizer}, lr ${entry.options.learningRate}, batch ${entry.options.batchSize}` : ""}</td>
                <td>
                  <button className="small" disabled={!isOpen(entry.path)} onClick={() => monitor.setFocusKey(entry.path)} data-testid={`run-inspect-${entry.path}`}>
                    {monitor.focus?.key === entry.path ? "inspected" : "inspect"}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {monitor.shown.length > 1 && (
        <table className="runs compare" data-testid="runs-compare">
          <thead>
            <tr><th>shown run</th><th>steps</th><th>last loss</th><th>best test acc.</th><th>last test acc.</th><th>optimizer, rate, batch, epochs</th><th>findings</th></tr>
          </thead>
          <tbody>
            {monitor.shown.map((run, i) => {
              const s = summary(run);
              const pct = (v: number | null) => (v === null ? "—" : `${(100 * v).toFixed(2)} %`);
              return (
                <tr key={run.key}>
                  <td><span className="swatch" style={{ background: runColours[i % runColours.length] }} /> {runLabel(run)}</td>
                  <td>{s.steps}</td>
                  <td>{s.loss?.toFixed(4) ?? "—"}</td>
                  <td>{pct(s.best)}</td>
                  <td>{pct(s.final)}</td>
                  <td>{s.recipe}</td>
                  <td>{s.diagnostics}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
