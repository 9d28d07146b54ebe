#!/usr/bin/env bash
# Make sure the Debian tools that check deploy/ are installed: promtool (package prometheus:
# check config, check rules, test rules), nginx (nginx -t, and a real proxy in front of our
# servers in tests/deploy) and shellcheck (the deployment's shell scripts). Another engineer's
# script may run apt at the same time: wait for its lock instead of failing.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "deploy-tools.sh: installing Debian's ${missing[*]} for the deployment tests" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq
# The packages' own services must not start (nginx would take port 80, Prometheus 9090): the
# tests run their own nginx on free ports. Debian asks /usr/sbin/policy-rc.d before starting
# one; where none says no (a machine with systemd), one does for this install only.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 0755 /usr/sbin/policy-rc.d
    trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
promtool --version 2>&1 | head -1
/usr/sbin/nginx -v
shellcheck --version | sed -n 2p
