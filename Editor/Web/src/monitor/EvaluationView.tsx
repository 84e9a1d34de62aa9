// The evaluation view (Neural Network Console's and tfjs-vis's): the confusion matrix of the latest evaluation (rows are
// true classes; a cell opens its images), per-class accuracy, and the most confidently wrong images.

import { useState } from "react";
import { api } from "../api";
import type { TestImages } from "../protocol";
import { DatasetImage } from "./images";
import type { EvaluationRecord, RunData } from "./records";

export function EvaluationView({ run, live }: { run: RunData | null; live: boolean }) {
  const [fresh, setFresh] = useState<EvaluationRecord | null>(null);
  const [cell, setCell] = useState<(TestImages & { count: number; label: number; predicted: number }) | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const latest = run?.evaluations[run.evaluations.length - 1] ?? null;
  const evaluation = fresh && (!latest || fresh.step >= latest.step) ? fresh : latest;

  const evaluateNow = async () => {
    setBusy(true);
    setError(null);
    try {
      setFresh(await api.evaluate());
      setCell(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const openCell = async (label: number, predicted: number) => {
    try {
      setCell({ ...(await api.cell(label, predicted)), label, predicted });
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const toolbar = (
    <div className="row">
      <button className="small" onClick={() => void evaluateNow()} disabled={busy} data-testid="evaluate-now" title="Evaluate the test set now (between two steps while training)">
        {busy ? "evaluating…" : "evaluate now"}
      </button>
      {error && <span className="node-error">{error}</span>}
    </div>
  );
  if (!evaluation) return <div className="evaluation-view" data-testid="evaluation-view">{toolbar}<div className="hint">No evaluation yet: the test set is evaluated at each epoch's end.</div></div>;

  const { classes, confusion } = evaluation;
  const peak = Math.max(1, ...confusion.flatMap((row, t) => row.filter((_, p) => p !== t)));
  const total = confusion.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  return (
    <div className="evaluation-view" data-testid="evaluation-view" data-count={evaluation.count} data-total={total}>
      {toolbar}
      <div className="hint">
        step {evaluation.step}, epoch {evaluation.epoch + 1}: test accuracy {evaluation.testAccuracy !== null ? `${(100 * evaluation.testAccuracy).toFixed(2)} %` : "—"}, test loss{" "}
        {evaluation.testLoss?.toFixed(4) ?? "—"} on {evaluation.count} images{!live && run ? " (an earlier run: its images are not loaded)" : ""}
      </div>
      <div className="row top evaluation-columns">
        <table className="confusion" data-testid="confusion-matrix">
          <thead>
            <tr>
              <th className="corner">true ↓ predicted →</th>
              {classes.map((c, p) => (
                <th key={p} title={c}>{c.slice(0, 6)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {confusion.map((row, t) => (
              <tr key={t}>
                <th title={classes[t]}>{classes[t].slice(0, 10)}</th>
                {row.map((count, p) => {
                  const tint = t === p ? `rgba(58, 167, 87, ${0.15 + (0.75 * count) / Math.max(1, row.reduce((a, b) => a + b, 0))})` : `rgba(217, 83, 79, ${count === 0 ? 0 : 0.12 + (0.8 * count) / peak})`;
                  return (
                    <td key={p} style={{ background: tint }} data-testid={`confusion-${t}-${p}`} data-count={count} onClick={() => live && count > 0 && void openCell(t, p)} className={live && count > 0 ? "clickable" : undefined}>
                      {count}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
        <table className="class-accuracy" data-testid="class-accuracy">
          <tbody>
            {classes.map((c, k) => {
              const accuracy = evaluation.classAccuracy[k];
              return (
                <tr key={k}>
                  <th>{c}</th>
                  <td>
                    <div className="bar" style={{ width: `${100 * (accuracy ?? 0)}%` }} />
                  </td>
                  <td>{accuracy === null ? "—" : `${(100 * accuracy).toFixed(1)} %`}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {cell && (
        <div className="cell-images" data-testid="cell-images" data-count={cell.count} data-shown={cell.images.length}>
          <h4>
            true {classes[cell.label]}, predicted {classes[cell.predicted]}: {cell.count} images{cell.images.length < cell.count ? ` (first ${cell.images.length})` : ""}
          </h4>
          <div className="thumbnails">
            {cell.images.map((image) => (
              <DatasetImage key={image.index} pixels={image.pixels} shape={cell.imageShape} scale={2} title={`test image ${image.index}`} />
            ))}
          </div>
        </div>
      )}
      <h4>Most confidently wrong</h4>
      <div className="thumbnails" data-testid="confidently-wrong">
        {evaluation.mostConfidentlyWrong.map((m) => (
          <figure key={m.index} className="mistake">
            <DatasetImage pixels={m.pixels} shape={evaluation.imageShape} scale={2} title={`test image ${m.index}`} />
            <figcaption>
              {classes[m.label]} → <b>{classes[m.predicted]}</b> {m.confidence !== null ? `${(100 * m.confidence).toFixed(0)} %` : ""}
            </figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}
