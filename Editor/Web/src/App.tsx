// The editor: toolbar, palette, canvas (React Flow), and the inspector / train panel. The document lives on
// the server; every edit is a command whose answer (the new document) replaces what is drawn. The same
// documents also arrive over the WebSocket (another tab, undo elsewhere); the newest revision wins.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./styles.css";

import { api, connectSocket } from "./api";
import { FileDialog, type FileMode } from "./FileDialog";
import { Inspector } from "./Inspector";
import { layoutPositions } from "./layout";
import { edgeTypes, GroupActionsContext, nodeTypes, type GroupActions } from "./nodes";
import { layerDragType, Palette, templateDragType } from "./Palette";
import type {
  AttributeValue,
  Command,
  LayerSpec,
  NetworkDocument,
  PastedNode,
  Position,
  ServerMessage,
  TemplateSpec,
  TrainingPoint,
  TrainingRequest,
  TrainingState,
  TrainingWeights,
} from "./protocol";
import { formatCount } from "./protocol";
import { TrainPanel } from "./TrainPanel";
import { buildView, groupExit, groupNodeId, layerSize, needsLayout, visibleOwners, type FlowNode, type ShapeFlowEdge } from "./view";

interface Training {
  runId: string | null;
  state: TrainingState;
  points: TrainingPoint[];
  error: string | null;
  weights?: TrainingWeights;
}

export function App() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}

/** Drawn nodes above which the view opens on the first layers rather than the whole graph. */
const largeGraph = 60;

