// A question before an action that loses work (New on unsaved changes): the action, or cancel.

interface Props {
  title: string;
  message: string;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
}

export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onCancel }: Props) {
  return (
    <div className="dialog-backdrop" onClick={onCancel}>
      <div className="dialog" role="alertdialog" data-testid="confirm-dialog" onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === "Escape" && onCancel()}>
        <h3>{title}</h3>
        <p>{message}</p>
        <div className="row">
          <button onClick={onConfirm} data-testid="confirm-ok" autoFocus>
            {confirmLabel}
          </button>
          <button onClick={onCancel} data-testid="confirm-cancel">
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
