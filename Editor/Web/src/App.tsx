// The editor: toolbar, palette, canvas (React Flow), and the side panel with the inspector and the train tab. The
// document lives on the server; every edit is a command whose answer (the new document) replaces what is drawn
// (hooks/useDocument). This file only puts the pieces together:
//
//   hooks/useServer        palette, templates, the WebSocket          trainingState + hooks/useTraining   the Train tab
//   hooks/useCanvasView    what React Flow draws, layout and fit       hooks/useEditing     edits from canvas and palette
//   hooks/useFileActions   new, open, save, export                     hooks/useClipboard, useKeyboardShortcuts
//   testHooks              the drawn revision the end-to-end tests read
//   monitor/               the training inspector: runs (useMonitor), badges on the graph (graphOverlay), the dock
//   hooks/useLive, LivePanel   a game attached over its live link: its network (monitor/gameGraph) replaces the document
//                          on the canvas, read-only, while attached

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./styles.css";

import { api } from "./api";
import { Banners } from "./Banners";
import { ConfirmDialog } from "./ConfirmDialog";
import { EditorCanvas } from "./EditorCanvas";
import { FileDialog } from "./FileDialog";
import { useCanvasView } from "./hooks/useCanvasView";
import { selectedFlowIds, useClipboard } from "./hooks/useClipboard";
import { useDocument } from "./hooks/useDocument";
import { useEditing } from "./hooks/useEditing";
import { suggestedPath, useFileActions } from "./hooks/useFileActions";
import { useKeyboardShortcuts } from "./hooks/useKeyboardShortcuts";
import { useLive } from "./hooks/useLive";
import { useServer } from "./hooks/useServer";
import { useTraining } from "./hooks/useTraining";
import { runDocument } from "./monitor/gameGraph";
import { GraphOverlayContext, useGraphOverlay } from "./monitor/graphOverlay";
import { InspectorDock } from "./monitor/InspectorDock";
import { useMonitor } from "./monitor/useMonitor";
import { GroupActionsContext } from "./nodes";
import { Palette } from "./Palette";
import type { Position, TemplateOptions, TemplateSpec } from "./protocol";
import { SidePanel } from "./SidePanel";
import { TemplateDialog } from "./TemplateDialog";
import { useRenderedRevision } from "./testHooks";
import { Toolbar } from "./Toolbar";
import type { FlowNode } from "./view";

/** Why the network cannot be edited while a run trains it (the server refuses such edits with the same reason). */
const trainingLock = "Training is running: the network is locked until the run ends or you stop it. You can still move nodes and collapse groups.";
/** Why the canvas cannot be edited while a game is attached. */
const gameLock = "Attached to a game: its network is shown read-only. Detach (Game tab) to edit your document again; the game goes on.";

export function App() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}

