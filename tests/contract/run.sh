#!/usr/bin/env bash
# The contract, checked from outside (issue 11): one entry point for CI.
#
#   1. Feishu's official SDKs against the sandbox (tests/sdk/run.sh);
#   2. openapi-spec-validator on both generated OpenAPI documents;
#   3. schemathesis over every operation of crates/feishu-hire-types/openapi.json against a
#      sandbox started here (rate limit off, no faults), with a token from that sandbox.
#
# Python tools are pinned and installed into target/contract/venv (no global installs); the
# first run needs PyPI (and the npm registry, for the SDK step). Prints `N passed, N failed`
# last and exits non-zero on any failure. See tests/contract/README.md.
#
# Environment: SCHEMATHESIS_SEED (default 1: every run generates the same cases),
# SCHEMATHESIS_MAX_EXAMPLES (default 50 per operation).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# The tools, pinned. Their own dependencies come from PyPI within the ranges they declare.
schemathesis_version=4.32.5
spec_validator_version=0.9.0
seed=${SCHEMATHESIS_SEED:-1}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-50}

venv=$root/target/contract/venv
run_dir=$root/target/contract/run
sandbox_bin=$root/target/debug/feishu-hire-sandbox
documents=(crates/feishu-hire-types/openapi.json xtask/test-data/fixture/crate/openapi.json)

# Everything here talks to 127.0.0.1 only, whatever proxy the environment names.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

passed=0
failed=0
sandbox_pid=

step() { printf '\n== %s ==\n' "$*"; }
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
finish() {
  printf '\n%s passed, %s failed\n' "$passed" "$failed"
  if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
  exit 0
}

# Ctrl-C the sandbox; one that has not stopped 10 s later is a failure (and is killed).
stop_sandbox() {
  [ -n "$sandbox_pid" ] || return 0
  local pid=$sandbox_pid status=0
  sandbox_pid=
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "the sandbox did not stop within 10 s of Ctrl-C"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 137 ]; then
    fail "the sandbox exited with status $status after Ctrl-C"
  fi
}
trap 'stop_sandbox' EXIT

install_tools() {
  local marker=$venv/.installed-schemathesis-$schemathesis_version-validator-$spec_validator_version
  if [ -f "$marker" ] && "$venv/bin/python" -c 'import schemathesis, openapi_spec_validator' 2>/dev/null; then
    echo "schemathesis $schemathesis_version, openapi-spec-validator $spec_validator_version: cached in ${venv#"$root"/}"
    return 0
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" || return 1
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$schemathesis_version" "openapi-spec-validator==$spec_validator_version" || return 1
  touch "$marker"
  echo "schemathesis $schemathesis_version, openapi-spec-validator $spec_validator_version: installed in ${venv#"$root"/}"
}

