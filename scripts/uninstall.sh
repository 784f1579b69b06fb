#!/usr/bin/env bash
# Undoes scripts/install.sh (same PREFIX and DESTDIR): stops and disables the service, removes
# the binaries, the mount(8) helper's link, the unit and the README. Keeps the database
# (/var/lib/vecs) unless --purge. Idempotent: what is already gone is skipped.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: sudo bash scripts/uninstall.sh [--force] [--purge] [--help]

Removes what scripts/install.sh installed. Refuses while /etc/vecs is mounted (stop it first:
`systemctl stop vecsfs.service` or `umount /etc/vecs`). Keeps /var/lib/vecs, the database.

Options:
  --force   unmount /etc/vecs first (stopping vecsfs.service; `umount`, else `umount -l`)
  --purge   also delete /var/lib/vecs: every store, certificate and key, without asking
  --help    print this

Environment: PREFIX (default /usr/local) and DESTDIR (default empty), as given to install.sh.
EOF
}

die() {
    echo "uninstall: $*" >&2
    exit 1
}

force=no
purge=no
for arg in "$@"; do
    case "$arg" in
        --force) force=yes ;;
        --purge) purge=yes ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
[[ -z "$PREFIX" || "$PREFIX" == /* ]] || die "PREFIX must be an absolute path: $PREFIX"
sbindir=$PREFIX/sbin
unit=/etc/systemd/system/vecsfs.service
[[ -n "$DESTDIR" || $(id -u) -eq 0 ]] || die "run as root (sudo bash scripts/uninstall.sh)"

# As mountinfo shows it: symlinks resolved. Only the parent is resolved, because stat on a
# mount whose daemon died fails (ENOTCONN).
mountpoint=$(realpath -m -- "$DESTDIR/etc")/vecs

# Whether a vecsfs mount (fstype fuse.vecs) sits at the mountpoint. mountinfo's fifth field is
# the mountpoint with space, tab, newline and backslash escaped as \ooo (proc(5)); the fstype
# follows the " - " separator.
is_mounted() {
    awk -v want="$mountpoint" '
        function unescape(s,   out, i, c) {
            out = ""
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c == "\\" && substr(s, i + 1, 3) ~ /^[0-7][0-7][0-7]$/) {
                    out = out sprintf("%c", (substr(s, i + 1, 1) * 64) + (substr(s, i + 2, 1) * 8) + substr(s, i + 3, 1))
                    i += 3
                } else {
                    out = out c
                }
            }
            return out
        }
        {
            for (sep = 7; sep <= NF && $sep != "-"; sep++) {}
            if (unescape($5) == want && $(sep + 1) == "fuse.vecs") { found = 1; exit }
        }
        END { exit found ? 0 : 1 }
    ' /proc/self/mountinfo
}

systemd_running=no
[[ -z "$DESTDIR" && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 && systemd_running=yes

# --- the mount -------------------------------------------------------------------------------------
# Services read their certificates there: pulling it away is for --force only.
if is_mounted; then
    [[ $force == yes ]] || die "$mountpoint is mounted by vecsfs: stop it first (\`systemctl stop vecsfs.service\` or \`umount $mountpoint\`), or pass --force"
    if [[ $systemd_running == yes ]] && systemctl -q is-active vecsfs.service 2>/dev/null; then
        echo "uninstall: stopping vecsfs.service" >&2
        timeout 60 systemctl stop vecsfs.service || true
    fi
    if is_mounted; then
        echo "uninstall: unmounting $mountpoint" >&2
        # A busy mount (open files, a shell in it) cannot be unmounted: detach it lazily, it
        # goes once the last user lets go.
        timeout 30 umount -- "$mountpoint" 2>/dev/null || timeout 30 umount -l -- "$mountpoint" ||
            die "cannot unmount $mountpoint"
    fi
fi

removed=()
note() { removed+=("$(printf '  %-9s %s' "$1" "$2")"); }

# --- the service -------------------------------------------------------------------------------------
if [[ $systemd_running == yes && -e "$unit" ]]; then
    timeout 60 systemctl disable --now vecsfs.service 2>/dev/null || true
    note disabled "vecsfs.service"
fi
# Without a running systemd (a chroot, a staging root), remove the link `enable` made.
wants=$DESTDIR/etc/systemd/system/local-fs.target.wants/vecsfs.service
if [[ -L "$wants" && "$(readlink -- "$wants")" == "$unit" ]]; then
    rm -f -- "$wants"
    note removed "/etc/systemd/system/local-fs.target.wants/vecsfs.service"
fi

# --- files -------------------------------------------------------------------------------------
remove() {
    if [[ -e "$DESTDIR$1" || -L "$DESTDIR$1" ]]; then
        rm -f -- "$DESTDIR$1"
        note removed "$1"
    fi
}
# The mount(8) helper's link: in /sbin or /usr/sbin (see install.sh), and only if it is ours.
# On a merged-/usr system both names are one file: the second check finds it gone.
for link in /sbin/mount.vecs /usr/sbin/mount.vecs; do
    if [[ -L "$DESTDIR$link" && "$(readlink -- "$DESTDIR$link")" == "$sbindir/mount.vecs" ]]; then
        remove "$link"
    fi
done
remove "$PREFIX/bin/vecs-cli"
remove "$sbindir/vecsfs"
remove "$sbindir/mount.vecs"
remove "$PREFIX/share/doc/vecsfs/README.md"
rmdir -- "$DESTDIR$PREFIX/share/doc/vecsfs" 2>/dev/null || true
remove "$unit"
if [[ $systemd_running == yes ]]; then
    systemctl daemon-reload
fi

# The mountpoint goes only if nothing was left in it.
if [[ -d "$DESTDIR/etc/vecs" && ! -L "$DESTDIR/etc/vecs" ]]; then
    if rmdir -- "$DESTDIR/etc/vecs" 2>/dev/null; then
        note removed "/etc/vecs (empty mountpoint)"
    else
        note kept "/etc/vecs (not empty)"
    fi
fi

# The database.
if [[ -e "$DESTDIR/var/lib/vecs" ]]; then
    if [[ $purge == yes ]]; then
        rm -rf -- "$DESTDIR/var/lib/vecs"
        note purged "/var/lib/vecs (the database)"
    else
        note kept "/var/lib/vecs (the database; --purge deletes it)"
    fi
fi

echo "vecsfs uninstalled${DESTDIR:+ under $DESTDIR}:"
if ((${#removed[@]})); then
    printf '%s\n' "${removed[@]}"
else
    echo "  nothing was installed"
fi
if grep -qsE '^[^#]*[[:space:]]vecs[[:space:]]' "$DESTDIR/etc/fstab"; then
    echo "/etc/fstab still mounts a vecs filesystem: remove that line, mount(8) no longer can"
fi
