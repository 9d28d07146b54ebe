#!/usr/bin/env bash
# `make image`: build the project's OCI image (Containerfile) with Debian's podman.
#
#   scripts/image.sh          build localhost/webhook-actions:latest (WEBHOOKS_IMAGE names
#                             another tag); podman's layer cache makes a second build quick
#   scripts/image.sh probe    can this machine build and run containers? Exit 0 if so, else 1
#                             with the reason (.ci/run asks before `make image-test`)
#
# Installs Debian's podman, runc and debootstrap when missing. No image registry is reachable
# from our machines, so the base is Debian bookworm made by debootstrap (minbase), kept in
# ~/.cache/webhook-actions and imported into podman once; anyone else builds FROM the official
# debian:bookworm-slim (the Containerfile's default BASE). Nothing global is written: podman
# reads deploy/image/containers.conf through CONTAINERS_CONF (runc, no default ulimits).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}
cache=${WEBHOOKS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/webhook-actions}
image=${WEBHOOKS_IMAGE:-localhost/webhook-actions:latest}
suite=bookworm
mirror=http://deb.debian.org/debian
base=localhost/debian:$suite-debootstrap
export CONTAINERS_CONF=$PWD/deploy/image/containers.conf

say() { echo "image.sh: $*" >&2; }

install_tools() {
    local missing=()
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v runc >/dev/null 2>&1 || missing+=(runc)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    if ((${#missing[@]} == 0)); then return 0; fi
    say "installing Debian's ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    # Another apt may be running on a shared machine: wait for its lock rather than fail.
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    "${apt[@]}" update -qq
    "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The base image: debootstrap's tree, cached by suite, variant and architecture (delete the
# folder to take Debian's newer packages), imported when podman lacks it. Trimmed as Docker's
# debian:bookworm-slim is (no downloaded packages, package lists, manuals or translations), so
# the image measured here is the image built elsewhere.
ensure_base() {
    if podman image exists "$base"; then return 0; fi
    local arch dir
    arch=$(dpkg --print-architecture)
    dir="$cache/debootstrap/$suite-minbase-$arch"
    if [ ! -f "$dir.complete" ]; then
        say "debootstrap $suite (minbase, $arch) into $dir (about half a minute)"
        rm -rf "$dir"
        mkdir -p "$dir"
        debootstrap --variant=minbase "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 \
            || { say "debootstrap failed; see $dir.log"; exit 1; }
        rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/cache/apt/*.bin \
            "$dir"/var/lib/apt/lists/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
            "$dir"/usr/share/locale/*
        find "$dir/usr/share/doc" -type f ! -name copyright -delete
        touch "$dir.complete"
    fi
    say "importing $dir as $base"
    tar -C "$dir" -c . | podman import --quiet - "$base" >/dev/null
}

probe() {
    if ! install_tools 2>&1; then
        echo "cannot install podman, runc and debootstrap from Debian's packages"
        return 1
    fi
    local out
    if ! out=$(ensure_base 2>&1); then
        echo "cannot make the Debian base image: $(tail -3 <<<"$out")"
        return 1
    fi
    if ! out=$(podman run --rm --network none "$base" true 2>&1); then
        echo "podman cannot run a container here (runtime runc, $CONTAINERS_CONF): $(tail -3 <<<"$out")"
        return 1
    fi
}

case $mode in
probe)
    if ! reason=$(probe); then
        say "this machine cannot run containers: $reason"
        exit 1
    fi
    say "podman runs containers here ($(podman --version), runtime runc)"
    ;;
build)
    install_tools
    ensure_base
    start=$(date +%s)
    # --network host: the build's apt-get and npm reach Debian's and npm's registries without
    # a container network (none is set up here). Labels say which commit this is.
    # The machine's CA bundle goes in as the build secret `ca` (never into a layer): our
    # machines reach PyPI and npm through a proxy that re-signs TLS.
    secret=()
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
        secret=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
    fi
    podman build --format docker --network host --jobs 2 "${secret[@]}" \
        --build-arg BASE="$base" \
        --build-arg VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)" \
        --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
        --build-arg CREATED="$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)" \
        -f Containerfile -t "$image" .
    size=$(podman image inspect --format '{{.Size}}' "$image")
    say "built $image: $((size / 1000000)) MB, in $(($(date +%s) - start)) s"
    ;;
*)
    echo "usage: scripts/image.sh [build|probe]" >&2
    exit 2
    ;;
esac
