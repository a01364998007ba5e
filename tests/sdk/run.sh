#!/usr/bin/env bash
# Feishu's official SDKs, pinned and unchanged, against sandboxes started for this run:
# the Python SDK (lark-oapi) and the Node SDK (@larksuiteoapi/node-sdk). See tests/sdk/README.md.
#
# Installs the SDKs into caches under target/ (checked against the published artifacts' hashes;
# no global installs), builds and starts the sandbox, runs both tests, stops the sandboxes with
# Ctrl-C, prints `N passed, N failed` last, and exits non-zero on any failure.
#
# Needs python3 (with venv), node >= 18 and npm; the first run needs PyPI and the npm registry.
#
# FEISHU_SANDBOX_BIN=PATH uses that sandbox binary instead of building one: in CI, the binary
# `cargo test --workspace --all-features` just built (target/debug/feishu-hire-sandbox), since
# building the sandbox on its own resolves other dependency features and recompiles a part of
# the tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# The SDKs under test, and the hashes their registries publish for exactly these artifacts
# (PyPI's sha256 of the wheel; npm's `dist.integrity` of the tarball).
py_sdk_version=1.7.5
py_sdk_wheel=lark_oapi-1.7.5-py3-none-any.whl
py_sdk_sha256=ff70fd5cdf436e26d80bf903fdd7a80cbdbd71981b87ce4c2aa49bb95fc96020
node_sdk_version=1.74.0
node_sdk_integrity=sha512-K2WoGy6x97u2kPPSFsu0v9X8CY+0q4OwO3rhXiOSRXYjGS7ovydFpEH07AS5VYcBnbQCoc5sGezo0IEGVViuoA==

py_cache=$root/target/sdk-python
node_cache=$root/target/sdk-node
run_dir=$root/target/sdk-run
sandbox_bin=${FEISHU_SANDBOX_BIN:-}

# The tests talk to 127.0.0.1 only, whatever proxy the environment names.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

passed=0
failed=0
sandbox_pids=()

step() { printf '\n== %s ==\n' "$*"; }
finish() {
  printf '\n%s passed, %s failed\n' "$passed" "$failed"
  if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
  exit 0
}
# A step that cannot go on: count it, stop the sandboxes, print the closing line.
give_up() {
  echo "error: $*" >&2
  failed=$((failed + 1))
  stop_sandboxes
  finish
}

install_python_sdk() {
  local venv=$py_cache/venv marker=$py_cache/venv/.verified-$py_sdk_sha256
  if [ -f "$marker" ] && "$venv/bin/python" -c 'import lark_oapi' 2>/dev/null; then
    echo "lark-oapi $py_sdk_version: cached in $venv"
    return 0
  fi
  rm -rf "$py_cache"
  mkdir -p "$py_cache/dist"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    "lark-oapi==$py_sdk_version" -d "$py_cache/dist" || return 1
  local got
  got=$(sha256sum "$py_cache/dist/$py_sdk_wheel" | cut -d' ' -f1) || return 1
  if [ "$got" != "$py_sdk_sha256" ]; then
    echo "lark-oapi: $py_sdk_wheel has sha256 $got, PyPI publishes $py_sdk_sha256" >&2
    return 1
  fi
  python3 -m venv "$venv" || return 1
  # The verified wheel itself; its dependencies come from the index, within its ranges.
  "$venv/bin/python" -m pip install --quiet "$py_cache/dist/$py_sdk_wheel" || return 1
  touch "$marker"
  echo "lark-oapi $py_sdk_version: installed in $venv (wheel sha256 checked)"
}

install_node_sdk() {
  local lock=$node_cache/package-lock.json check
  # The installed SDK is the published tarball: npm checked it against the lock's integrity,
  # and the lock's integrity must be the one pinned here.
  check="const lock = require(process.argv[1]);
    const sdk = (lock.packages || {})['node_modules/@larksuiteoapi/node-sdk'] || {};
    if (sdk.version !== process.argv[2] || sdk.integrity !== process.argv[3]) {
      console.error('@larksuiteoapi/node-sdk in the lock file: ' + sdk.version + ' ' + sdk.integrity);
      process.exit(1);
    }"
  if [ -f "$lock" ] && node -e "$check" "$lock" "$node_sdk_version" "$node_sdk_integrity" 2>/dev/null \
    && [ -f "$node_cache/node_modules/@larksuiteoapi/node-sdk/package.json" ]; then
    echo "@larksuiteoapi/node-sdk $node_sdk_version: cached in $node_cache"
    return 0
  fi
  rm -rf "$node_cache"
  mkdir -p "$node_cache"
  npm install --prefix "$node_cache" --no-audit --no-fund --loglevel=error \
    "@larksuiteoapi/node-sdk@$node_sdk_version" || return 1
  node -e "$check" "$lock" "$node_sdk_version" "$node_sdk_integrity" || return 1
  echo "@larksuiteoapi/node-sdk $node_sdk_version: installed in $node_cache (integrity checked)"
}