function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function Editor() {
  const flow = useReactFlow<FlowNode, ShapeFlowEdge>();
  const [doc, setDoc] = useState<NetworkDocument | null>(null);
  const [layers, setLayers] = useState<LayerSpec[]>([]);
  const [templates, setTemplates] = useState<TemplateSpec[]>([]);
  const [nodes, setNodes] = useState<FlowNode[]>([]);
  const [edges, setEdges] = useState<ShapeFlowEdge[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [socketOpen, setSocketOpen] = useState(false);
  const [panel, setPanel] = useState<"inspect" | "train">("inspect");
  const [fileMode, setFileMode] = useState<FileMode | null>(null);
  const [training, setTraining] = useState<Training>({ runId: null, state: "idle", points: [], error: null });
  const [renderedRevision, setRenderedRevision] = useState(-1);

  const docRef = useRef<NetworkDocument | null>(null);
  const nodesRef = useRef<FlowNode[]>([]);
  const edgesRef = useRef<ShapeFlowEdge[]>([]);
  const clipboard = useRef<PastedNode[]>([]);
  /** The copy request in flight (the server answers the nodes to paste). */
  const copying = useRef<Promise<void>>(Promise.resolve());
  /**
   * Set before a command whose result may need an automatic layout: true lays out when drawn nodes overlap
   * (open, new, expand), "always" lays out anyway (a model template: the server places its layers for the
   * expanded graph, one per row, which leaves wide gaps between the collapsed modules).
   */
  const layoutNext = useRef<boolean | "always">(false);
  const fitNext = useRef(false);
  /** Ids to select once the next document is drawn (pasted nodes). */
  const selectNext = useRef<Set<string> | null>(null);
  const canvas = useRef<HTMLDivElement>(null);
  nodesRef.current = nodes;
  edgesRef.current = edges;

  const specs = useMemo(() => new Map(layers.map((l) => [l.type, l])), [layers]);

  /** Takes a newer document (an equal revision only when `redraw`: the same document drawn with a new selection). */
  const acceptDocument = useCallback((next: NetworkDocument, redraw = false) => {
    const current = docRef.current;
    if (current && (next.revision < current.revision || (next.revision === current.revision && !redraw))) return;
    docRef.current = next;
    setDoc(redraw ? { ...next } : next);
  }, []);

  const run = useCallback(
    async (call: () => Promise<NetworkDocument>): Promise<NetworkDocument | null> => {
      try {
        const next = await call();
        acceptDocument(next);
        setError(null);
        return next;
      } catch (e) {
        setError((e as Error).message);
        return null;
      }
    },
    [acceptDocument],
  );
  const command = useCallback((c: Command) => run(() => api.command(c)), [run]);

  // Start-up: palette, templates, document, training state, and the WebSocket.
  useEffect(() => {
    api.layers().then(setLayers, (e: Error) => setError(e.message));
    api.templates().then(setTemplates, (e: Error) => setError(e.message));
    fitNext.current = true;
    layoutNext.current = true;
    void run(api.document);
    api.training().then(
      (t) => setTraining({ runId: t.runId, state: t.state, points: t.points ?? [], error: t.error ?? null, weights: t.weights ?? null }),
      () => {},
    );
    const onMessage = (message: ServerMessage) => {
      if (message.type === "document") {
        acceptDocument(message.document);
      } else if (message.type === "training") {
        setTraining((prev) => {
          // the status sent on connect carries every point so far: it replaces the list (a reconnect fills the gap)
          if (Array.isArray(message.points))
            return { runId: message.runId, state: message.state, points: message.points, error: message.error ?? null, weights: message.weights ?? null };
          const points = prev.runId === message.runId || prev.runId === null ? prev.points : [];
          const fresh =
            typeof message.loss === "number" && !points.some((p) => p.step === message.step && p.accuracy === (message.accuracy ?? null));
          const point: TrainingPoint | null =
            typeof message.loss === "number"
              ? {
                  epoch: message.epoch ?? 0,
                  step: message.step ?? 0,
                  loss: message.loss,
                  accuracy: message.accuracy ?? null,
                  imagesPerSecond: message.imagesPerSecond,
                }
              : null;
          return {
            runId: message.runId,
            state: message.state,
            points: fresh && point ? [...points, point] : points,
            error: message.error ?? null,
            weights: message.weights ?? null,
          };
        });
      }
    };
    return connectSocket(onMessage, setSocketOpen);
  }, [run, acceptDocument]);

  // Every new document is redrawn; selection survives where the ids do.
  useEffect(() => {
    if (!doc) return;
    const view = buildView(doc, specs);
    const previous = new Map(nodesRef.current.map((n) => [n.id, n]));
    const chosen = selectNext.current;
    selectNext.current = null;
    setNodes(
      view.nodes.map((n) => {
        const old = previous.get(n.id);
        const selected = chosen ? chosen.has(n.id) : (old?.selected ?? false);
        return { ...n, selected, measured: old?.measured } as FlowNode;
      }),
    );
    const selectedEdges = new Set(edgesRef.current.filter((e) => e.selected).map((e) => e.id));
    setEdges(view.edges.map((e) => ({ ...e, selected: selectedEdges.has(e.id) })));
    if (layoutNext.current) {
      const always = layoutNext.current === "always";
      layoutNext.current = false;
      if (always || needsLayout(view.nodes)) {
        // Fit once the laid-out document is drawn (a fit now would frame the old positions).
        void command({ op: "moveNodes", positions: layoutPositions(doc, view.nodes, view.edges) }).then((laid) => {
          if (laid) fitNext.current = true;
        });
      }
    }
  }, [doc, specs, command]);

  // After the drawn nodes change: note the revision drawn (tests and timings read it) and fit when asked.
  useEffect(() => {
    const current = docRef.current;
    if (!current) return;
    const revision = current.revision;
    const frame = requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        const timing = [...window.__neuroTimings].reverse().find((t) => t.revision === revision);
        if (timing && timing.renderedMs === undefined) timing.renderedMs = performance.now() - timing.startedAt;
        setRenderedRevision(revision);
        if (fitNext.current) {
          fitNext.current = false;
          // A large network fitted whole is unreadable: show its first layers (the minimap shows the rest).
          const shown = nodesRef.current.filter((n) => n.type !== "frame");
          const owners = visibleOwners(current);
          const firstIds = [...new Set(current.nodes.map((n) => owners.get(n.id) ?? n.id))].slice(0, 8);
          const first = shown.length > largeGraph ? firstIds.map((id) => ({ id })) : undefined;
          void flow.fitView({ padding: 0.12, maxZoom: 1.2, nodes: first });
        }
      }),
    );
    return () => cancelAnimationFrame(frame);
  }, [nodes, flow]);

  const docIdsOf = useCallback((flowIds: string[]): string[] => {
    const current = docRef.current;
    if (!current) return [];
    const ids: string[] = [];
    for (const id of flowIds) {
      if (id.startsWith("group:")) ids.push(...(current.groups.find((g) => groupNodeId(g.id) === id)?.nodes ?? []));
      else if (!id.startsWith("frame:")) ids.push(id);
    }
    return ids;
  }, []);

  const undo = useCallback(() => run(api.undo), [run]);
  const redo = useCallback(() => run(api.redo), [run]);

  const deleteSelection = useCallback(async () => {
    const ids = docIdsOf(nodesRef.current.filter((n) => n.selected).map((n) => n.id));
    if (ids.length > 0) {
      await command({ op: "removeNodes", ids });
      return;
    }
    for (const edge of edgesRef.current.filter((e) => e.selected)) {
      if (edge.data) await command({ op: "disconnect", source: edge.data.docSource, target: edge.data.docTarget });
    }
  }, [command, docIdsOf]);

  const copySelection = useCallback(async () => {
    const ids = docIdsOf(nodesRef.current.filter((n) => n.selected).map((n) => n.id));
    if (ids.length === 0) return;
    copying.current = api.copy(ids).then(
      (answer) => {
        clipboard.current = answer.nodes;
      },
      (e: Error) => setError(e.message),
    );
    await copying.current;
  }, [docIdsOf]);

  const paste = useCallback(async () => {
    await copying.current; // Ctrl+V right after Ctrl+C pastes what was copied
    if (clipboard.current.length === 0) return;
    const before = new Set(docRef.current?.nodes.map((n) => n.id) ?? []);
    const next = await run(() => api.command({ op: "paste", nodes: clipboard.current, offset: { x: 48, y: 48 } }));
    if (next) selectNext.current = new Set(next.nodes.filter((n) => !before.has(n.id)).map((n) => n.id));
    if (next) acceptDocument(next, true); // redraw with the pasted nodes selected
  }, [run, acceptDocument]);

  // Keyboard: undo/redo, copy/paste, delete (not while typing in a field).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "z" && !e.shiftKey) void undo();
      else if (mod && ((key === "z" && e.shiftKey) || key === "y")) void redo();
      else if (mod && key === "c") void copySelection();
      else if (mod && key === "v") void paste();
      else if (!mod && (e.key === "Delete" || e.key === "Backspace")) void deleteSelection();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo, copySelection, paste, deleteSelection]);

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), ns));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange<ShapeFlowEdge>[]) => {
    setEdges((es) => applyEdgeChanges(changes.filter((c) => c.type !== "remove"), es));
  }, []);

  const onNodeDragStop = useCallback(
    (_: unknown, __: FlowNode, dragged: FlowNode[]) => {
      const current = docRef.current;
      if (!current) return;
      const byId = new Map(current.nodes.map((n) => [n.id, n]));
      const positions: Record<string, Position> = {};
      for (const node of dragged) {
        if (node.type === "layer") {
          positions[node.id] = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
        } else if (node.type === "collapsed") {
          const members = node.data.group.nodes.map((id) => byId.get(id)).filter((n) => n !== undefined);
          const minX = Math.min(...members.map((n) => n.position.x));
          const minY = Math.min(...members.map((n) => n.position.y));
          const dx = Math.round(node.position.x - minX);
          const dy = Math.round(node.position.y - minY);
          for (const m of members) positions[m.id] = { x: m.position.x + dx, y: m.position.y + dy };
        }
      }
      const moved = Object.entries(positions).some(([id, p]) => {
        const n = byId.get(id);
        return !n || n.position.x !== p.x || n.position.y !== p.y;
      });
      if (moved) void command({ op: "moveNodes", positions });
    },
    [command],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      const current = docRef.current;
      if (!current) return;
      let source = connection.source;
      if (source.startsWith("group:")) {
        const group = current.groups.find((g) => groupNodeId(g.id) === source);
        source = (group && groupExit(current, group)) ?? source;
      }
      if (connection.target.startsWith("group:")) {
        setError("Expand the group to connect into one of its layers");
        return;
      }
      const target = current.nodes.find((n) => n.id === connection.target);
      const port = Number((connection.targetHandle ?? "in-0").slice(3));
      const variadic = target && specs.get(target.type)?.inputs === -1;
      const append = variadic && (port >= target.inputs.length || target.inputs[port] === null);
      void command({ op: "connect", source, target: connection.target, ...(append ? {} : { targetPort: port }) });
    },
    [command, specs],
  );

  const viewportCenter = useCallback((): Position => {
    const rect = canvas.current?.getBoundingClientRect();
    if (!rect) return { x: 0, y: 0 };
    const p = flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
    return { x: Math.round(p.x - layerSize.width / 2), y: Math.round(p.y - layerSize.height / 2) };
  }, [flow]);

  const selectedLayerId = useCallback((): string | null => {
    const selected = nodesRef.current.filter((n) => n.selected && n.type === "layer");
    return selected.length === 1 ? selected[0].id : null;
  }, []);

  const addLayer = useCallback(
    (type: string, position?: Position) => command({ op: "addNode", type, position: position ?? viewportCenter() }),
    [command, viewportCenter],
  );

  const insertTemplate = useCallback(
    async (template: TemplateSpec, position?: Position, after?: string | null) => {
      if (template.kind === "model") {
        layoutNext.current = "always";
        fitNext.current = true;
        await command({ op: "insertTemplate", template: template.id });
        return;
      }
      const anchor = after ?? selectedLayerId();
      if (!anchor) {
        setError(`Select the node the ${template.label} block should follow (or drop the block onto it)`);
        return;
      }
      await command({ op: "insertTemplate", template: template.id, after: anchor, position: position ?? undefined });
    },
    [command, selectedLayerId],
  );

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      e.preventDefault();
      const point = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      const layerType = e.dataTransfer.getData(layerDragType);
      if (layerType) {
        void addLayer(layerType, { x: Math.round(point.x - layerSize.width / 2), y: Math.round(point.y - 16) });
        return;
      }
      const templateId = e.dataTransfer.getData(templateDragType);
      const template = templates.find((t) => t.id === templateId);
      if (!template) return;
      // A block dropped onto a layer follows that layer.
      const under = nodesRef.current.find((n) => {
        if (n.type !== "layer") return false;
        const w = n.measured?.width ?? layerSize.width;
        const h = n.measured?.height ?? layerSize.height;
        return point.x >= n.position.x && point.x <= n.position.x + w && point.y >= n.position.y && point.y <= n.position.y + h;
      });
      void insertTemplate(template, { x: Math.round(point.x), y: Math.round(point.y) }, under?.id ?? null);
    },
    [flow, addLayer, insertTemplate, templates],
  );

  const autoLayout = useCallback(() => {
    const current = docRef.current;
    if (!current) return;
    void command({ op: "moveNodes", positions: layoutPositions(current, nodesRef.current, edgesRef.current) }).then((laid) => {
      if (laid) fitNext.current = true;
    });
  }, [command]);

  const groupActions = useMemo<GroupActions>(
    () => ({
      setCollapsed: (group, collapsed) => {
        layoutNext.current = !collapsed;
        void command({ op: "setGroupCollapsed", group, collapsed });
      },
      ungroup: (group) => void command({ op: "ungroup", group }),
    }),
    [command],
  );

  const openFile = async (mode: FileMode, path: string) => {
    setFileMode(null);
    if (mode === "open") {
      layoutNext.current = true;
      fitNext.current = true;
      await run(() => api.open(path));
    } else if (mode === "save") {
      await run(() => api.save(path));
    } else {
      try {
        await api.exportOnnx(path);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    }
  };

  const startTraining = async (request: TrainingRequest) => {
    try {
      // The run id also arrives with every training message; take it from there when the answer lacks it.
      const answer = await api.startTraining(request);
      setTraining({ runId: answer?.runId ?? null, state: "running", points: [], error: null });
    } catch (e) {
      setTraining((t) => ({ ...t, error: (e as Error).message }));
    }
  };
  const stopTraining = async () => {
    try {
      await api.stopTraining();
    } catch (e) {
      setTraining((t) => ({ ...t, error: (e as Error).message }));
    }
  };

  const selectOnly = (id: string) => setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id })));

  const selectedNodes = nodes.filter((n) => n.selected);
  const inspected = selectedNodes.length === 1 && selectedNodes[0].type === "layer" ? selectedNodes[0].data.node : null;

  if (!doc) {
    return (
      <div className="loading" data-testid="loading">
        {error ? <span className="node-error block">{error}</span> : "Loading the document…"}
      </div>
    );
  }

  return (
    <GroupActionsContext.Provider value={groupActions}>
      <div className="app" data-testid="app" data-revision={doc.revision} data-rendered-revision={renderedRevision}>
        <header className="toolbar" data-testid="toolbar">
          <strong className="brand">NeuroPlugin</strong>
          <button onClick={() => { layoutNext.current = true; fitNext.current = true; void command({ op: "new" }); }} data-testid="btn-new">
            New
          </button>
          <button onClick={() => setFileMode("open")} data-testid="btn-open" title="Open a .neuro file or import an .onnx file">
            Open / import…
          </button>
          <button onClick={() => (doc.path?.endsWith(".neuro") ? void run(() => api.save()) : setFileMode("save"))} data-testid="btn-save">
            Save
          </button>
          <button onClick={() => setFileMode("save")} data-testid="btn-save-as">
            Save as…
          </button>
          <button onClick={() => setFileMode("export")} data-testid="btn-export">
            Export ONNX…
          </button>
          <span className="sep" />
          <button onClick={() => void undo()} disabled={!doc.canUndo} data-testid="btn-undo" title="Undo (Ctrl+Z)">
            Undo
          </button>
          <button onClick={() => void redo()} disabled={!doc.canRedo} data-testid="btn-redo" title="Redo (Ctrl+Shift+Z, Ctrl+Y)">
            Redo
          </button>
          <button onClick={autoLayout} data-testid="btn-layout" title="Arrange the graph top to bottom">
            Layout
          </button>
          <button onClick={() => void flow.fitView({ padding: 0.12 })} data-testid="btn-fit">
            Fit
          </button>
          <span className="sep" />
          <span className="doc-name" data-testid="doc-name" title={doc.path ?? "not saved yet"}>
            {doc.path ?? doc.name}
            {doc.dirty ? " •" : ""}
          </span>
          <span className="totals">
            <span>
              parameters <b data-testid="total-parameters" data-value={doc.totals.parameters}>{doc.totals.parameters.toLocaleString("en-US")}</b>
            </span>
            <span>
              FLOPs <b data-testid="total-flops" data-value={doc.totals.flops}>{formatCount(doc.totals.flops)}</b>
            </span>
            <span className={doc.valid ? "ok" : "bad"} data-testid="doc-status">
              {doc.valid ? "valid" : `${doc.errors.length} error${doc.errors.length === 1 ? "" : "s"}`}
            </span>
            <span className={socketOpen ? "ok" : "bad"} title="live connection to neuro serve" data-testid="socket-status">
              {socketOpen ? "●" : "○"}
            </span>
          </span>
        </header>
        {error && (
          <div className="error-banner" data-testid="error-banner" onClick={() => setError(null)} title="click to dismiss">
            {error}
          </div>
        )}
        <main className="workspace">
          <Palette layers={layers} templates={templates} onAddLayer={(t) => void addLayer(t)} onInsertTemplate={(t) => void insertTemplate(t)} />
          <div className="canvas" ref={canvas} data-testid="canvas" onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; }} onDrop={onDrop}>
            <ReactFlow<FlowNode, ShapeFlowEdge>
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onNodeDragStop={onNodeDragStop}
              onConnect={onConnect}
              isValidConnection={(c) => c.source !== c.target}
              deleteKeyCode={null}
              multiSelectionKeyCode="Shift"
              minZoom={0.03}
              maxZoom={2.5}
              onlyRenderVisibleElements={nodes.length > 300}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={24} />
              <Controls data-testid="zoom-controls" />
              <MiniMap pannable zoomable data-testid="minimap" nodeColor={(n) => ((n.data as { node?: { error?: string | null } }).node?.error ? "#e05252" : n.type === "collapsed" ? "#8a6fd1" : "#7b8fa6")} />
            </ReactFlow>
          </div>
          <aside className="side">
            <nav className="tabs">
              <button className={panel === "inspect" ? "active" : ""} onClick={() => setPanel("inspect")} data-testid="tab-inspector">
                Inspector
              </button>
              <button className={panel === "train" ? "active" : ""} onClick={() => setPanel("train")} data-testid="tab-train">
                Train {training.state === "running" ? "●" : ""}
              </button>
            </nav>
            {panel === "inspect" ? (
              <Inspector
                doc={doc}
                node={inspected}
                spec={inspected ? specs.get(inspected.type) : undefined}
                onSetAttributes={async (id, attributes: Record<string, AttributeValue>) => (await command({ op: "setAttributes", id, attributes })) !== null}
                onRename={async (id, newId) => {
                  const next = await command({ op: "rename", id, newId });
                  if (next) selectNext.current = new Set([newId]);
                  if (next) acceptDocument(next, true);
                  return next !== null;
                }}
                onSetOutput={(id) => void command({ op: "setOutput", id })}
                onDelete={(id) => void command({ op: "removeNodes", ids: [id] })}
                onSelect={selectOnly}
              />
            ) : (
              <TrainPanel state={training.state} points={training.points} error={training.error} weights={training.weights ?? null} valid={doc.valid} documentRevision={doc.revision} onStart={(r) => void startTraining(r)} onStop={() => void stopTraining()} />
            )}
          </aside>
        </main>
        {fileMode && (
          <FileDialog
            mode={fileMode}
            initialPath={fileMode === "open" ? "" : fileMode === "save" ? (doc.path ?? `${doc.name}.neuro`) : `${(doc.path ?? doc.name).replace(/\.neuro$/, "")}.onnx`}
            onCancel={() => setFileMode(null)}
            onConfirm={(path) => void openFile(fileMode, path)}
          />
        )}
      </div>
    </GroupActionsContext.Provider>
  );
}
