// Inline SVG icons (no icon font: nothing is fetched at run time). Decorative: aria-hidden.

const paths = {
  fleet: 'M3 5h18v5H3zM3 14h18v5H3z M6.5 7.5h.01 M6.5 16.5h.01',
  vms: 'M4 4h16v12H4z M8 20h8 M12 16v4',
  jobs: 'M9 6h11 M9 12h11 M9 18h11 M4 6l1 1 2-2 M4 12l1 1 2-2 M4 18l1 1 2-2',
  networks: 'M12 3v6 M5 21v-4h14v4 M12 9v8 M9 3h6v6H9z M2 21h6 M16 21h6',
  disks: 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6 M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  logout: 'M15 4h4v16h-4 M10 8l-4 4 4 4 M6 12h10',
  hosts: 'M3 4h18v7H3z M7 7.5h.01 M12 14v7 M8.5 17.5h7',
  tokens: 'M14.5 9.5a4 4 0 1 0-3.2 3.9L13 15h2v2h2v2h3v-3l-5.6-5.6c.07-.3.1-.6.1-.9z M9 8h.01',
  webhooks: 'M9 7a3 3 0 1 1 4.5 2.6L16 15 M7.5 11.5A3 3 0 1 0 10 17h6 M16 15a3 3 0 1 1-1 5.8',
  audit: 'M6 3h9l4 4v14H6z M14 3v5h5 M9 12h7 M9 16h7',

} as const;

export type IconName = keyof typeof paths;

export function Icon({ name }: { name: IconName }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
      <path d={paths[name]} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
