// The side panel: the Inspector (the selected node, or the network's facts and errors), the Train, Search and Game tabs.

import { useState } from "react";
import type { AfterDraw } from "./hooks/useDocument";
import type { LiveState } from "./hooks/useLive";
import { LivePanel } from "./LivePanel";
import { Inspector } from "./Inspector";
import type { AttributeValue, Command, LayerSpec, NetworkDocument, TrainingRequest } from "./protocol";
import { SearchPanel } from "./SearchPanel";
import { TrainPanel } from "./TrainPanel";
import type { DiagnosticItem } from "./monitor/records";
import type { TrainingView } from "./trainingState";
import type { FlowNode } from "./view";

interface Props {
  doc: NetworkDocument;
  nodes: FlowNode[];
  specs: Map<string, LayerSpec>;
  training: TrainingView;
  live: LiveState;
  /** The run's findings about the run as a whole (diverged, not learning, overfitting). */
  findings: DiagnosticItem[];
  locked: string | null;
  command(c: Command, after?: AfterDraw): Promise<NetworkDocument | null>;
  onSelect(id: string): void;
  onApplyFix(command: Command): void;
  onStartTraining(request: TrainingRequest): void;
  onStopTraining(): void;
  onOpenFile(path: string): void;
}

export function SidePanel({ doc, nodes, specs, training, live, findings, locked, command, onSelect, onApplyFix, onStartTraining, onStopTraining, onOpenFile }: Props) {
  const [panel, setPanel] = useState<"inspect" | "train" | "search" | "game">("inspect");
  const selected = nodes.filter((n) => n.selected);
  const inspected = selected.length === 1 && selected[0].type === "layer" ? selected[0].data.node : null;

  return (
    <aside className="side">
      <nav className="tabs">
        <button className={panel === "inspect" ? "active" : ""} onClick={() => setPanel("inspect")} data-testid="tab-inspector">
          Inspector
        </button>
        <button className={panel === "train" ? "active" : ""} onClick={() => setPanel("train")} data-testid="tab-train">
          Train {training.state === "running" ? "●" : ""}
        </button>
        <button className={panel === "search" ? "active" : ""} onClick={() => setPanel("search")} data-testid="tab-search">
          Search
        </button>
        <button className={panel === "game" ? "active" : ""} onClick={() => setPanel("game")} data-testid="tab-game">
          Game {live.attached ? "●" : ""}
        </button>
      </nav>
      {panel === "inspect" ? (
        <Inspector
          doc={doc}
          node={inspected}
          spec={inspected ? specs.get(inspected.type) : undefined}
          locked={locked}
          onSetAttributes={async (id, attributes: Record<string, AttributeValue>) => (await command({ op: "setAttributes", id, attributes })) !== null}
          onRename={async (id, newId) => (await command({ op: "rename", id, newId }, { select: [newId] })) !== null}
          onSetOutput={(id) => void command({ op: "setOutput", id })}
          onDelete={(id) => void command({ op: "removeNodes", ids: [id] })}
          onSelect={onSelect}
          onApplyFix={onApplyFix}
        />
      ) : panel === "game" ? (
        <LivePanel live={live} />
      ) : panel === "search" ? (
        <SearchPanel onOpen={onOpenFile} />
      ) : (
        <TrainPanel
          runId={training.runId}
          state={training.state}
          points={training.points}
          error={training.error}
          weights={training.weights}
          diverged={training.diverged}
          findings={findings}
          valid={doc.valid}
          documentRevision={doc.revision}
          onStart={onStartTraining}
          onStop={onStopTraining}
        />
      )}
    </aside>
  );
}
