#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test vecsfs. Idempotent: it asks apt
# only for the packages that are missing.
set -euo pipefail

# systemd: for systemd-analyze, which tests/install_scripts.rs verifies the unit with (the
# package only installs programs and units here; it does not become PID 1).
# slapd, ldap-utils: a private OpenLDAP server (and ldapadd/ldapsearch) for the trust sync tests
# (tests/support/slapd.rs); each test runs its own slapd, the package's system one is not used.
# util-linux-extra: fincore (page cache checks); mount: mount(8)/umount(8) for the helper tests.
# curl, nginx: TLS clients and a server of the CApath and bundle tests (tests/capath.rs,
# tests/nginx.rs); each test runs its own nginx, the package's system one is not started.
packages=(openssl ca-certificates util-linux util-linux-extra mount bc attr fuse3 rsync python3 tar sed
    coreutils findutils systemd slapd ldap-utils curl nginx)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: missing packages ${missing[*]}: run as root (or install them)" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # slapd's postinst would ask for an admin password and configure a system database: tell
    # debconf to configure none (the tests write their own slapd.conf).
    if [[ " ${missing[*]} " == *" slapd "* ]]; then
        echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    fi
    # Packages must not start their system services (nginx on port 80, slapd): the tests run
    # their own. policy-rc.d is Debian's switch for that; ours is removed right after.
    policy=/usr/sbin/policy-rc.d
    placed_policy=false
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && placed_policy=true
    fi
    apt-get update -qq
    installed=0
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null || installed=$?
    if $placed_policy; then rm -f "$policy"; fi
    ((installed == 0)) || exit "$installed"
fi

if ! command -v cargo >/dev/null 2>&1; then
    for candidate in "$HOME/.cargo/bin" /usr/local/cargo/bin; do
        [[ -x "$candidate/cargo" ]] && export PATH="$candidate:$PATH"
    done
fi
command -v cargo >/dev/null 2>&1 || {
    echo "install-deps: no Rust toolchain (cargo) found; install stable Rust with rustup" >&2
    exit 1
}
