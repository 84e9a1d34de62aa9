// Start-up and the live connection: the palette and templates, the current training status, and the WebSocket that
// brings every later document, training and monitor message.

import { useEffect, useState } from "react";
import { api, connectSocket } from "../api";
import type { LayerSpec, NetworkDocument, TemplateSpec } from "../protocol";
import type { MonitorMessage } from "../monitor/useMonitor";
import type { TrainingEvent } from "../trainingState";

interface Handlers {
  onDocument(document: NetworkDocument): void;
  onTraining(event: TrainingEvent): void;
  onMonitor(message: MonitorMessage): void;
  onError(message: string): void;
}

export function useServer({ onDocument, onTraining, onMonitor, onError }: Handlers) {
  const [layers, setLayers] = useState<LayerSpec[]>([]);
  const [templates, setTemplates] = useState<TemplateSpec[]>([]);
  const [socketOpen, setSocketOpen] = useState(false);

  useEffect(() => {
    api.layers().then(setLayers, (e: Error) => onError(e.message));
    api.templates().then(setTemplates, (e: Error) => onError(e.message));
    api.training().then(
      (status) => onTraining({ kind: "status", status }),
      () => {}, // the socket's greeting carries the same status
    );
    return connectSocket((message) => {
      if (message.type === "document") onDocument(message.document);
      else if (message.type === "training") onTraining({ kind: "message", message });
      else if (message.type === "monitor") onMonitor(message);
    }, setSocketOpen);
  }, [onDocument, onTraining, onMonitor, onError]);

  return { layers, templates, socketOpen };
}
