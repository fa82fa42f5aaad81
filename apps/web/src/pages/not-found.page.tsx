import { Link } from 'react-router';
import { PageHeader, useTitle } from '../components/layout';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <>
      <PageHeader title="Not found" sub="The console has no page at this address." />
      <p>
        <Link to="/">Back to the fleet</Link>
      </p>
    </>
  );
}
