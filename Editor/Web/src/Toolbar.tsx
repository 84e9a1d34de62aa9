// The toolbar: file actions, undo/redo, layout and fit, the document's name, and the network's totals and status.

import type { NetworkDocument } from "./protocol";
import { formatCount } from "./protocol";

interface Props {
  doc: NetworkDocument;
  socketOpen: boolean;
  /** Why the document may not be replaced now (a run is training it), or null. */
  locked: string | null;
  onNew(): void;
  onOpen(): void;
  onSave(): void;
  onSaveAs(): void;
  onExport(): void;
  onUndo(): void;
  onRedo(): void;
  onLayout(): void;
  onFit(): void;
}

export function Toolbar({ doc, socketOpen, locked, onNew, onOpen, onSave, onSaveAs, onExport, onUndo, onRedo, onLayout, onFit }: Props) {
  return (
    <header className="toolbar" data-testid="toolbar">
      <strong className="brand">NeuroPlugin</strong>
      <button onClick={onNew} disabled={locked !== null} title={locked ?? "Start an empty network"} data-testid="btn-new">
        New
      </button>
      <button onClick={onOpen} disabled={locked !== null} title={locked ?? "Open a .neuro file or import an .onnx file"} data-testid="btn-open">
        Open / import…
      </button>
      <button onClick={onSave} data-testid="btn-save">
        Save
      </button>
      <button onClick={onSaveAs} data-testid="btn-save-as">
        Save as…
      </button>
      <button onClick={onExport} data-testid="btn-export">
        Export ONNX…
      </button>
      <span className="sep" />
      <button onClick={onUndo} disabled={!doc.canUndo} data-testid="btn-undo" title="Undo (Ctrl+Z)">
        Undo
      </button>
      <button onClick={onRedo} disabled={!doc.canRedo} data-testid="btn-redo" title="Redo (Ctrl+Shift+Z, Ctrl+Y)">
        Redo
      </button>
      <button onClick={onLayout} data-testid="btn-layout" title="Arrange the graph top to bottom">
        Layout
      </button>
      <button onClick={onFit} data-testid="btn-fit" title="Show the whole network">
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
  );
}
