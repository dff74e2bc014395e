import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, forgetToken, storedToken, whenUnauthorized, type Operator } from './api.js';
import { Heading } from './components.js';
import { OperatorContext } from './operator.js';
import { AuditPage } from './pages/audit.js';
import { DeadDeliveriesPage } from './pages/deliveries.js';
import { DestinationsPage } from './pages/destinations.js';
import { OrderPage } from './pages/order.js';
import { OrdersPage } from './pages/orders.js';
import { RejectedNotificationsPage } from './pages/rejected.js';
import { SignIn } from './pages/sign-in.js';
import { SummaryPage } from './pages/summary.js';
import { parseHash, useHash, type Route } from './router.js';

const NAV = [
  { href: '#/', label: 'Summary', pages: ['summary'] },
  { href: '#/orders', label: 'Orders', pages: ['orders', 'order'] },
  { href: '#/deliveries', label: 'Dead deliveries', pages: ['deliveries'] },
  { href: '#/destinations', label: 'Destinations', pages: ['destinations'] },
  { href: '#/notifications', label: 'Rejected notifications', pages: ['notifications'] },
  { href: '#/audit', label: 'Audit', pages: ['audit'] },
];

function App() {
  const [signedIn, setSignedIn] = useState(storedToken() !== null);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [operator, setOperator] = useState<Operator | null>(null);
  const hash = useHash();
  const route = parseHash(hash);

  useEffect(() => {
    whenUnauthorized(() => {
      forgetToken();
      setNotice('The service refused the token (401). Sign in again.');
      setSignedIn(false);
    });
  }, []);

  // Who the token belongs to, and so which actions to offer.
  useEffect(() => {
    if (!signedIn) return;
    api.whoAmI().then(setOperator, () => setOperator(null));
  }, [signedIn]);

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(undefined);
          setSignedIn(true);
        }}
      />
    );
  }

  async function signOut() {
    // A single sign-on session is revoked at the service; a configured token is only forgotten here.
    if (operator?.session === true) await api.signOut().catch(() => {});
    forgetToken();
    setOperator(null);
    setNotice(undefined);
    setSignedIn(false);
  }

  return (
    <>
      <header class="top">
        <span class="brand">Ops console</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {operator !== null && (
          <span class="who" aria-label="Signed in as">
            {operator.actor} <span class="badge">{operator.scope === 'operate' ? 'operate' : 'read only'}</span>
          </span>
        )}
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <OperatorContext.Provider value={operator}>
        <main id="main">
          {/* A new key per view: each page starts fresh and focuses its heading. */}
          <Page key={hash.split('?')[0]} route={route} />
        </main>
      </OperatorContext.Provider>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'summary':
      return <SummaryPage />;
    case 'orders':
      return <OrdersPage query={route.query} />;
    case 'order':
      return <OrderPage kind={route.kind} orderRef={route.orderRef} />;
    case 'deliveries':
      return <DeadDeliveriesPage query={route.query} />;
    case 'destinations':
      return <DestinationsPage />;
    case 'notifications':
      return <RejectedNotificationsPage query={route.query} />;
    case 'audit':
      return <AuditPage query={route.query} />;
    case 'not-found':
      return (
        <>
          <Heading>Not found</Heading>
          <p>
            No such page. <a href="#/">Go to the summary</a>.
          </p>
        </>
      );
  }
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
