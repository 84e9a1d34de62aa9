// The train form, built from the server's schema (GET /api/training/schema: the runtime's TrainingOptions fields plus
// the editor's dataset and backend, with each optimizer's defaults). Its values live with the document's file on the
// server (GET/PUT /api/training/form), so they survive switching tabs, a reload, and are saved in the .neuro file.
// A field the user has not typed in shows its default (for the learning rate, momentum and weight decay: the chosen
// optimizer's) and is left out of the request, so the server's default applies.

import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "./api";
import type { TrainingFieldSpec, TrainingForm, TrainingFormValue, TrainingRequest, TrainingSchema } from "./protocol";

type Values = Record<string, TrainingFormValue>;

/** The order of the form's sections (each field's `group`). */
const sections: { group: TrainingFieldSpec["group"]; title: string }[] = [
  { group: "data", title: "Data" },
  { group: "optimizer", title: "Optimizer" },
  { group: "schedule", title: "Learning-rate schedule" },
  { group: "run", title: "Run" },
];

/** The form-only field of the dataset choice "folder": the folder's path. */
const folderField = "folder";

/** Test ids kept from the form before it was built from the schema (end-to-end tests use them). */
const testIds: Record<string, string> = { learningRate: "train-lr", batchSize: "train-batch", trainLimit: "train-limit" };

const testId = (name: string) => testIds[name] ?? `train-${name}`;

let schemaRequest: Promise<TrainingSchema> | null = null;
/** Saves in flight, in order: a form read waits for them, so switching tabs never reads back an older value. */
let saving: Promise<unknown> = Promise.resolve();
let queued: TrainingForm | null = null;
let timer: number | undefined;

function flush() {
  window.clearTimeout(timer);
  const form = queued;
  queued = null;
  if (form) saving = saving.then(() => api.saveTrainingForm(form)).catch(() => undefined);
  return saving;
}

function scheduleSave(form: TrainingForm) {
  queued = form;
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void flush(), 250);
}

/** The chosen value of a choice field (its default when untouched). */
function choice(field: TrainingFieldSpec, values: Values): string {
  const value = values[field.name];
  return typeof value === "string" ? value : String(field.default ?? "");
}

/** What an untouched field shows: its default, or the chosen optimizer's. */
function defaultText(field: TrainingFieldSpec, schema: TrainingSchema, values: Values): string {
  if (field.optimizerDefault) {
    const optimizerField = schema.fields.find((f) => f.name === "optimizer")!;
    const optimizer = schema.optimizers.find((o) => o.name === choice(optimizerField, values));
    const value = optimizer?.defaults[field.name];
    return value === undefined ? "" : String(value);
  }
  return field.default === null || Array.isArray(field.default) ? "" : String(field.default);
}

function applies(field: TrainingFieldSpec, schema: TrainingSchema, values: Values): boolean {
  if (!field.appliesWhen) return true;
  const other = schema.fields.find((f) => f.name === field.appliesWhen!.field);
  return other !== undefined && field.appliesWhen.values.includes(choice(other, values));
}

/** What is wrong with a typed number against the field's bounds, or null. */
function rangeProblem(field: TrainingFieldSpec, x: number): string | null {
  if (!Number.isFinite(x)) return "must be a number";
  if (field.kind === "integer" && !Number.isInteger(x)) return "must be an integer";
  const { minimum: min, maximum: max } = field;
  const low = min === undefined || (field.exclusiveMinimum ? x > min : x >= min);
  const high = max === undefined || (field.exclusiveMaximum ? x < max : x <= max);
  if (low && high) return null;
  const lower = min === undefined ? "" : `${field.exclusiveMinimum ? ">" : "≥"} ${min}`;
  const upper = max === undefined ? "" : `${field.exclusiveMaximum ? "<" : "≤"} ${max}`;
  return `must be ${[lower, upper].filter((s) => s !== "").join(" and ")}`;
}

/** The request of the form's values, or the problems that keep it from being sent. */
export function buildRequest(schema: TrainingSchema, values: Values): { request: TrainingRequest | null; problems: string[] } {
  const problems: string[] = [];
  const request: TrainingRequest = { dataset: "fashion-mnist" };
  for (const field of schema.fields) {
    if (!applies(field, schema, values)) continue;
    const raw = values[field.name];
    if (field.name === "dataset") {
      if (choice(field, values) === "folder") {
        const folder = String(values[folderField] ?? "").trim();
        if (folder === "") problems.push("image folder path is empty");
        request.dataset = { folder };
      }
      continue;
    }
    if (raw === undefined) continue; // untouched: the server's default
    if (field.kind === "choices") {
      request[field.name] = Array.isArray(raw) ? raw : [];
      continue;
    }
    const text = String(raw).trim();
    if (text === "") continue; // cleared: back to the default (or none)
    if (field.kind === "integer" || field.kind === "number") {
      const x = Number(text);
      const problem = rangeProblem(field, x);
      if (problem) problems.push(`${field.label.toLowerCase()} ${problem}`);
      else request[field.name] = x;
    } else {
      request[field.name] = text;
    }
  }
  return { request: problems.length === 0 ? request : null, problems };
}

