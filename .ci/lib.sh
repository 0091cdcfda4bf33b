# The checks `.ci/run` makes, as functions so that a test can run each one alone
# (test/ci/gates.test.ts sources this file). Each prints why it fails on stderr and returns non-zero.

# Prints the conformance suite's folder. CONFORMANCE_DIR, when set, must hold it; otherwise the sibling
# checkout ../shared/conformance (CI's layout) or /work/shared/conformance. Not found is a failure: CI must
# not pass without the suite. PROTIUM_SKIP_CONFORMANCE=1 opts out on a local run (prints nothing, returns
# 0); CI (the CI variable set) refuses the opt-out.
find_conformance() {
  if [ "${PROTIUM_SKIP_CONFORMANCE:-}" = 1 ]; then
    if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; then
      echo "ci: PROTIUM_SKIP_CONFORMANCE=1 is for local runs; CI (CI=${CI}) must run the conformance suite" >&2
      return 1
    fi
    echo "ci: conformance suite skipped (PROTIUM_SKIP_CONFORMANCE=1)" >&2
    return 0
  fi
  if [ -n "${CONFORMANCE_DIR:-}" ]; then
    if [ -f "$CONFORMANCE_DIR/run.mjs" ]; then echo "$CONFORMANCE_DIR"; return 0; fi
    echo "ci: no conformance suite in CONFORMANCE_DIR=$CONFORMANCE_DIR (no run.mjs there)" >&2
    return 1
  fi
  local dir
  for dir in ../shared/conformance /work/shared/conformance; do
    if [ -f "$dir/run.mjs" ]; then echo "$dir"; return 0; fi
  done
  echo "ci: conformance suite not found in ../shared/conformance or /work/shared/conformance; set CONFORMANCE_DIR (or PROTIUM_SKIP_CONFORMANCE=1 on a local run)" >&2
  return 1
}

# Fails when npm's output (the file $1) has an EBADENGINE warning: a dependency that does not support the
# Node version in package.json's engines.
check_no_ebadengine() {
  if grep -q EBADENGINE "$1"; then
    echo "ci: npm ci printed EBADENGINE (a dependency does not support this Node version):" >&2
    grep EBADENGINE "$1" >&2
    return 1
  fi
}

# Fails unless the conformance suite's output (the file $1) ends with "N passed, 0 failed" with N > 0 and
# nothing skipped.
check_conformance_summary() {
  local last
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
  if ! printf '%s\n' "$last" | grep -Eq '^[1-9][0-9]* passed, 0 failed$'; then
    echo "ci: the conformance suite did not pass with every check run (summary: ${last:-none})" >&2
    return 1
  fi
}
