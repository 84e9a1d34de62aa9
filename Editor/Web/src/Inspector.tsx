// The side panel for the selected node: its id, attributes (a form built from the palette's schema), shape,
// parameter and FLOP counts and error. The form checks that a field parses as its kind before sending; what
// the value means for the network (shapes, channel counts) is the server's to judge, and its answer shows as
// the node's error (with its one-click fix when the server offers one). An optional field left empty is unset.
// While a run trains the network every field is read-only.

import { useEffect, useMemo, useState } from "react";
import type { AttributeSpec, AttributeValue, Command, DocNode, LayerSpec, NetworkDocument } from "./protocol";
import { formatCount, formatShape } from "./protocol";

interface Props {
  doc: NetworkDocument;
  node: DocNode | null;
  spec: LayerSpec | undefined;
  onSetAttributes(id: string, attributes: Record<string, AttributeValue>): Promise<boolean>;
  onRename(id: string, newId: string): Promise<boolean>;
  onSetOutput(id: string): void;
  onDelete(id: string): void;
  onSelect(id: string): void;
  onApplyFix(command: Command): void;
  /** Why the network may not be edited now (a run is training it), or null. */
  locked: string | null;
}

function toText(value: AttributeValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

/** Parses one field as its schema kind; returns the value or an error message naming the field. */
export function parseAttribute(spec: AttributeSpec, text: string): { value: AttributeValue } | { error: string } {
  const trimmed = text.trim();
  if (spec.optional && trimmed === "") return { value: null }; // unset: the server drops it
  const range = (n: number): string | null => {
    if (spec.min !== undefined && n < spec.min) return `${spec.name} must be ≥ ${spec.min}`;
    if (spec.max !== undefined && n > spec.max) return `${spec.name} must be ≤ ${spec.max}`;
    return null;
  };
  switch (spec.kind) {
    case "int": {
      if (!/^-?\d+$/.test(trimmed)) return { error: `${spec.name} must be an integer` };
      const n = Number(trimmed);
      const bad = range(n);
      return bad ? { error: bad } : { value: n };
    }
    case "float": {
      const n = Number(trimmed);
      if (trimmed === "" || !Number.isFinite(n)) return { error: `${spec.name} must be a number` };
      const bad = range(n);
      return bad ? { error: bad } : { value: n };
    }
    case "ints": {
      const parts = trimmed.split(/[\s,×x]+/).filter((p) => p.length > 0);
      if (parts.some((p) => !/^-?\d+$/.test(p))) return { error: `${spec.name} must be integers separated by commas` };
      let values = parts.map(Number);
      // One number stands for all (kernelSize 3 → [3, 3]), as in PyTorch.
      if (spec.length !== undefined && values.length === 1) values = Array(spec.length).fill(values[0]);
      if (spec.length !== undefined && values.length !== spec.length) return { error: `${spec.name} needs ${spec.length} integers, got ${values.length}` };
      for (const n of values) {
        const bad = range(n);
        if (bad) return { error: bad };
      }
      return { value: values };
    }
    case "bool":
      return { value: trimmed === "true" };
    default:
      return trimmed === "" ? { error: `${spec.name} must not be empty` } : { value: trimmed };
  }
}

export function Inspector({ doc, node, spec, onSetAttributes, onRename, onSetOutput, onDelete, onSelect, onApplyFix, locked }: Props) {
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [newId, setNewId] = useState("");

  // A new node, or new values from the server (undo, another client): start from the document's values.
  useEffect(() => {
    setDrafts({});
    setNewId(node?.id ?? "");
  }, [node?.id, doc.revision]); // eslint-disable-line react-hooks/exhaustive-deps

  const attributeSpecs = useMemo<AttributeSpec[]>(() => {
    if (!node) return [];
    const known = spec?.attributes ?? [];
    const names = new Set(known.map((a) => a.name));
    // Attributes the document has but the schema does not list are shown as text (and read-only).
    const extra = Object.keys(node.attributes)
      .filter((name) => !names.has(name))
      .map((name): AttributeSpec => ({ name, kind: "string", inferred: true }));
    return [...known, ...extra];
  }, [node, spec]);

  if (!node) {
    return (
      <div className="inspector" data-testid="inspector">
        <h3>Network</h3>
        <p className="muted">Select a node to edit it. Drag layers from the palette; connect a node's bottom port to another's top port.</p>
        <dl className="facts">
          <dt>Nodes</dt>
          <dd>{doc.nodes.length}</dd>
          <dt>Output</dt>
          <dd>{doc.output ?? "—"}</dd>
          <dt>Valid</dt>
          <dd data-testid="doc-valid">{doc.valid ? "yes" : "no"}</dd>
        </dl>
        {doc.errors.length > 0 && (
          <>
            <h4>Errors</h4>
            <ul className="error-list" data-testid="error-list">
              {doc.errors.map((e, i) => (
                <li key={i}>
                  <button className="link" onClick={() => onSelect(e.node)}>
                    {e.message}
                  </button>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    );
  }

  const parsed = attributeSpecs.map((a) => {
    const text = drafts[a.name] ?? toText(node.attributes[a.name] ?? a.default);
    return { spec: a, text, result: a.inferred ? null : parseAttribute(a, text) };
  });
  const changed = parsed.filter((p) => p.spec.name in drafts && !p.spec.inferred);
  const invalid = changed.filter((p) => p.result && "error" in p.result);
  const apply = async () => {
    if (changed.length === 0 || invalid.length > 0) return;
    const attributes: Record<string, AttributeValue> = {};
    for (const p of changed) if (p.result && "value" in p.result) attributes[p.spec.name] = p.result.value;
    if (await onSetAttributes(node.id, attributes)) setDrafts({});
  };

  return (
    <div className="inspector" data-testid="inspector">
      <h3>
        {node.type} <span className="muted">{spec?.group}</span>
      </h3>
      {locked && (
        <p className="muted" data-testid="inspector-locked">
          {locked}
        </p>
      )}
      <label className="field">
        <span>id</span>
        <input
          value={newId}
          disabled={locked !== null}
          data-testid="node-id-input"
          onChange={(e) => setNewId(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && newId.trim() && newId.trim() !== node.id) void onRename(node.id, newId.trim());
          }}
          onBlur={() => {
            if (newId.trim() && newId.trim() !== node.id) void onRename(node.id, newId.trim());
          }}
        />
      </label>
      <dl className="facts">
        <dt>Output shape</dt>
        <dd data-testid="inspector-shape">{formatShape(node.outputShape)}</dd>
        <dt>Parameters</dt>
        <dd data-testid="inspector-parameters">{node.parameters.toLocaleString("en-US")}</dd>
        <dt>FLOPs</dt>
        <dd>{formatCount(node.flops)}</dd>
      </dl>
      {node.error && (
        <div className="node-error block" data-testid="inspector-error">
          {node.error}
          {node.fix && (
            <div className="row">
              <button onClick={() => onApplyFix(node.fix!.command)} disabled={locked !== null} data-testid="inspector-fix">
                {node.fix.label}
              </button>
            </div>
          )}
        </div>
      )}
      <form
        className="attributes"
        onSubmit={(e) => {
          e.preventDefault();
          void apply();
        }}
      >
        <fieldset disabled={locked !== null}>
        {parsed.map(({ spec: a, text, result }) => (
          <label className={`field${result && "error" in result ? " invalid" : ""}`} key={a.name}>
            <span title={a.inferred ? "inferred from the connected inputs" : undefined}>
              {a.name}
              {a.inferred ? " (inferred)" : ""}
            </span>
            {a.kind === "bool" ? (
              <input
                type="checkbox"
                checked={text === "true"}
                disabled={a.inferred}
                data-testid={`attr-${a.name}`}
                onChange={(e) => setDrafts({ ...drafts, [a.name]: String(e.target.checked) })}
              />
            ) : a.kind === "enum" && a.options ? (
              <select value={text} disabled={a.inferred} data-testid={`attr-${a.name}`} onChange={(e) => setDrafts({ ...drafts, [a.name]: e.target.value })}>
                {a.options.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : (
              <input
                value={text}
                readOnly={a.inferred}
                placeholder={a.inferred ? "from the input" : a.optional ? "not set" : undefined}
                data-testid={`attr-${a.name}`}
                onChange={(e) => setDrafts({ ...drafts, [a.name]: e.target.value })}
              />
            )}
            {result && "error" in result && (
              <small className="field-error" data-testid={`attr-error-${a.name}`}>
                {result.error}
              </small>
            )}
          </label>
        ))}
        <div className="row">
          <button type="submit" disabled={changed.length === 0 || invalid.length > 0} data-testid="attr-apply">
            Apply
          </button>
          <button type="button" disabled={changed.length === 0} onClick={() => setDrafts({})}>
            Reset
          </button>
        </div>
        </fieldset>
      </form>
      <div className="row">
        <button onClick={() => onSetOutput(node.id)} disabled={doc.output === node.id || locked !== null} data-testid="btn-set-output">
          Set as output
        </button>
        <button onClick={() => onDelete(node.id)} disabled={locked !== null} data-testid="btn-delete-node">
          Delete
        </button>
      </div>
    </div>
  );
}
