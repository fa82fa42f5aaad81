// The serial console's terminal: xterm.js, loaded only when a console is opened (its own chunk).
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

export interface ConsoleTerminal {
  write(data: Uint8Array | string): void;
  onInput(fn: (data: string) => void): void;
  /** Ctrl+] (as in virsh console) gives the focus back to the page instead of the guest. */
  onLeave(fn: () => void): void;
  focus(): void;
  fit(): void;
  dispose(): void;
}

export function openTerminal(host: HTMLElement): ConsoleTerminal {
  const term = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
    fontSize: 13,
    scrollback: 5000,
    theme: { background: '#0f1724', foreground: '#dbe4f0', cursor: '#7cc4ff' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fit.fit();
  let leave: () => void = () => undefined;
  term.attachCustomKeyEventHandler((e) => {
    if (e.type === 'keydown' && e.ctrlKey && e.key === ']') {
      leave();
      return false;
    }
    return true;
  });
  return {
    write: (data) => term.write(data),
    onInput: (fn) => void term.onData(fn),
    onLeave: (fn) => {
      leave = fn;
    },
    focus: () => term.focus(),
    fit: () => fit.fit(),
    dispose: () => term.dispose(),
  };
}
