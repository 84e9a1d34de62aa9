// Open / save / export: a list of the served folder's files (GET /api/files) and a path field. Paths are
// relative to the folder `neuro serve` was started in; the server refuses anything outside it. When saving or
// exporting, a name typed without its extension gets it ("lenet" and "lenet.onnx" save lenet.neuro); a path without a file name
// (".neuro", "models/") is refused here, before the server would.

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
  const { target, problem: pathError } = targetPath(mode, path, extension);
  const confirm = () => {
    if (!pathError) onConfirm(target);
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
        {(error || (pathError && path !== "")) && (
          <small className="field-error" data-testid="file-path-error">
            {error ?? pathError}
          </small>
        )}
        {!pathError && target !== path.trim() && (
          <small className="muted" data-testid="file-path-target">
            {mode === "save" ? "saves" : "writes"} {target}
          </small>
        )}
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

/** The path a save or export writes for what was typed (the extension added when missing), or why there is none. */
function targetPath(mode: FileMode, typed: string, extension: string): { target: string; problem: string | null } {
  const path = typed.trim();
  if (path === "") return { target: path, problem: "enter a path" };
  if (mode === "open") return { target: path, problem: null };
  // the other model format's extension is replaced: a model imported from lenet.onnx saves as lenet.neuro
  const target = path.replace(/\.(neuro|onnx)$/i, "") + extension;
  const name = target.slice(target.lastIndexOf("/") + 1, target.length - extension.length);
  if (name.trim() === "" || name.startsWith(".")) return { target, problem: `give the file a name before ${extension}` };
  return { target, problem: null };
}
