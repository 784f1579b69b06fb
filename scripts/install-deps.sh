#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test vecsfs. Idempotent: it asks apt
# only for the packages that are missing.
set -euo pipefail

# systemd: for systemd-analyze, which tests/install_scripts.rs verifies the unit with (the
# package only installs programs and units here; it does not become PID 1).
# slapd, ldap-utils: a private OpenLDAP server (and ldapadd/ldapsearch) for the trust sync tests
# (tests/support/slapd.rs); each test runs its own slapd, the package's system one is not used.
packages=(openssl ca-certificates util-linux bc attr fuse3 rsync python3 tar sed coreutils findutils systemd
    slapd ldap-utils)

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
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
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
