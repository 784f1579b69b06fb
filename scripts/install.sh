#!/usr/bin/env bash
# Installs vecsfs: the binaries, the mount(8) helper where mount finds it, the systemd unit, the
# database directory and the mountpoint. Idempotent: files that are already right are left
# alone. It neither enables nor starts anything; it prints how to.
set -euo pipefail
umask 022 # directories created on the way (share/doc, ...) readable by all, whatever root's umask

usage() {
    cat <<'EOF'
Usage: sudo bash scripts/install.sh [--no-build] [--help]

Builds the release binaries if they are missing or older than the sources, then installs:
  $PREFIX/bin/vecs-cli             the admin CLI
  $PREFIX/sbin/vecsfs              the mount daemon
  $PREFIX/sbin/mount.vecs          the mount(8) helper (`mount -t vecs`, fstab type `vecs`),
                                   linked from /sbin (or /usr/sbin) unless installed there
  $PREFIX/share/doc/vecsfs/README.md
  /etc/systemd/system/vecsfs.service   (not enabled, not started)
  /var/lib/vecs/                   the database's directory, 0700 (an existing database is kept)
  /etc/vecs/                       the mountpoint

Options:
  --no-build   install the binaries as they are; fail if one is missing
  --help       print this

Environment:
  PREFIX=/usr/local      where the binaries go
  DESTDIR=               a staging root prepended to every path (for packaging); with it,
                         systemd is not told about the unit
  VECSFS_BUILD_DIR=DIR   take the binaries from DIR instead of cargo's release directory
                         (${CARGO_TARGET_DIR:-target}/release), as they are: no build

Undo with scripts/uninstall.sh (same PREFIX and DESTDIR).
EOF
}

die() {
    echo "install: $*" >&2
    exit 1
}

build=yes
for arg in "$@"; do
    case "$arg" in
        --no-build) build=no ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

# Resolve a build directory given relative to where the script was called from, before the cd.
if [[ -n "${VECSFS_BUILD_DIR:-}" ]]; then
    builddir=$(realpath -m -- "$VECSFS_BUILD_DIR")
    build=no
fi
cd "$(dirname "$0")/.."
repo=$PWD
: "${builddir:=$(realpath -m -- "${CARGO_TARGET_DIR:-target}/release")}"

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/} # "/" becomes "", so that $PREFIX/sbin is /sbin, not //sbin
[[ -z "$PREFIX" || "$PREFIX" == /* ]] || die "PREFIX must be an absolute path: $PREFIX"
DESTDIR=${DESTDIR%/}
bindir=$PREFIX/bin
sbindir=$PREFIX/sbin
docdir=$PREFIX/share/doc/vecsfs
unitdir=/etc/systemd/system

# Files under / must be root's; a staging root (DESTDIR) may be built by anyone, and the
# package that ships it sets the owners.
is_root=no
[[ $(id -u) -eq 0 ]] && is_root=yes
[[ -n "$DESTDIR" || $is_root == yes ]] || die "run as root (sudo bash scripts/install.sh), or set DESTDIR to stage"
owner=()
[[ $is_root == yes ]] && owner=(-o root -g root)

# As cargo names them. The helper is built as mount-vecs (a crate name cannot hold a dot) and
# installed as mount.vecs; a build dir that has mount.vecs already is taken as it is.
pick_binaries() {
    helper_built=mount-vecs
    [[ ! -e "$builddir/$helper_built" && -e "$builddir/mount.vecs" ]] && helper_built=mount.vecs
    binaries=(vecs-cli vecsfs "$helper_built")
}
pick_binaries

# --- build ------------------------------------------------------------------------------------
# Stale: a binary is missing, or a source (Rust code, manifests, the lock file) is newer than
# the oldest binary.
needs_build() {
    local oldest="" b
    for b in "${binaries[@]}"; do
        [[ -x "$builddir/$b" ]] || return 0
        if [[ -z "$oldest" || "$builddir/$b" -ot "$oldest" ]]; then oldest=$builddir/$b; fi
    done
    local newer
    newer=$(find Cargo.toml Cargo.lock src mount-helper -newer "$oldest" \
        \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -print -quit 2>/dev/null || true)
    [[ -n "$newer" ]]
}

if [[ $build == yes ]] && needs_build; then
    source scripts/install-deps.sh # finds cargo (also under sudo) and the build's packages
    echo "install: building the release binaries" >&2
    cargo build --release --locked --bins --workspace
    pick_binaries
fi
for b in "${binaries[@]}"; do
    [[ -x "$builddir/$b" ]] || die "$builddir/$b is missing: build it with \`cargo build --release --locked --bins --workspace\` (or run without --no-build)"
done

# --- where mount(8) finds the helper -------------------------------------------------------------
# mount(8) runs /sbin/mount.<type> (or /sbin/fs.d/, /sbin/fs/). On a merged-/usr system /sbin
# is a symlink to usr/sbin: the link then goes into usr/sbin, not through the symlink (which,
# under DESTDIR, would point outside the staging root).
if [[ -L "$DESTDIR/sbin" || (! -e "$DESTDIR/sbin" && -d "$DESTDIR/usr/sbin") ]]; then
    helper_link_dir=/usr/sbin
else
    helper_link_dir=/sbin
fi
helper_target=$sbindir/mount.vecs
helper_link=""
if [[ "$sbindir" != "$helper_link_dir" && "$sbindir" != /sbin ]]; then
    helper_link=$helper_link_dir/mount.vecs
    # Checked before anything is installed: another program's helper is never replaced.
    existing=$DESTDIR$helper_link
    if [[ -L "$existing" ]]; then
        case "$(readlink -- "$existing")" in
            "$helper_target" | */sbin/mount.vecs) ;; # ours (maybe from another PREFIX): replaced
            *) die "$existing is a symlink to $(readlink -- "$existing"), not to a vecsfs mount.vecs: remove it, or install with PREFIX=/usr" ;;
        esac
    elif [[ -e "$existing" ]]; then
        die "$existing exists and is not a symlink to vecsfs: remove it, or install with PREFIX=/usr"
    fi
