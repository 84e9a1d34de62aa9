// What the inspector draws on the graph's nodes: a badge per node (the chosen metric of the latest sample, colour-scaled
// across the nodes; the input's throughput), the heat colour, and the diagnostics written on the node they concern.
// The canvas's nodes read it from a context, so a new sample redraws the badges without rebuilding the graph.

import { createContext, memo, useContext, useMemo } from "react";
import { badgeMetrics, badges, heat, inputNames, weightsByNode, type Badge, type BadgeMetric, type HeatMode } from "./metrics";
import type { DiagnosticItem, RunData } from "./records";

export interface GraphOverlay {
  step: number | null;
  metric: BadgeMetric;
  badges: Map<string, Badge>;
  heat: Map<string, string>;
  diagnostics: Map<string, DiagnosticItem[]>;
}

const none: GraphOverlay = { step: null, metric: "gradNorm", badges: new Map(), heat: new Map(), diagnostics: new Map() };
export const GraphOverlayContext = createContext<GraphOverlay>(none);

export function useGraphOverlay(run: RunData | null, metric: BadgeMetric, heatMode: HeatMode): GraphOverlay {
  return useMemo(() => {
    const sample = run?.samples[run.samples.length - 1];
    if (!run || !sample) return { ...none, metric, diagnostics: diagnosticsByNode(run) };
    const weights = weightsByNode(run.description);
    const shown = badges(sample, metric, weights);
    if (sample.imagesPerSecond !== null)
      for (const input of inputNames(run.description))
        shown.set(input, { value: sample.imagesPerSecond, text: `${sample.imagesPerSecond.toFixed(0)} img/s`, colour: "#5b6b7f" });
    return { step: sample.step, metric, badges: shown, heat: heat(sample, heatMode, weights), diagnostics: diagnosticsByNode(run) };
  }, [run, metric, heatMode]);
}

function diagnosticsByNode(run: RunData | null): Map<string, DiagnosticItem[]> {
  const byNode = new Map<string, DiagnosticItem[]>();
  for (const item of run?.diagnostics?.items ?? []) {
    if (!item.node) continue;
    byNode.set(item.node, [...(byNode.get(item.node) ?? []), item]);
  }
  return byNode;
}

/** The badge and diagnostics drawn inside a layer node. */
export const NodeOverlay = memo(function NodeOverlay({ id }: { id: string }) {
  const overlay = useContext(GraphOverlayContext);
  const badge = overlay.badges.get(id);
  const found = overlay.diagnostics.get(id) ?? [];
  const label = badgeMetrics.find((m) => m.id === overlay.metric)?.label ?? "";
  return (
    <>
      {overlay.step !== null && (
        <span
          className="node-badge"
          data-testid={`node-badge-${id}`}
          data-value={badge?.value}
          data-step={overlay.step}
          style={badge ? { background: badge.colour } : undefined}
          title={badge ? `${label} at step ${overlay.step}` : `no ${label} for this node`}
        >
          {badge?.text ?? "—"}
        </span>
      )}
      {found.map((d) => (
        <div key={`${d.kind}-${d.parameter ?? ""}`} className={`node-diagnostic ${d.severity}`} data-testid={`node-diagnostic-${id}`} data-kind={d.kind} title={`${d.title}: ${d.message}. ${d.remedy}`}>
          {d.title}
        </div>
      ))}
    </>
  );
});
