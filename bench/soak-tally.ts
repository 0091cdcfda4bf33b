/**
 * The soak's accounting, pure: every request the soak sends has one outcome, and the soak passes only when
 * every one of them was a 2xx with the expected body. autocannon reports answers (`requests.total`), 2xx
 * answers, connection errors and timeouts (`errors` counts both), and the bench counts 2xx answers whose
 * body was wrong; a request with none of these (its connection ended before an answer) is lost. Warm-up
 * runs are counted like the rest: the total printed is the number checked.
 */

/** One autocannon run with `amount` requests, as the soak sees it. */
export interface LoadRun {
  /** Requests the run was asked to send (autocannon's `amount`). */
  amount: number;
  /** Answers received, any status (autocannon's `requests.total`). */
  answered: number;
  /** Answers with a 2xx status (autocannon's `2xx`). */
  ok2xx: number;
  /** 2xx answers whose body was not the expected one. */
  wrongBody: number;
  /** Connection errors and timeouts (autocannon's `errors`, which includes `timeouts`). */
  errors: number;
}

export interface SoakTally {
  /** Requests sent: the sum of the runs' amounts. */
  requests: number;
  /** 2xx with the expected body. */
  ok: number;
  /** Answered with another status or a wrong body, or failed with a connection error or timeout. */
  failed: number;
  /** Sent and never answered nor failed (a connection that ended under them). */
  lost: number;
  /** True when every request sent was ok. */
  pass: boolean;
}

/** Adds up runs into the soak's outcome. */
export function tallySoak(runs: readonly LoadRun[]): SoakTally {
  let requests = 0;
  let ok = 0;
  let failed = 0;
  let lost = 0;
  for (const r of runs) {
    requests += r.amount;
    const good = Math.max(0, r.ok2xx - r.wrongBody);
    ok += good;
    failed += r.answered - good + r.errors;
    lost += Math.max(0, r.amount - r.answered - r.errors);
  }
  return { requests, ok, failed, lost, pass: ok === requests && failed === 0 && lost === 0 };
}
