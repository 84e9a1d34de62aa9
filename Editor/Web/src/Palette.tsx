// The palette: every layer of GET /api/layers by group, and the templates of GET /api/templates. Items are
// dragged onto the canvas (HTML drag and drop) or double-clicked to add them: a layer after the selected node, a
// block after it, a model through the template dialog. While a run trains the network, nothing can be added.

import { useMemo, useState, type ReactNode } from "react";
import type { LayerSpec, TemplateSpec } from "./protocol";

export const layerDragType = "application/x-neuro-layer";
export const templateDragType = "application/x-neuro-template";

const groupOrder = ["io", "convolution", "pooling", "activation", "normalization", "regularization", "linear", "merge", "shape", "loss"];
const groupLabels: Record<string, string> = {
  io: "Input / output",
  convolution: "Convolution",
  pooling: "Pooling",
  activation: "Activation",
  normalization: "Normalization",
  regularization: "Regularization",
  linear: "Linear",
  merge: "Merge",
  shape: "Shape",
  loss: "Loss",
};

interface Props {
  layers: LayerSpec[];
  templates: TemplateSpec[];
  onAddLayer(type: string): void;
  onInsertTemplate(template: TemplateSpec): void;
  /** Why nothing may be added now (a run is training the network), or null. */
  locked: string | null;
}

export function Palette({ layers, templates, onAddLayer, onInsertTemplate, locked }: Props) {
  const [filter, setFilter] = useState("");
  const [closed, setClosed] = useState<Set<string>>(new Set());

  const groups = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const byGroup = new Map<string, LayerSpec[]>();
    for (const layer of layers) {
      if (needle && !layer.type.toLowerCase().includes(needle)) continue;
      const list = byGroup.get(layer.group) ?? [];
      list.push(layer);
      byGroup.set(layer.group, list);
    }
    const rank = (g: string) => (groupOrder.indexOf(g) === -1 ? groupOrder.length : groupOrder.indexOf(g));
    return [...byGroup.entries()].sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]));
  }, [layers, filter]);

  const shownTemplates = templates.filter((t) => !filter.trim() || t.label.toLowerCase().includes(filter.trim().toLowerCase()));
  const toggle = (key: string) =>
    setClosed((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const section = (key: string, label: string, count: number, body: ReactNode) => (
    <div className="palette-group" key={key} data-testid={`palette-group-${key}`}>
      <button className="palette-group-title" onClick={() => toggle(key)}>
        {closed.has(key) ? "▸" : "▾"} {label} <span className="muted">{count}</span>
      </button>
      {!closed.has(key) && <div className="palette-items">{body}</div>}
    </div>
  );

  return (
    <aside className="palette" data-testid="palette">
      <input className="palette-filter" placeholder="Filter layers and templates" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="palette-filter" />
      {groups.map(([group, list]) =>
        section(
          group,
          groupLabels[group] ?? group,
          list.length,
          list.map((layer) => (
            <div
              key={layer.type}
              className={`palette-item group-${layer.group}${locked ? " disabled" : ""}`}
              draggable={!locked}
              data-testid={`palette-item-${layer.type}`}
              title={locked ?? `${layer.type}: double-click to add it after the selected node; drag it onto an edge to insert it there, or anywhere on the canvas`}
              onDragStart={(e) => {
                e.dataTransfer.setData(layerDragType, layer.type);
                e.dataTransfer.effectAllowed = "copy";
              }}
              onDoubleClick={() => !locked && onAddLayer(layer.type)}
            >
              {layer.type}
            </div>
          )),
        ),
      )}
      {(["block", "model"] as const).map((kind) => {
        const list = shownTemplates.filter((t) => t.kind === kind);
        if (list.length === 0) return null;
        return section(
          `templates-${kind}`,
          kind === "block" ? "Blocks" : "Models (replace the document)",
          list.length,
          list.map((template) => (
            <div
              key={template.id}
              className={`palette-item template-${kind}${locked ? " disabled" : ""}`}
              draggable={!locked}
              data-testid={`palette-template-${template.id}`}
              title={
                locked ??
                `${template.description ?? template.label}\n${kind === "block" ? "Drop onto the node it should follow, or double-click to insert after the selected node" : "Double-click or drop to size it for your data and open it (undo restores the previous document)"}`
              }
              onDragStart={(e) => {
                e.dataTransfer.setData(templateDragType, template.id);
                e.dataTransfer.effectAllowed = "copy";
              }}
              onDoubleClick={() => !locked && onInsertTemplate(template)}
            >
              {template.label}
            </div>
          )),
        );
      })}
    </aside>
  );
}
