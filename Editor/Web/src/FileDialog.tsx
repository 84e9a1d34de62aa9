// Open / save / export: a list of the served folder's files (GET /api/files) and a path field. Paths are
// relative to the folder `neuro serve` was started in; the server refuses anything outside it.

import { useEffect, useState } from "react";
import { api } from "./api";
import type { FileEntry } from "./protocol";

export type FileMode = "open" | "save" | "export";

const titles: Record<FileMode, string> = {
  open: "Open a .neuro model or import an .onnx file",
  save: "Save as .neuro",
  export: "Export as .onnx",
};

interface Props {
  mode: FileMode;
  initialPath: string;
  onCancel(): void;
  onConfirm(path: string): void;
}

export function FileDialog({ mode, initialPath, onCancel, onConfirm }: Props) {
  const [files, setFiles] = useState<FileEntry[]>([]);
  const [path, setPath] = useState(initialPath);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.files().then(setFiles, (e: Error) => setError(e.message));
  }, []);

  const shown = files.filter((f) => mode === "open" || (mode === "save" ? f.kind === "neuro" : f.kind === "onnx"));
  const extension = mode === "export" ? ".onnx" : ".neuro";
  const pathError =
    path.trim() === "" ? "enter a path" : mode !== "open" && !path.trim().toLowerCase().endsWith(extension) ? `the file name must end in ${extension}` : null;
  const confirm = () => {
    if (!pathError) onConfirm(path.trim());
  };

  return (
    <div className="dialog-backdrop" onClick={onCancel}>
      <div className="dialog" data-testid="file-dialog" onClick={(e) => e.stopPropagation()}>
        <h3>{titles[mode]}</h3>
        <ul className="file-list">
          {shown.length === 0 && <li className="muted">no {mode === "open" ? "" : extension + " "}files in the served folder</li>}
          {shown.map((f) => (
            <li key={f.path}>
              <button
                className={`link${f.path === path ? " chosen" : ""}`}
                data-testid={`file-item-${f.path}`}
                onClick={() => setPath(f.path)}
                onDoubleClick={() => onConfirm(f.path)}
              >
                {f.path} <span className="muted">{f.kind}</span>
              </button>
            </li>
          ))}
        </ul>
        <label className="field">
          <span>Path</span>
          <input
            autoFocus
            value={path}
            data-testid="file-path-input"
            onChange={(e) => setPath(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") confirm();
              if (e.key === "Escape") onCancel();
            }}
          />
        </label>
        {(error || (pathError && path !== "")) && <small className="field-error">{error ?? pathError}</small>}
        <div className="row">
          <button onClick={confirm} disabled={pathError !== null} data-testid="file-dialog-ok">
            {mode === "open" ? "Open" : mode === "save" ? "Save" : "Export"}
          </button>
          <button onClick={onCancel} data-testid="file-dialog-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
