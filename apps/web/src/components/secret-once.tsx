import { useId, type ReactNode } from 'react';
import { CopyButton } from './copy-button';

/**
 * A secret the API answers once (an API token, a webhook's signing secret, a join token): shown
 * here with a copy button and a warning until it is dismissed; the console keeps it nowhere else.
 */
export function SecretOnce({
  title,
  label,
  value,
  children,
  onDismiss,
}: {
  title: string;
  /** The field's name ("Token web-reader"); the copy button is "Copy <label>". */
  label: string;
  /** The secret itself. */
  value: string;
  /** More to say (how to use it). */
  children?: ReactNode;
  onDismiss: () => void;
}) {
  const id = useId();
  return (
    <section className="secret-once" aria-labelledby={`${id}-h`}>
      <div className="section-header">
        <h2 id={`${id}-h`}>{title}</h2>
        <button type="button" className="button button-small" onClick={onDismiss}>
          Done, hide it
        </button>
      </div>
      <p className="secret-warning">
        <strong>Shown this once.</strong> The API never shows it again: copy it now and keep it somewhere safe. If it is lost, make a new one.
      </p>
      <div className="secret-row">
        <div className="field field-grow">
          <label htmlFor={id}>{label}</label>
          <input id={id} className="mono secret-value" readOnly value={value} spellCheck={false} onFocus={(e) => e.currentTarget.select()} />
        </div>
        <CopyButton text={value} label={`Copy ${label}`} />
      </div>
      {children}
    </section>
  );
}
