// Sizing a model template before it replaces the document: a dataset preset (the published configuration, or
// Fashion-MNIST) fills input channels, input size and classes; the server proposes the image size the model needs and
// puts a bilinear resize in front when that is larger than the input (as `neuro train --image-size` does). Every change
// is previewed by the server (POST /api/templates/preview): parameters, FLOPs, output shape, or the error naming the
// field at fault.

import { useEffect, useState } from "react";
import { api, ApiError } from "./api";
import { formatCount, formatShape, type TemplateDataset, type TemplateOptions, type TemplatePreview, type TemplateSpec } from "./protocol";

type Field = keyof TemplateOptions;

const fields: { name: Field; label: string; hint: string }[] = [
  { name: "inputChannels", label: "Input channels", hint: "1 for grey images, 3 for colour" },
  { name: "inputSize", label: "Input size", hint: "height and width of your images" },
  { name: "imageSize", label: "Model image size", hint: "the size the model is built for; larger than the input adds a resize" },
  { name: "classes", label: "Classes", hint: "outputs of the last layer" },
  { name: "widthDivisor", label: "Width divisor", hint: "divides every channel count: 1 is the published width" },
];

interface Props {
  template: TemplateSpec;
  /** The current document has unsaved changes (they can be brought back with Undo). */
  replacesUnsaved: boolean;
  onCancel(): void;
  /** Inserts the model; false when the server refused (the dialog stays open). */
  onInsert(options: TemplateOptions): Promise<boolean>;
}

export function TemplateDialog({ template, replacesUnsaved, onCancel, onInsert }: Props) {
  const [dataset, setDataset] = useState("fashion-mnist");
  const [texts, setTexts] = useState<Record<Field, string> | null>(null);
  const [preview, setPreview] = useState<TemplatePreview | null>(null);
  const [datasets, setDatasets] = useState<TemplateDataset[]>([]);
  const [problem, setProblem] = useState<{ field: string | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  // A dataset fills every field from the server's preview (nothing can be inserted until it has).
  useEffect(() => {
    let current = true;
    setPreview(null);
    api.previewTemplate(template.id, dataset).then(
      (answer) => {
        if (!current) return;
        setPreview(answer);
        setDatasets(answer.datasets);
        setProblem(null);
        setTexts(Object.fromEntries(fields.map((f) => [f.name, String(answer.options[f.name])])) as Record<Field, string>);
      },
      (e: Error) => current && setProblem({ field: e instanceof ApiError ? e.field : null, message: e.message }),
    );
    return () => {
      current = false;
    };
  }, [template.id, dataset]);

  const parsed = texts ? parseFields(texts) : null;
  const typedProblem = parsed && "error" in parsed ? parsed : null;

  // Typed values are previewed a moment after the typing stops.
  useEffect(() => {
    if (!parsed || "error" in parsed) return;
    if (preview && fields.every((f) => preview.options[f.name] === parsed.options[f.name])) {
      setProblem(null); // back to what was previewed
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      api.previewTemplate(template.id, dataset, parsed.options).then(
        (answer) => {
          if (!current) return;
          setPreview(answer);
          setProblem(null);
        },
        (e: Error) => current && setProblem({ field: e instanceof ApiError ? e.field : null, message: e.message }),
      );
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [texts]); // eslint-disable-line react-hooks/exhaustive-deps

  const shown = typedProblem ?? problem;
  const upToDate = parsed !== null && !("error" in parsed) && preview !== null && fields.every((f) => preview.options[f.name] === parsed.options[f.name]);
  const insert = async () => {
    if (!upToDate || !parsed || "error" in parsed || problem) return;
    setBusy(true);
    const inserted = await onInsert(parsed.options);
    setBusy(false);
    if (!inserted) setProblem({ field: null, message: "the server refused the template (see the message above)" });
  };

  return (
    <div className="dialog-backdrop" onClick={onCancel}>
      <div className="dialog" data-testid="template-dialog" onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === "Escape" && onCancel()}>
        <h3>{template.label}</h3>
        <p className="muted">{template.description}</p>
        <label className="field">
          <span>Size for</span>
          <select value={dataset} onChange={(e) => setDataset(e.target.value)} data-testid="template-dataset">
            {datasets.length === 0 && <option value={dataset}>…</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {`${d.label} (${d.inputChannels}×${d.imageSize}×${d.imageSize}, ${d.classes} classes)`}
              </option>
            ))}
          </select>
        </label>
        {texts &&
          fields.map((f) => (
            <label className={`field${shown?.field === f.name ? " invalid" : ""}`} key={f.name} title={f.hint}>
              <span>{f.label}</span>
              <input value={texts[f.name]} onChange={(e) => setTexts({ ...texts, [f.name]: e.target.value })} data-testid={`template-${f.name}`} />
              {shown?.field === f.name && (
                <small className="field-error" data-testid={`template-error-${f.name}`}>
                  {shown.message}
                </small>
              )}
            </label>
          ))}
        {shown && (shown.field === null || !fields.some((f) => f.name === shown.field)) && (
          <small className="field-error" data-testid="template-error">
            {shown.message}
          </small>
        )}
        {preview && !shown && (
          <p data-testid="template-summary" data-dataset={preview.dataset}>
            {preview.parameters.toLocaleString("en-US")} parameters · {formatCount(preview.flops)} FLOPs · output {formatShape(preview.outputShape)}
            {preview.resize ? ` · the ${preview.options.inputSize}×${preview.options.inputSize} input is resized to ${preview.options.imageSize}×${preview.options.imageSize}` : ""}
            {preview.smallestImageSize && preview.smallestImageSize > 1 ? (
              <span className="muted">
                {" "}
                (the model takes images from {preview.smallestImageSize}×{preview.smallestImageSize})
              </span>
            ) : null}
          </p>
        )}
        {replacesUnsaved && <p className="muted">This replaces the current document; its unsaved changes come back with Undo.</p>}
        <div className="row">
          <button onClick={() => void insert()} disabled={!upToDate || problem !== null || busy} data-testid="template-insert">
            Open {template.label}
          </button>
          <button onClick={onCancel} data-testid="template-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}

/** The typed fields as options, or the first that is not a whole number ≥ 1. */
function parseFields(texts: Record<Field, string>): { options: TemplateOptions } | { field: Field; message: string; error: true } {
  const options = {} as TemplateOptions;
  for (const f of fields) {
    const text = texts[f.name].trim();
    if (!/^\d+$/.test(text) || Number(text) < 1) return { field: f.name, message: `${f.name} must be a whole number, at least 1`, error: true };
    options[f.name] = Number(text);
  }
  return { options };
}