fi

# --- install ------------------------------------------------------------------------------------
summary=()
note() { summary+=("$(printf '  %-10s %s' "$1" "$2")"); }

# Creates a missing directory (and its parents) 0755; an existing one keeps its mode and owner
# (Debian's /usr/local/* may be 2775 root:staff on purpose).
make_dir() {
    [[ -d "$1" ]] || install -d -m 0755 "${owner[@]}" -- "$1"
}

# Installs $1 as $3 with mode $2, atomically: written under a temporary name in the same
# directory, then renamed over the old file, so that a running daemon's binary (or systemd
# reading the unit) never sees a half-written file. An identical file is left alone.
install_file() {
    local src=$1 mode=$2 dest=$DESTDIR$3
    if [[ -f "$dest" && ! -L "$dest" ]] && cmp -s -- "$src" "$dest" &&
        [[ $(stat -c %a -- "$dest") == "${mode#0}" ]] &&
        [[ $is_root == no || $(stat -c %u:%g -- "$dest") == 0:0 ]]; then
        note unchanged "$3"
        return
    fi
    make_dir "$(dirname -- "$dest")"
    local tmp
    tmp=$(mktemp -- "$(dirname -- "$dest")/.$(basename -- "$dest").XXXXXX")
    install -m "$mode" "${owner[@]}" -- "$src" "$tmp" || { rm -f -- "$tmp"; die "cannot write $dest"; }
    mv -f -- "$tmp" "$dest"
    note installed "$3"
}

install_file "$builddir/vecs-cli" 0755 "$bindir/vecs-cli"
install_file "$builddir/vecsfs" 0755 "$sbindir/vecsfs"
install_file "$builddir/$helper_built" 0755 "$sbindir/mount.vecs"
install_file "$repo/README.md" 0644 "$docdir/README.md"

if [[ -n "$helper_link" ]]; then
    link=$DESTDIR$helper_link
    if [[ -L "$link" && "$(readlink -- "$link")" == "$helper_target" ]]; then
        note unchanged "$helper_link -> $helper_target"
    else
        make_dir "$(dirname -- "$link")"
        ln -sfn -- "$helper_target" "$link.vecsfs-new"
        mv -fT -- "$link.vecsfs-new" "$link"
        note linked "$helper_link -> $helper_target"
    fi
fi

unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed -e "s|@SBINDIR@|$sbindir|g" -e "s|@DOCDIR@|$docdir|g" systemd/vecsfs.service.in >"$unit"
install_file "$unit" 0644 "$unitdir/vecsfs.service"

# The database's directory: private (the database holds private keys). An existing database
# is never touched; a directory others could read is tightened.
dbdir=$DESTDIR/var/lib/vecs
if [[ ! -d "$dbdir" ]]; then
    install -d -m 0700 "${owner[@]}" -- "$dbdir"
    note created "/var/lib/vecs (0700)"
elif [[ $(stat -c %a -- "$dbdir") != 700 ]]; then
    was=$(stat -c %a -- "$dbdir")
    chmod 0700 -- "$dbdir"
    note tightened "/var/lib/vecs to 0700 (was $was)"
else
    note unchanged "/var/lib/vecs"
fi
# The mountpoint. Left alone if it exists: it may be mounted right now.
if [[ ! -d "$DESTDIR/etc/vecs" ]]; then
    install -d -m 0755 "${owner[@]}" -- "$DESTDIR/etc/vecs"
    note created "/etc/vecs (the mountpoint)"
else
    note unchanged "/etc/vecs"
fi

# systemd re-reads units on daemon-reload; only a running systemd (it creates
# /run/systemd/system at boot) can, and never for a staging root.
systemd_running=no
[[ -z "$DESTDIR" && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 && systemd_running=yes
if [[ $systemd_running == yes ]]; then
    systemctl daemon-reload
    note reloaded "systemd (daemon-reload)"
fi

echo "vecsfs installed${DESTDIR:+ under $DESTDIR}:"
printf '%s\n' "${summary[@]}"
if [[ $systemd_running == yes ]] && systemctl -q is-active vecsfs.service 2>/dev/null; then
    echo "vecsfs.service is running the previous binary: \`systemctl restart vecsfs.service\` (remounts /etc/vecs)"
fi
cat <<EOF

Next, mount /var/lib/vecs/vecs.db at /etc/vecs at boot in ONE of two ways (not both):
  systemd:  systemctl enable --now vecsfs.service
  fstab:    echo '/var/lib/vecs/vecs.db  /etc/vecs  vecs  defaults  0  0' >> /etc/fstab
            mount /etc/vecs
Health:     $sbindir/vecsfs status /etc/vecs
Admin CLI:  $bindir/vecs-cli store list
EOF