# start_sandbox NAME FLAGS...: starts the sandbox binary; sets `started_url` to its base URL.
start_sandbox() {
  local name=$1
  shift
  RUST_LOG=info "$sandbox_bin" --port 0 "$@" >"$run_dir/$name.out" 2>"$run_dir/$name.log" &
  local pid=$!
  sandbox_pids+=("$pid")
  # It prints its base URL as the first line of stdout once it listens.
  for _ in $(seq 1 100); do
    started_url=$(head -n 1 "$run_dir/$name.out" 2>/dev/null || true)
    if [[ $started_url == http://127.0.0.1:* ]]; then
      echo "sandbox $name: $started_url (log: ${run_dir#"$root"/}/$name.log)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$run_dir/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# Ctrl-C each sandbox; one that has not stopped 10 s later is a failure (and is killed).
stop_sandboxes() {
  local pid status
  for pid in "${sandbox_pids[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${sandbox_pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "FAIL sandbox $pid did not stop within 10 s of Ctrl-C" >&2
      kill -KILL "$pid" 2>/dev/null || true
      failed=$((failed + 1))
    fi
    status=0
    wait "$pid" 2>/dev/null || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 137 ]; then
      echo "FAIL sandbox $pid exited with status $status after Ctrl-C" >&2
      failed=$((failed + 1))
    fi
  done
  sandbox_pids=()
}
trap 'stop_sandboxes' EXIT

# run_test NAME COMMAND...: runs a test script and adds its `SUMMARY <passed> <failed>`.
run_test() {
  local name=$1 output summary
  shift
  output=$run_dir/$name.txt
  "$@" 2>&1 | tee "$output" || true
  summary=$(grep '^SUMMARY ' "$output" | tail -n 1 || true)
  if [[ $summary =~ ^SUMMARY\ ([0-9]+)\ ([0-9]+)$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    echo "FAIL $name: the test did not finish (no SUMMARY line)"
    failed=$((failed + 1))
  fi
}

step "Python SDK lark-oapi $py_sdk_version"
install_python_sdk || give_up "could not install lark-oapi $py_sdk_version into ${py_cache#"$root"/}"

step "Node SDK @larksuiteoapi/node-sdk $node_sdk_version"
install_node_sdk || give_up "could not install @larksuiteoapi/node-sdk $node_sdk_version into ${node_cache#"$root"/}"

step "sandbox"
rm -rf "$run_dir"
mkdir -p "$run_dir"
if [ -z "$sandbox_bin" ]; then
  cargo build -p feishu-hire-sandbox --bin feishu-hire-sandbox || give_up "the sandbox does not build"
  sandbox_bin=$root/target/debug/feishu-hire-sandbox
elif [ ! -x "$sandbox_bin" ]; then
  give_up "FEISHU_SANDBOX_BIN=$sandbox_bin is not an executable"
else
  echo "using $sandbox_bin (FEISHU_SANDBOX_BIN)"
fi
# One sandbox that accepts only one app, with Feishu's token lifetime; one whose tokens live
# 1 s, for the token refresh. The rate limit is off: the SDKs do not pace themselves.
export SANDBOX_APP_ID=cli_sdk_main SANDBOX_APP_SECRET=sdk-main-secret
export SANDBOX_TTL_APP_ID=cli_sdk_ttl SANDBOX_TTL_APP_SECRET=sdk-ttl-secret
start_sandbox main --app-id "$SANDBOX_APP_ID" --app-secret "$SANDBOX_APP_SECRET" \
  --no-rate-limit --shutdown-grace-ms 2000 || give_up "the main sandbox did not start"
export SANDBOX_URL=$started_url SANDBOX_LOG=$run_dir/main.log
start_sandbox ttl --app-id "$SANDBOX_TTL_APP_ID" --app-secret "$SANDBOX_TTL_APP_SECRET" \
  --token-ttl-secs 1 --no-rate-limit --shutdown-grace-ms 2000 || give_up "the 1 s token sandbox did not start"
export SANDBOX_TTL_URL=$started_url

step "Python SDK against the sandbox"
run_test python "$py_cache/venv/bin/python" tests/sdk/python/test_lark_oapi.py

step "Node SDK against the sandbox"
NODE_PATH=$node_cache/node_modules run_test node node tests/sdk/node/test_node_sdk.js

step "stopping the sandboxes (Ctrl-C)"
stop_sandboxes
finish
