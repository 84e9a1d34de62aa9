// The lines under the toolbar: the last error (click to dismiss), a confirmation of what an action did, and while a
// run trains the network, why it cannot be edited.

interface Props {
  error: string | null;
  notice: string | null;
  locked: string | null;
  onDismissError(): void;
  onDismissNotice(): void;
}

export function Banners({ error, notice, locked, onDismissError, onDismissNotice }: Props) {
  return (
    <>
      {locked && (
        <div className="lock-banner" data-testid="lock-banner">
          {locked}
        </div>
      )}
      {error && (
        <div className="error-banner" data-testid="error-banner" onClick={onDismissError} title="click to dismiss">
          {error}
        </div>
      )}
      {notice && (
        <div className="notice-banner" data-testid="notice-banner" onClick={onDismissNotice} title="click to dismiss">
          {notice}
        </div>
      )}
    </>
  );
}
