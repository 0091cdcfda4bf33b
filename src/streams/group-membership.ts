/**
 * The members of one consumer group on one stream and the shards each owns (a lease).
 *
 * Members announce themselves with heartbeats; one that misses its session timeout is dropped and its
 * shards are freed. Shards move by hand-off, never by force while the owner is alive: when the balanced
 * assignment (assignment.ts) wants a shard elsewhere, its owner is told to release it, finishes the record
 * in hand, commits, and releases it with its next heartbeat; only then does the new owner get it. So two
 * live members never consume one shard at once, and a commit is accepted only from the shard's owner
 * (a member whose lease expired cannot move an offset). Pure: the clock is passed in.
 */
import { balance } from './assignment.js';

/** What a heartbeat answers: the shards to consume, and the shards the member owns but must release. */
export interface HeartbeatAnswer {
  shards: number[];
  release: number[];
}

export class GroupMembership {
  /** Member id → when its session expires (ms). */
  private readonly members = new Map<string, number>();
  private readonly owners: (string | undefined)[];

  constructor(readonly shardCount: number) {
    this.owners = Array.from({ length: shardCount }, () => undefined);
  }

  /** Records a heartbeat: renews the member's session, takes its released shards back, and rebalances. */
  heartbeat(member: string, sessionMs: number, released: readonly number[], now: number): HeartbeatAnswer {
    this.sweep(now);
    this.members.set(member, now + sessionMs);
    for (const s of released) if (this.owners[s] === member) this.owners[s] = undefined;
    const desired = balance(this.shardCount, [...this.members.keys()], this.owners);
    desired.forEach((d, s) => {
      if (this.owners[s] === undefined) this.owners[s] = d;
    });
    const shards: number[] = [];
    const release: number[] = [];
    this.owners.forEach((o, s) => {
      if (o !== member) return;
      (desired[s] === member ? shards : release).push(s);
    });
    return { shards, release };
  }

  /** A member leaving on purpose (after committing): its shards are free at once. */
  leave(member: string, now: number): void {
    this.members.delete(member);
    this.owners.forEach((o, s) => {
      if (o === member) this.owners[s] = undefined;
    });
    this.sweep(now);
  }

  /** True when `member` holds the lease of `shard` now. */
  owns(member: string, shard: number, now: number): boolean {
    this.sweep(now);
    return this.owners[shard] === member && this.members.has(member);
  }

  /** Live members and the shards each owns (for DescribeStream). */
  snapshot(now: number): { member: string; shards: number[] }[] {
    this.sweep(now);
    return [...this.members.keys()]
      .sort()
      .map((member) => ({ member, shards: this.owners.flatMap((o, s) => (o === member ? [s] : [])) }));
  }

  private sweep(now: number): void {
    for (const [m, expires] of this.members) {
      if (expires > now) continue;
      this.members.delete(m);
      this.owners.forEach((o, s) => {
        if (o === m) this.owners[s] = undefined;
      });
    }
  }
}