# ---- 1. the official SDKs ----
step "Feishu's official SDKs against the sandbox (tests/sdk/run.sh)"
sdk_status=0
mkdir -p "$root/target/contract"
bash tests/sdk/run.sh 2>&1 | tee "$root/target/contract/sdk.txt" || sdk_status=$?
sdk_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$root/target/contract/sdk.txt" | tail -n 1 || true)
if [[ $sdk_line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
  if [ "$sdk_status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
    fail "tests/sdk/run.sh exited with status $sdk_status"
  fi
else
  fail "tests/sdk/run.sh did not finish (no closing line)"
fi

# ---- 2. the tools ----
step "schemathesis $schemathesis_version and openapi-spec-validator $spec_validator_version"
if ! install_tools; then
  fail "could not install the Python tools into ${venv#"$root"/}"
  finish
fi

# ---- 3. the OpenAPI documents are valid OpenAPI 3.1 ----
step "openapi-spec-validator"
for document in "${documents[@]}"; do
  if "$venv/bin/openapi-spec-validator" "$document"; then
    pass "openapi-spec-validator: $document"
  else
    fail "openapi-spec-validator: $document"
  fi
done

# ---- 4. schemathesis against the sandbox ----
step "sandbox"
# FEISHU_SANDBOX_BIN: a sandbox binary already built (CI passes the one the workspace tests
# built; building the sandbox alone resolves other features and recompiles part of the tree).
if [ -n "${FEISHU_SANDBOX_BIN:-}" ]; then
  sandbox_bin=$FEISHU_SANDBOX_BIN
elif ! cargo build -p feishu-hire-sandbox --bin feishu-hire-sandbox; then
  fail "the sandbox does not build"
  finish
fi
rm -rf "$run_dir"
mkdir -p "$run_dir"
export SANDBOX_APP_ID=cli_contract SANDBOX_APP_SECRET=contract-secret
RUST_LOG=info "$sandbox_bin" --port 0 --app-id "$SANDBOX_APP_ID" --app-secret "$SANDBOX_APP_SECRET" \
  --no-rate-limit --shutdown-grace-ms 2000 >"$run_dir/sandbox.out" 2>"$run_dir/sandbox.log" &
sandbox_pid=$!
SANDBOX_URL=
for _ in $(seq 1 100); do
  SANDBOX_URL=$(head -n 1 "$run_dir/sandbox.out" 2>/dev/null || true)
  [[ $SANDBOX_URL == http://127.0.0.1:* ]] && break
  SANDBOX_URL=
  kill -0 "$sandbox_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$SANDBOX_URL" ]; then
  cat "$run_dir/sandbox.log" >&2
  fail "the sandbox did not start"
  finish
fi
export SANDBOX_URL
echo "sandbox: $SANDBOX_URL (log: ${run_dir#"$root"/}/sandbox.log)"

step "schemathesis: every operation of crates/feishu-hire-types/openapi.json (seed $seed, $max_examples examples each)"
# The checks: no 5xx; status, content type and body as documented; and (feishu_envelope, in
# the hooks) every answer in Feishu's envelope with the header's log id. negative_data_rejection
# also holds the sandbox to refusing what the schemas refuse. Not run: the checks that want
# 401/403 without a token (Feishu answers 400 with 99991661), and positive_data_acceptance
# (schema-valid ids that do not exist are refused, as on Feishu).
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks=$checks,response_schema_conformance,negative_data_rejection,feishu_envelope
junit=$run_dir/schemathesis.junit.xml
document=$root/crates/feishu-hire-types/openapi.json
st_status=0
# Run from target/ so hypothesis' example database stays out of the source tree.
(
  cd "$run_dir"
  SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=$root/tests/contract \
    "$venv/bin/st" run "$document" --url "$SANDBOX_URL" \
    --checks "$checks" --max-examples "$max_examples" --seed "$seed" \
    --request-timeout 10 --max-failures 20 --suppress-health-check too_slow \
    --report junit --report-junit-path "$junit" --report-dir "$run_dir"
) 2>&1 | tee "$run_dir/schemathesis.txt" || st_status=$?
# One result per operation, from the JUnit report.
counts=$("$venv/bin/python" - "$junit" <<'PY' || true
import sys
import xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
results = [(case.get("name"), any(child.tag in ("failure", "error") for child in case)) for case in cases]
for name, bad in results:
    print(("FAIL" if bad else "ok  ") + " schemathesis: " + str(name), file=sys.stderr)
print(sum(not bad for _, bad in results), sum(bad for _, bad in results))
PY
)
if [[ $counts =~ ^([0-9]+)\ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
  if [ "$st_status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
    fail "schemathesis exited with status $st_status (see ${run_dir#"$root"/}/schemathesis.txt)"
  fi
else
  fail "schemathesis did not finish (status $st_status; see ${run_dir#"$root"/}/schemathesis.txt)"
fi

step "stopping the sandbox (Ctrl-C)"
if grep -q 'panicked' "$run_dir/sandbox.log"; then
  fail "the sandbox panicked (see ${run_dir#"$root"/}/sandbox.log)"
fi
stop_sandbox
finish
