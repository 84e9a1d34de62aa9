// New, open, save, save as and export: the file dialog's mode, the question before New throws away unsaved work, and
// a confirmation of what was written.

import { useCallback, useState } from "react";
import { api } from "../api";
import type { DocumentState } from "./useDocument";
import type { FileMode } from "../FileDialog";
import type { NetworkDocument } from "../protocol";

const extensions: Record<Exclude<FileMode, "open">, string> = { save: ".neuro", export: ".onnx" };

/** The path a dialog proposes: the document's own path or name, with the extension of what is being written
 * (a model imported from lenet.onnx is saved as lenet.neuro). */
export function suggestedPath(mode: FileMode, doc: NetworkDocument): string {
  if (mode === "open") return "";
  const stem = (doc.path ?? doc.name).replace(/\.(neuro|onnx)$/i, "");
  return stem + extensions[mode];
}

export function useFileActions(documentState: DocumentState) {
  const { docRef, run, command, setError, setNotice } = documentState;
  const [fileMode, setFileMode] = useState<FileMode | null>(null);
  /** New was asked for while the document has unsaved changes: the question is showing. */
  const [confirmingNew, setConfirmingNew] = useState(false);

  const startNew = useCallback(() => {
    setConfirmingNew(false);
    void command({ op: "new" }, { fit: true });
  }, [command]);

  const newDocument = useCallback(() => {
    if (docRef.current?.dirty) setConfirmingNew(true);
    else startNew();
  }, [docRef, startNew]);

  const save = useCallback(async () => {
    const doc = docRef.current;
    if (!doc?.path?.toLowerCase().endsWith(".neuro")) {
      setFileMode("save");
      return;
    }
    const saved = await run(() => api.save());
    if (saved) setNotice(`Saved ${saved.path}`);
  }, [docRef, run, setNotice]);

  const confirmFile = useCallback(
    async (mode: FileMode, path: string) => {
      setFileMode(null);
      if (mode === "open") {
        // an opened file has the server's plain layout: the canvas lays it out as part of the open
        await run(() => api.open(path), { layout: "always", fit: true });
      } else if (mode === "save") {
        const saved = await run(() => api.save(path));
        if (saved) setNotice(`Saved ${saved.path}`);
      } else {
        try {
          const exported = await api.exportOnnx(path);
          setError(null);
          setNotice(`Exported ${exported.path} (ONNX, opset 14)`);
        } catch (e) {
          setError((e as Error).message);
        }
      }
    },
    [run, setError, setNotice],
  );

  return { fileMode, setFileMode, confirmingNew, setConfirmingNew, newDocument, startNew, save, confirmFile };
}
