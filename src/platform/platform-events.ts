/**
 * The listeners of a platform's events (Platform.subscribe): each platform emits through one of these, so
 * a listener that throws is logged and never stops the others or the platform.
 */
import type { Logger } from '../log.js';
import type { PlatformEvent, PlatformListener } from './platform.js';

export class PlatformEvents {
  private readonly listeners = new Set<PlatformListener>();

  constructor(private readonly log: Logger) {}

  /** Adds a listener; the returned function removes it. */
  subscribe(listener: PlatformListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: PlatformEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (e) {
        this.log.warn({ err: e, event: event.type }, 'a platform event listener failed');
      }
    }
  }
}
