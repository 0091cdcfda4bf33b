/** Shared bits of the UI: buttons with progress, errors next to what they concern, state badges, tabs. */
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { isProvisioning } from '../../../src/resources/function-state';

export function Spinner(props: { label?: string }) {
  return <span class="spinner" role="status" aria-label={props.label ?? 'Working'} />;
}

type ButtonProps = Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'disabled' | 'type' | 'class'> & {
  /** Classes added to the button's own (a plain string: the UI uses no signals). */
  class?: string;
  busy?: boolean;
  variant?: 'primary' | 'danger' | 'plain' | 'link';
  disabled?: boolean;
  type?: 'button' | 'submit';
};

export function Button(props: ButtonProps) {
  const { busy, variant = 'plain', disabled, children, type = 'button', class: cls, ...rest } = props;
  return (
    <button
      type={type}
      class={`btn btn-${variant} ${cls ?? ''}`}
      disabled={disabled || busy}
      aria-busy={busy ? 'true' : undefined}
      {...rest}
    >
      {busy && <Spinner />}
      {children}
    </button>
  );
}

/** An error shown where it happened. Network errors say the page will reconnect. */
export function ErrorText(props: { error: unknown; prefix?: string; testId?: string }) {
  const { error } = props;
  if (error === undefined || error === null || error === '') return null;
  const message = typeof error === 'string' ? error : errorMessage(error);
  const status = error instanceof ApiError && error.status ? ` (${error.status})` : '';
  return (
    <div class="error-text" role="alert" data-testid={props.testId}>
      {props.prefix ? `${props.prefix}: ` : ''}
      {message}
      {status && <span class="muted">{status}</span>}
    </div>
  );
}

export function Notice(props: { kind?: 'ok' | 'info' | 'warn'; children: ComponentChildren; testId?: string }) {
  return (
    <div class={`notice notice-${props.kind ?? 'info'}`} data-testid={props.testId}>
      {props.children}
    </div>
  );
}

/** A labelled control with its error (from the API's `field`) right under it. */
export function Field(props: {
  label: string;
  error?: string;
  hint?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <label class={`field ${props.error ? 'field-invalid' : ''} ${props.class ?? ''}`}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && !props.error && <span class="field-hint">{props.hint}</span>}
      {props.error && (
        <span class="error-text field-error" role="alert">
          {props.error}
        </span>
      )}
    </label>
  );
}

const STATE_CLASS: Record<string, string> = {
  ready: 'ok',
  error: 'bad',
  unhealthy: 'warn',
  scaledToZero: 'idle',
  imported: 'warn',
};
const STATE_LABEL: Record<string, string> = {
  ready: 'ready',
  error: 'error',
  building: 'building',
  waitingForBuild: 'waiting for build',
  waitingForResourceConfiguration: 'starting',
  configuringResources: 'starting',
  waitingForScaleResourceFromZero: 'waking up',
  waitingForScaleResourceToZero: 'scaling to zero',
  scaledToZero: 'scaled to zero',
  imported: 'imported (not deployed)',
  unhealthy: 'unhealthy',
  waitingForProvisioning: 'provisioning',
};

/** A state on its way somewhere (a function being provisioned, a gateway provisioning): spinner, fast polling. */
export const isTransient = (state: string | undefined) => isProvisioning(state);

export function StateBadge(props: { state: string | undefined; title?: string }) {
  const state = props.state || 'unknown';
  const busy = isTransient(props.state);
  return (
    <span
      class={`badge badge-${STATE_CLASS[state] ?? (busy ? 'busy' : 'idle')}`}
      title={props.title}
      data-state={state}
    >
      {busy && <Spinner label={STATE_LABEL[state] ?? state} />}
      {STATE_LABEL[state] ?? state}
    </span>
  );
}

export function Tabs(props: {
  tabs: { id: string; label: string; badge?: ComponentChildren }[];
  current: string;
  onSelect: (id: string) => void;
  label: string;
}) {
  return (
    <div class="tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map((t) => (
        <button
          type="button"
          role="tab"
          key={t.id}
          class={`tab ${t.id === props.current ? 'tab-current' : ''}`}
          aria-selected={t.id === props.current ? 'true' : 'false'}
          onClick={() => props.onSelect(t.id)}
        >
          {t.label}
          {t.badge}
        </button>
      ))}
    </div>
  );
}

/** A destructive action that asks once, inline (no browser dialog). */
export function ConfirmButton(props: {
  label: string;
  confirmLabel?: string;
  question?: string;
  busy?: boolean;
  onConfirm: () => void;
  disabled?: boolean;
  testId?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking || props.busy) {
    return (
      <Button
        variant="danger"
        busy={props.busy}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
        data-testid={props.testId}
      >
        {props.label}
      </Button>
    );
  }
  return (
    <span class="confirm">
      {props.question && <span class="confirm-question">{props.question}</span>}
      <Button
        variant="danger"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.confirmLabel ?? `Yes, ${props.label.toLowerCase()}`}
      </Button>
      <Button onClick={() => setAsking(false)}>Cancel</Button>
    </span>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>;
}

/** A first load: spinner, or the error if there is nothing to show yet. */
export function Loading(props: { error?: unknown; what: string }) {
  if (props.error) return <ErrorText error={props.error} prefix={`Could not load ${props.what}`} />;
  return (
    <div class="loading">
      <Spinner /> Loading {props.what}…
    </div>
  );
}
