/** The shell: header, connection banner, token dialog, and the page for the current path. */
import { Component, type ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { Api, errorMessage } from './api';
import { ConnectionBanner, TokenDialog } from './components/connection';
import { Button } from './components/ui';
import { usePoll } from './hooks';
import { FunctionPage } from './pages/function';
import { ProjectPage } from './pages/project';
import { ProjectsPage } from './pages/projects';
import { Link, navigate, parseRoute, paths, usePath } from './router';

export function App() {
  const path = usePath();
  const route = parseRoute(path);
  useEffect(() => {
    if (path === '/' || path === '') navigate(paths.projects(), true);
  }, [path]);
  useEffect(() => {
    const what =
      route.page === 'function'
        ? route.fn
        : route.page === 'functions' || route.page === 'gateways'
          ? route.project
          : 'Projects';
    document.title = `${what} · Protium dashboard`;
  }, [path]);
  return (
    <div class="app">
      <Header />
      <ConnectionBanner />
      <main class="main">
        <ErrorBoundary key={pageKey(route)}>
          {route.page === 'projects' && <ProjectsPage />}
          {(route.page === 'functions' || route.page === 'gateways') && (
            <ProjectPage project={route.project} tab={route.page} />
          )}
          {route.page === 'function' && <FunctionPage project={route.project} name={route.fn} tab={route.tab} />}
          {route.page === 'notFound' && (
            <section class="page">
              <h1>Nothing here</h1>
              <p>
                No page at <code>{route.path}</code>. <Link href={paths.projects()}>Go to the projects.</Link>
              </p>
            </section>
          )}
        </ErrorBoundary>
      </main>
      <TokenDialog />
    </div>
  );
}

/** One key per page (not per path): switching a function's tabs must not remount it. */
function pageKey(route: ReturnType<typeof parseRoute>): string {
  if (route.page === 'function') return `fn/${route.project}/${route.fn}`;
  if (route.page === 'functions' || route.page === 'gateways') return `project/${route.project}`;
  return route.page;
}

function Header() {
  const version = usePoll(() => Api.versions(), 0, []);
  const v = version.data?.dashboard;
  return (
    <header class="header">
      <Link href={paths.projects()} class="brand">
        <span class="logo" aria-hidden="true" />
        Protium
      </Link>
      <nav>
        <Link href={paths.projects()}>Projects</Link>
      </nav>
      <span class="header-meta muted small">
        {v ? `dashboard ${v.label ?? ''}${v.gitCommit ? ` · ${v.gitCommit.slice(0, 8)}` : ''}` : ''}
      </span>
    </header>
  );
}

/** A render error shows what broke and a way out, never a blank page. */
class ErrorBoundary extends Component<{ children: ComponentChildren }, { error?: unknown }> {
  override state: { error?: unknown } = {};
  override componentDidCatch(error: unknown) {
    this.setState({ error });
  }
  override render() {
    if (this.state.error !== undefined) {
      return (
        <section class="page">
          <h1>This page failed</h1>
          <pre class="error-pre">{errorMessage(this.state.error)}</pre>
          <div class="actions">
            <Button variant="primary" onClick={() => this.setState({ error: undefined })}>
              Try again
            </Button>
            <Button onClick={() => navigate(paths.projects())}>Go to the projects</Button>
          </div>
        </section>
      );
    }
    return this.props.children;
  }
}
