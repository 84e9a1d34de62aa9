// The Game tab: attach the inspector to a running game by its live-link URL (as the game printed it, with the token),
// then the game's frame times and training-budget use, its training state and, when the game allows control, pause and
// resume, the learning rate and a checkpoint. The network, badges, curves and node views show the game's run meanwhile.

import { useEffect, useRef, useState } from "react";
import type { LiveState } from "./hooks/useLive";
import type { LiveFrame } from "./protocol";

/** The p-th percentile (nearest rank) of `values`. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The frames as bars (frame time; its training part darker) with the training budget as a dashed line. */
function FrameChart({ frames }: { frames: LiveFrame[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext("2d");
    if (!context || !canvas.current) return;
    const { width, height } = canvas.current;
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    if (frames.length === 0) return;
    const top = Math.max(1, ...frames.map((f) => Math.max(f.ms, f.trainingBudgetMs))) * 1.1;
    const bar = width / frames.length;
    const y = (ms: number) => height - (ms / top) * height;
    frames.forEach((f, i) => {
      context.fillStyle = "#9db4cf";
      context.fillRect(i * bar, y(f.ms), Math.max(1, bar), height - y(f.ms));
      context.fillStyle = "#2f5d8a";
      context.fillRect(i * bar, y(Math.min(f.trainingMs, f.ms)), Math.max(1, bar), height - y(Math.min(f.trainingMs, f.ms)));
    });
    const budget = Math.max(...frames.map((f) => f.trainingBudgetMs));
    if (budget > 0) {
      context.strokeStyle = "#c0392b";
      context.setLineDash([4, 3]);
      context.beginPath();
      context.moveTo(0, y(budget));
      context.lineTo(width, y(budget));
      context.stroke();
      context.setLineDash([]);
    }
  }, [frames]);
  return <canvas ref={canvas} width={300} height={90} className="live-frames" data-testid="live-frames" data-frames={frames.length} />;
}

export function LivePanel({ live }: { live: LiveState }) {
  const [url, setUrl] = useState("");
  const [rate, setRate] = useState("");
  const status = live.status;
  const frames = status?.frames ?? [];
  const times = frames.map((f) => f.ms);
  const trained = frames.filter((f) => f.trainingBudgetMs > 0);
  const budgetUse = trained.length > 0 ? trained.reduce((s, f) => s + f.trainingMs, 0) / trained.reduce((s, f) => s + f.trainingBudgetMs, 0) : null;
  const attached = live.attached;

  return (
    <div className="train-panel live-panel" data-testid="live-panel">
      <h3>Attach to a game</h3>
      <p className="hint">Start the game with its live link (e.g. <code>InGameLearning --inspect 7070</code>) and paste the URL it prints, with its token.</p>
      <div className="row">
        <input
          className="grow"
          placeholder="http://127.0.0.1:PORT/?token=…"
          value={url}
          disabled={attached}
          onChange={(e) => setUrl(e.target.value)}
          data-testid="live-url"
        />
        {attached ? (
          <button onClick={() => void live.detach()} disabled={live.busy} data-testid="live-detach">Detach</button>
        ) : (
          <button onClick={() => void live.attach(url.trim())} disabled={live.busy || url.trim() === ""} data-testid="live-attach">Attach</button>
        )}
      </div>
      <div className="hint" data-testid="live-state" data-state={status?.state ?? "detached"}>
        {status?.state === "attached" ? `attached to ${status.address}` : status?.state === "connecting" ? `connecting to ${status.address}…` : status?.state === "ended" ? "the link ended" : "not attached"}
      </div>
      {status?.error && <div className="node-error block" data-testid="live-error">{status.error}</div>}
      {status && status.state !== "detached" && frames.length > 0 && (
        <>
          <h4>Frames</h4>
          <FrameChart frames={frames} />
          <table className="stats" data-testid="live-stats">
            <tbody>
              <tr><th>frame</th><td data-testid="live-frame">{status.frame ?? "—"}</td></tr>
              <tr><th>frame time p50 / p99</th><td data-testid="live-frame-times">{percentile(times, 50).toFixed(2)} / {percentile(times, 99).toFixed(2)} ms</td></tr>
              <tr><th>training budget used</th><td data-testid="live-budget-use">{budgetUse === null ? "—" : `${(100 * budgetUse).toFixed(0)} % of ${trained[trained.length - 1].trainingBudgetMs.toFixed(1)} ms`}</td></tr>
              <tr><th>training step</th><td data-testid="live-step">{status.step ?? "—"}{status.paused ? " (paused)" : ""}</td></tr>
              <tr><th>learning rate (at attach or last change)</th><td data-testid="live-lr">{status.lr ?? "—"}</td></tr>
              {status.missedFrames + status.missedMessages > 0 && (
                <tr><th>missed</th><td>{status.missedMessages} messages, {status.missedFrames} frames</td></tr>
              )}
            </tbody>
          </table>
        </>
      )}
      {status?.nonFinite && <div className="diagnostic-box error" data-testid="live-nonfinite"><b>NaN guard</b>: {status.nonFinite}</div>}
      {attached && status && (
        status.control ? (
          <div className="live-controls" data-testid="live-controls">
            <h4>Control</h4>
            <div className="row">
              {status.paused ? (
                <button onClick={() => void live.control("resume")} data-testid="live-resume">Resume training</button>
              ) : (
                <button onClick={() => void live.control("pause")} data-testid="live-pause">Pause training</button>
              )}
              <button onClick={() => void live.control("checkpoint")} data-testid="live-checkpoint">Checkpoint now</button>
            </div>
            <div className="row">
              <input type="number" step="any" min={0} placeholder={`${status.lr ?? ""}`} value={rate} onChange={(e) => setRate(e.target.value)} data-testid="live-lr-input" />
              <button disabled={!(Number(rate) > 0)} onClick={() => void live.control("lr", Number(rate))} data-testid="live-lr-set">Set learning rate</button>
            </div>
          </div>
        ) : (
          <p className="hint" data-testid="live-read-only">
            {status.controlEnabled ? "Read-only: another client holds the game's control." : "Read-only: the game did not enable control."}
          </p>
        )
      )}
    </div>
  );
}
