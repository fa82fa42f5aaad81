/** The "Host" filter of a list page: every host by name, or all of them (""). */
export function HostFilter({
  id,
  hosts,
  value,
  onChange,
}: {
  id: string;
  hosts: ReadonlyArray<{ id: string; name: string }> | undefined;
  value: string;
  onChange: (hostId: string) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>Host</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All hosts</option>
        {(hosts ?? []).map((h) => (
          <option key={h.id} value={h.id}>
            {h.name}
          </option>
        ))}
      </select>
    </div>
  );
}
