/**
 * Which member of a consumer group should own which shard: a balanced, sticky assignment. Every live member
 * gets ⌊shards / members⌋ or one more; a shard stays with its owner while the owner is within its share, so
 * a member joining or leaving moves as few shards as possible. Deterministic for a given input. Pure.
 */

/**
 * The desired owner of each shard. `members` are the live members; `owners` the current owner of each shard
 * (undefined: free; an owner not among `members` counts as free). With no members every shard is free.
 */
export function balance(
  shardCount: number,
  members: readonly string[],
  owners: readonly (string | undefined)[],
): (string | undefined)[] {
  const live = [...new Set(members)].sort();
  const desired: (string | undefined)[] = Array.from({ length: shardCount }, (_, s) => {
    const o = owners[s];
    return o !== undefined && live.includes(o) ? o : undefined;
  });
  if (!live.length) return desired;

  const owned = new Map<string, number[]>(live.map((m) => [m, []]));
  desired.forEach((o, s) => {
    if (o !== undefined) owned.get(o)!.push(s);
  });

  // The larger shares go to the members that hold the most already (ties: by id), so that fewer shards move.
  const base = Math.floor(shardCount / live.length);
  const extra = shardCount % live.length;
  const byHoldings = [...live].sort((a, b) => owned.get(b)!.length - owned.get(a)!.length || (a < b ? -1 : 1));
  const quota = new Map<string, number>(byHoldings.map((m, i) => [m, base + (i < extra ? 1 : 0)]));

  // Members above their share give up their highest shards.
  for (const m of live) {
    const mine = owned.get(m)!;
    while (mine.length > quota.get(m)!) desired[mine.pop()!] = undefined;
  }
  // Free shards, lowest first, go to members below their share, in id order.
  let i = 0;
  for (let s = 0; s < shardCount; s++) {
    if (desired[s] !== undefined) continue;
    while (owned.get(live[i])!.length >= quota.get(live[i])!) i++;
    desired[s] = live[i]!;
    owned.get(live[i])!.push(s);
  }
  return desired;
}