function Editor() {
  const documentState = useDocument();
  const { doc, docRef, acceptDocument, run, command, error, setError, notice, setNotice, pendingDraw } = documentState;
  const training = useTraining(doc?.file ?? null);
  const live = useLive(setError);
  const gameRunId = live.status && live.status.state !== "detached" ? live.status.runId : null;
  const monitor = useMonitor(gameRunId ?? training.view.runId);
  const { layers, templates, socketOpen } = useServer({
    onDocument: acceptDocument, onTraining: training.dispatch, onMonitor: monitor.onMessage, onLive: live.onLive, onError: setError,
  });
  const specs = useMemo(() => new Map(layers.map((l) => [l.type, l])), [layers]);
  const canvas = useRef<HTMLDivElement>(null);
  // an attached game's network, from its run record, in place of the document
  const gameRun = gameRunId !== null && monitor.live?.runId === gameRunId ? monitor.live.description : null;
  const gameDoc = useMemo(() => (gameRun && specs.size > 0 ? runDocument(gameRun, specs) : null), [gameRun, specs]);
  const shownDoc = gameDoc ?? doc;
  const view = useCanvasView({ doc: shownDoc, specs, pendingDraw, command, canvas });
  const renderedRevision = useRenderedRevision(docRef, view.nodes);
  const editing = useEditing(documentState, view, specs, canvas);
  const files = useFileActions(documentState);
  const clipboard = useClipboard(documentState, () => editing.docIdsOf(selectedFlowIds(view.nodesRef.current)));
  const [modelDialog, setModelDialog] = useState<TemplateSpec | null>(null);
  const locked = gameDoc ? gameLock : training.running ? trainingLock : null;
  const overlay = useGraphOverlay(monitor.focus, monitor.metric, monitor.heatMode);
  const selected = view.nodes.filter((n) => n.selected);
  // a selection the drawn nodes still hold from the other graph (the game's, or the document's) for one render is none
  const selectedNode = selected.length === 1 && selected[0].type === "layer" && shownDoc?.nodes.some((n) => n.id === selected[0].id)
    ? { id: selected[0].data.node.id, type: selected[0].data.node.type } : null;
  const firstConvolution = shownDoc?.nodes.find((n) => n.type === "Conv2d")?.id ?? null;

  // the game's network drawn: framed once
  useEffect(() => {
    if (!gameDoc) return;
    const timer = window.setTimeout(() => void view.flow.fitView({ padding: 0.12 }), 150);
    return () => window.clearTimeout(timer);
  }, [gameDoc, view.flow]);

  // The document as the server has it; laid out (an undo step of its own) only if it was never laid out.
  useEffect(() => {
    void run(api.document, { layout: "ifOverlapping", amend: false, fit: true });
  }, [run]);

  const undo = useCallback(() => void run(api.undo), [run]);
  const redo = useCallback(() => void run(api.redo), [run]);
  /** Edits from the keyboard do nothing while the network is locked (the lock banner says why). */
  const unlessLocked = useCallback((action: () => void) => () => (locked ? undefined : action()), [locked]);
  useKeyboardShortcuts({
    undo,
    redo,
    copy: () => void clipboard.copy(),
    paste: unlessLocked(() => void clipboard.paste()),
    deleteSelection: unlessLocked(() => void editing.deleteSelection()),
  });

  /** A model template asks for its size first; a block goes after `onto` or the selected node. */
  const insertTemplate = (template: TemplateSpec, position?: Position, onto?: FlowNode | null) =>
    template.kind === "model" ? setModelDialog(template) : editing.insertBlock(template, position, onto);
  const insertModel = async (template: TemplateSpec, options: TemplateOptions) => {
    const inserted = await command({ op: "insertTemplate", template: template.id, options }, { layout: "always", fit: true });
    if (inserted) setModelDialog(null);
    return inserted !== null;
  };

  if (!doc) {
    return (
      <div className="loading" data-testid="loading">
        {error ? <span className="node-error block">{error}</span> : "Loading the document…"}
      </div>
    );
  }

  return (
    <GroupActionsContext.Provider value={editing.groupActions}>
      <GraphOverlayContext.Provider value={overlay}>
      <div className="app" data-testid="app" data-revision={doc.revision} data-rendered-revision={renderedRevision} data-locked={locked !== null}>
        <Toolbar
          doc={doc}
          socketOpen={socketOpen}
          locked={locked}
          onNew={files.newDocument}
          onOpen={() => files.setFileMode("open")}
          onSave={() => void files.save()}
          onSaveAs={() => files.setFileMode("save")}
          onExport={() => files.setFileMode("export")}
          onUndo={undo}
          onRedo={redo}
          onLayout={view.layoutNow}
          onFit={() => void view.flow.fitView({ padding: 0.12 })}
        />
        <Banners error={error} notice={notice} locked={locked} onDismissError={() => setError(null)} onDismissNotice={() => setNotice(null)} />
        <main className="workspace">
          <Palette layers={layers} templates={templates} locked={locked} onAddLayer={editing.addFromPalette} onInsertTemplate={(t) => insertTemplate(t)} />
          <div className="canvas-column">
          <EditorCanvas
            canvas={canvas}
            nodes={view.nodes}
            edges={view.edges}
            locked={locked}
            onNodesChange={view.onNodesChange}
            onEdgesChange={view.onEdgesChange}
            onConnect={editing.connect}
            onNodesMoved={gameDoc ? () => {} : editing.moveDragged}
            onDropLayer={gameDoc ? () => {} : editing.dropLayer}
            onDropTemplate={(id, point, target) => {
              const template = gameDoc ? undefined : templates.find((t) => t.id === id);
              if (template) insertTemplate(template, point, target.node);
            }}
          />
          <InspectorDock monitor={monitor} selectedNode={selectedNode} firstConvolution={firstConvolution} game={gameDoc !== null} />
          </div>
          <SidePanel
            doc={gameDoc ?? doc}
            nodes={view.nodes}
            specs={specs}
            training={training.view}
            live={live}
            findings={monitor.live?.diagnostics?.items.filter((d) => d.node === null) ?? []}
            locked={locked}
            command={command}
            onSelect={view.selectOnly}
            onApplyFix={editing.applyFix}
            onStartTraining={(request) => void training.start(request)}
            onStopTraining={() => void training.stop()}
            onOpenFile={(path) => void files.confirmFile("open", path)}
          />
        </main>
        {files.fileMode && (
          <FileDialog
            mode={files.fileMode}
            initialPath={suggestedPath(files.fileMode, doc)}
            onCancel={() => files.setFileMode(null)}
            onConfirm={(path) => void files.confirmFile(files.fileMode!, path)}
          />
        )}
        {files.confirmingNew && (
          <ConfirmDialog
            title="Discard unsaved changes?"
            message={`${doc.path ?? doc.name} has changes that are not saved. New starts an empty network (Undo brings the changes back).`}
            confirmLabel="Discard and start new"
            onConfirm={files.startNew}
            onCancel={() => files.setConfirmingNew(false)}
          />
        )}
        {modelDialog && (
          <TemplateDialog template={modelDialog} replacesUnsaved={doc.dirty} onCancel={() => setModelDialog(null)} onInsert={(options) => insertModel(modelDialog, options)} />
        )}
      </div>
      </GraphOverlayContext.Provider>
    </GroupActionsContext.Provider>
  );
}
