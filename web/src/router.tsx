/**
 * A small history router: the app's paths are real URLs (the dashboard answers index.html for them), so
 * reloading or sharing a page works.
 *
 *   /projects                                   projects
 *   /projects/:project[/functions]              the functions of a project
 *   /projects/:project/gateways                 its API gateways
 *   /projects/:project/functions/:fn[/:tab]     a function (tab: code, config, build, logs, metrics, invocations)
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const NAV_EVENT = 'protium:navigate';

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAV_EVENT));
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    window.addEventListener('popstate', update);
    window.addEventListener(NAV_EVENT, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAV_EVENT, update);
    };
  }, []);
  return path;
}

export type Route =
  | { page: 'projects' }
  | { page: 'functions'; project: string }
  | { page: 'gateways'; project: string }
  | { page: 'function'; project: string; fn: string; tab: string }
  | { page: 'notFound'; path: string };

export function parseRoute(path: string): Route {
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'projects')) return { page: 'projects' };
  if (parts[0] === 'projects' && parts[1]) {
    const project = parts[1];
    if (parts.length === 2 || (parts.length === 3 && parts[2] === 'functions')) return { page: 'functions', project };
    if (parts.length === 3 && parts[2] === 'gateways') return { page: 'gateways', project };
    if (parts[2] === 'functions' && parts[3] && parts.length <= 5)
      return { page: 'function', project, fn: parts[3], tab: parts[4] ?? 'code' };
  }
  return { page: 'notFound', path };
}

const enc = encodeURIComponent;
export const paths = {
  projects: () => '/projects',
  functions: (p: string) => `/projects/${enc(p)}/functions`,
  gateways: (p: string) => `/projects/${enc(p)}/gateways`,
  fn: (p: string, f: string, tab?: string) =>
    `/projects/${enc(p)}/functions/${enc(f)}${tab && tab !== 'code' ? `/${tab}` : ''}`,
};

export function Link(props: { href: string; children: ComponentChildren; class?: string; title?: string }) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return (
    <a href={props.href} onClick={onClick} class={props.class} title={props.title}>
      {props.children}
    </a>
  );
}
