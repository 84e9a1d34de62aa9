// The network of a run that the editor did not build — a game attached over its live link, whose run record is all the
// editor knows of it — as a read-only document for the canvas: one node per graph node (an Input node for each graph
// input), edges with the shapes the record gives, parameters counted from the record's tensors, laid out once.

import { layoutPositions } from "../layout";
import type { DocEdge, DocNode, LayerSpec, NetworkDocument } from "../protocol";
import { buildView } from "../view";
import { inputNames } from "./metrics";
import type { RunRecord } from "./records";

/** The run's graph as a document (revision −1: never the server's), laid out top to bottom. */
export function runDocument(run: RunRecord, specs: Map<string, LayerSpec>): NetworkDocument {
  const shapes = new Map(run.nodes.map((n) => [n.name, n.shape]));
  const parameters = new Map<string, number>();
  for (const p of run.parameters) {
    const node = p.name.slice(0, p.name.lastIndexOf("."));
    parameters.set(node, (parameters.get(node) ?? 0) + p.shape.reduce((a, b) => a * b, 1));
  }
  const node = (id: string, type: string, inputs: string[], shape: number[] | null): DocNode => ({
    id, type, attributes: {}, inputs, position: { x: 0, y: 0 }, group: null, outputShape: shape, error: null, fix: null,
    parameters: parameters.get(id) ?? 0, flops: 0,
  });
  const nodes = [
    ...inputNames(run).map((name) => node(name, "Input", [], null)),
    ...run.nodes.map((n) => node(n.name, n.type, n.inputs, n.shape)),
  ];
  const edges: DocEdge[] = run.nodes.flatMap((n) =>
    n.inputs.map((input, port) => ({ id: `${input}->${n.name}:${port}`, source: input, target: n.name, targetPort: port, shape: shapes.get(input) ?? null })),
  );
  const total = [...parameters.values()].reduce((a, b) => a + b, 0);
  const doc: NetworkDocument = {
    revision: -1, name: run.name ?? "game", path: null, file: -1, dirty: false, canUndo: false, canRedo: false,
    nodes, groups: [], edges, output: run.nodes[run.nodes.length - 1]?.name ?? null,
    totals: { parameters: total, flops: 0 }, valid: true, errors: [],
  };
  const view = buildView(doc, specs);
  const positions = layoutPositions(doc, view.nodes, view.edges);
  return { ...doc, nodes: nodes.map((n) => ({ ...n, position: positions[n.id] ?? n.position })) };
}
