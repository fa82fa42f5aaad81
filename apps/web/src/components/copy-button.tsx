import { useEffect, useState } from 'react';

type Outcome = 'copied' | 'failed' | null;

/**
 * Copies `text` to the clipboard. The Clipboard API exists only in a secure context (https, or
 * the API on localhost); elsewhere the browser's copy command does it from a hidden field, and if
 * both are refused the button says to select the text by hand.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  useEffect(() => {
    if (!outcome) return;
    const t = window.setTimeout(() => setOutcome(null), 4000);
    return () => window.clearTimeout(t);
  }, [outcome]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setOutcome('copied');
    } catch {
      setOutcome(copyWithCommand(text) ? 'copied' : 'failed');
    }
  };

  return (
    <span className="copy">
      <button type="button" className="button button-small" aria-label={label} onClick={() => void copy()}>
        Copy
      </button>
      <span className="copy-outcome" role="status">
        {outcome === 'copied' ? 'Copied' : outcome === 'failed' ? 'The browser refused: select the text and copy it' : ''}
      </span>
    </span>
  );
}

function copyWithCommand(text: string): boolean {
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.className = 'sr-only';
  document.body.append(field);
  field.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    field.remove();
  }
}
