// The training inspector, docked under the canvas: the badge metric and heat mode of the graph, and four views —
// the curves of the shown runs, the selected node, the evaluation, and the runs kept in the folder.

import { useState } from "react";
import { CurvesView } from "./CurvesView";
import { EvaluationView } from "./EvaluationView";
import { badgeMetrics, type BadgeMetric, type HeatMode } from "./metrics";
import { NodeView } from "./NodeView";
import { RunsView } from "./RunsView";
import type { MonitorState } from "./useMonitor";

type Tab = "curves" | "node" | "evaluation" | "runs";

interface Props {
  monitor: MonitorState;
  selectedNode: { id: string; type: string } | null;
  firstConvolution: string | null;
  /** The shown run is an attached game's (probes go to the game; no evaluation on request). */
  game: boolean;
}

/** The dock starts closed, a bar under the canvas (its tabs count the findings; the badges are on the graph meanwhile):
 * open, it takes 330 px from the canvas, which the user gives when they look at a view. */
export function InspectorDock({ monitor, selectedNode, firstConvolution, game }: Props) {
  const [tab, setTab] = useState<Tab>("curves");
  const [open, setOpen] = useState(false);
  const run = monitor.focus;
  const findings = run?.diagnostics?.items.length ?? 0;
  const tabs: { id: Tab; label: string }[] = [
    { id: "curves", label: `Curves${findings > 0 ? ` ⚠ ${findings}` : ""}` },
    { id: "node", label: selectedNode ? `Node ${selectedNode.id}` : "Node" },
    { id: "evaluation", label: "Evaluation" },
    { id: "runs", label: `Runs${monitor.opened.length > 0 ? ` (${monitor.opened.length} open)` : ""}` },
  ];
  return (
    <section className={`dock${open ? "" : " closed"}`} data-testid="inspector-dock">
      <nav className="dock-bar">
        <button className="small" onClick={() => setOpen(!open)} title={open ? "Hide the inspector" : "Show the inspector"} data-testid="dock-toggle">
          {open ? "▾" : "▴"}
        </button>
        {tabs.map((t) => (
          <button key={t.id} className={tab === t.id && open ? "active" : ""} onClick={() => (setTab(t.id), setOpen(true))} data-testid={`dock-tab-${t.id}`}>
            {t.label}
          </button>
        ))}
        <span className="spacer" />
        <label title="What the badge on every node shows, from the latest sample">
          badges{" "}
          <select value={monitor.metric} onChange={(e) => monitor.setMetric(e.target.value as BadgeMetric)} data-testid="badge-metric">
            {badgeMetrics.map((m) => (
              <option key={m.id} value={m.id} title={m.title}>{m.label}</option>
            ))}
          </select>
        </label>
        <label title="Colour the nodes by their time or gradient norm (log scale across the nodes)">
          heat{" "}
          <select value={monitor.heatMode} onChange={(e) => monitor.setHeatMode(e.target.value as HeatMode)} data-testid="heat-mode">
            <option value="off">off</option>
            <option value="time">time</option>
            <option value="gradNorm">gradient norm</option>
          </select>
        </label>
        <span className="hint" data-testid="dock-run">
          {run ? `${run.samples.length} samples${run.missed > 0 ? `, ${run.missed} missed (filled from the run's file)` : ""}` : "no run yet"}
        </span>
      </nav>
      {open && (
        <div className="dock-body">
          {tab === "curves" && <CurvesView runs={monitor.shown} />}
          {tab === "node" && <NodeView run={run} node={selectedNode?.id ?? null} nodeType={selectedNode?.type ?? null} isFirstConvolution={selectedNode?.id === firstConvolution} game={game && run === monitor.live} />}
          {tab === "evaluation" && <EvaluationView run={run} live={run !== null && run === monitor.live && !game} />}
          {tab === "runs" && <RunsView monitor={monitor} />}
        </div>
      )}
    </section>
  );
}
