// Start-up and the live connection: the palette and templates, the current training status, and the WebSocket that
// brings every later document, training, monitor and live-link message.

import { useEffect, useState } from "react";
import { api, connectSocket } from "../api";
import type { LayerSpec, LiveStatus, NetworkDocument, TemplateSpec } from "../protocol";
import type { MonitorMessage } from "../monitor/useMonitor";
import type { TrainingEvent } from "../trainingState";

interface Handlers {
  onDocument(document: NetworkDocument): void;
  onTraining(event: TrainingEvent): void;
  onMonitor(message: MonitorMessage): void;
  onLive(status: LiveStatus): void;
  onError(message: string): void;
}

export function useServer({ onDocument, onTraining, onMonitor, onLive, onError }: Handlers) {
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
      else if (message.type === "live") onLive(message);
    }, setSocketOpen);
  }, [onDocument, onTraining, onMonitor, onLive, onError]);

  return { layers, templates, socketOpen };
}
