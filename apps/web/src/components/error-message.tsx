import { ApiError, ApiUnreachableError } from '@virtfleet/sdk';

/** An error as the API worded it: its message, its code, and for a 400 each field that failed. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const api = error instanceof ApiError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <p>
        {title ? <strong>{title}: </strong> : null}
        {message}
        {api ? <code className="error-code">{api.code}</code> : null}
      </p>
      {api?.issues.length ? (
        <ul>
          {api.issues.map((i) => (
            <li key={`${i.path}:${i.message}`}>
              <code>{i.path}</code> {i.message}
            </li>
          ))}
        </ul>
      ) : null}
      {error instanceof ApiUnreachableError ? <p className="muted">The console keeps trying; reload the page when the API is back.</p> : null}
    </div>
  );
}

/** A failed job's error as the agent or API worded it: its message and code. */
export function JobErrorMessage({ error }: { error: { code: string; message: string } | null | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <p>
        {error.message}
        <code className="error-code">{error.code}</code>
      </p>
    </div>
  );
}