/**
 * The schema, and the form's values of the document's current file: read when the panel opens and whenever the
 * document changes (`documentRevision`), kept when it is the same file; every change saved (debounced, and at once when
 * the panel closes).
 */
export function useTrainingForm(documentRevision: number) {
  const [schema, setSchema] = useState<TrainingSchema | null>(null);
  const [form, setForm] = useState<TrainingForm | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const formRef = useRef<TrainingForm | null>(null);
  formRef.current = form;

  useEffect(() => {
    schemaRequest ??= api.trainingSchema();
    schemaRequest.then(setSchema, (e: Error) => {
      schemaRequest = null;
      setLoadError(e.message);
    });
    return () => void flush();
  }, []);

  const reload = useCallback(() => {
    let current = true;
    void flush()
      .then(() => api.trainingForm())
      .then(
        (read) => {
          // the same file: what this form holds is newer than what the server echoes
          if (current && formRef.current?.file !== read.file) setForm({ file: read.file, values: read.values ?? {} });
        },
        (e: Error) => current && setLoadError(e.message),
      );
    return () => {
      current = false;
    };
  }, []);

  useEffect(reload, [documentRevision, reload]);

  const setValue = useCallback((name: string, value: TrainingFormValue | undefined) => {
    setForm((previous) => {
      if (!previous) return previous;
      const values = { ...(previous.values ?? {}) };
      if (value === undefined) delete values[name];
      else values[name] = value;
      const next = { file: previous.file, values };
      scheduleSave(next);
      return next;
    });
  }, []);

  return { schema, values: form?.values ?? null, setValue, loadError };
}

interface FormProps {
  schema: TrainingSchema;
  values: Values;
  disabled: boolean;
  onChange(name: string, value: TrainingFormValue | undefined): void;
}

/** Every field of the schema that applies, in sections; a field emptied takes its default again (shown as its placeholder). */
export function TrainForm({ schema, values, disabled, onChange }: FormProps) {
  return (
    <div className="train-form" data-testid="train-form">
      {sections.map(({ group, title }) => {
        const fields = schema.fields.filter((f) => f.group === group && applies(f, schema, values));
        if (fields.length === 0) return null;
        return (
          <fieldset key={group} disabled={disabled} className="train-section">
            <legend>{title}</legend>
            {fields.map((field) => (
              <Field key={field.name} field={field} schema={schema} values={values} onChange={onChange} />
            ))}
          </fieldset>
        );
      })}
    </div>
  );
}

function Field({ field, schema, values, onChange }: { field: TrainingFieldSpec; schema: TrainingSchema; values: Values; onChange: FormProps["onChange"] }) {
  const raw = values[field.name];
  const label = <span title={`${field.description} (${field.flag})`}>{field.label}</span>;
  if (field.kind === "choice") {
    return (
      <>
        <label className="field">
          {label}
          <select value={choice(field, values)} onChange={(e) => onChange(field.name, e.target.value)} data-testid={testId(field.name)}>
            {field.choices!.map((c) => (
              <option key={c.name} value={c.name} title={c.description}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        {field.name === "dataset" && choice(field, values) === "folder" && (
          <label className="field">
            <span>Folder</span>
            <input
              value={String(values[folderField] ?? "")}
              placeholder="relative to the served folder"
              onChange={(e) => onChange(folderField, e.target.value)}
              data-testid="train-folder"
            />
          </label>
        )}
      </>
    );
  }
  if (field.kind === "choices") {
    const chosen = Array.isArray(raw) ? raw : [];
    return (
      <div className="field">
        {label}
        <span className="choices" data-testid={testId(field.name)}>
          {field.choices!.map((c) => (
            <label key={c.name} title={c.description}>
              <input
                type="checkbox"
                checked={chosen.includes(c.name)}
                data-testid={`${testId(field.name)}-${c.name}`}
                onChange={(e) => {
                  // kept in the schema's order, which is the order the transforms run in
                  const next = field.choices!.map((x) => x.name).filter((n) => (n === c.name ? e.target.checked : chosen.includes(n)));
                  onChange(field.name, next);
                }}
              />
              {c.name}
            </label>
          ))}
        </span>
      </div>
    );
  }
  // untouched: the default as the value; emptied: the default as the placeholder (the request leaves both out)
  const fallback = defaultText(field, schema, values);
  const problem = typeof raw === "string" && raw.trim() !== "" && field.kind !== "path" ? rangeProblem(field, Number(raw.trim())) : null;
  return (
    <label className={problem ? "field invalid" : "field"}>
      {label}
      <input
        value={typeof raw === "string" ? raw : fallback}
        placeholder={fallback === "" ? "none" : fallback}
        onChange={(e) => onChange(field.name, e.target.value)}
        data-testid={testId(field.name)}
      />
      {problem && <small className="field-error">{problem}</small>}
    </label>
  );
}
