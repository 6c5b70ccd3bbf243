#!/usr/bin/env bash
# Make sure the Debian packages Concord needs are installed.
#
# They are what pip needs to build the Python dependencies (libvirt-python is
# published as source only) and what the tests need to run real components
# (libvirtd with QEMU, MariaDB). The script is idempotent and, when nothing is
# missing, a quick no-op, so `make` calls it on every run:
#
#   as root:     installs what is missing (`apt-get update` once, then `apt-get install -y`)
#   not root:    prints the command to run and exits 1 if anything is missing
#
# CONCORD_SKIP_SYSTEM_BOOTSTRAP=1 skips it all, for systems provisioned another way.
#
#   bootstrap-system.sh [serve|test] [--list]
#
# `serve` (what `make serve` asks for) is what the demo needs: the build
# dependencies, and curl for the documentation's examples; its simulated hosts
# are libvirt's in-process test driver, with no daemon. `test` (the default:
# `make test`, .ci/run) adds libvirtd with QEMU and MariaDB, which the
# integration tests run. `--list` prints the profile's packages and exits.
set -euo pipefail

PROFILE=test
LIST=0
for arg in "$@"; do
    case "$arg" in
        serve | test) PROFILE="$arg" ;;
        --list) LIST=1 ;;
        *)
            echo "bootstrap-system: unknown argument '$arg' (serve, test, --list)" >&2
            exit 2
            ;;
    esac
done

PACKAGES=(
    # Building C extensions: libvirt-python always; lxml and argon2-cffi only when
    # pip finds no wheel for this platform.
    gcc pkg-config python3-dev libvirt-dev libxml2-dev libxslt1-dev libffi-dev
    # `python3 -m venv` with Debian's own python3.
    python3-venv
    # The documentation's examples talk to the demo with curl.
    curl
    # Reverse proxies: tests/integration/test_proxies.py validates and runs the
    # example configurations of docs/security.rst (docs/examples/) with them.
    # The tests start their own processes; where an init system runs, Debian
    # also starts the packaged services on install (stop them if unwanted).
    nginx-light haproxy
)
if [[ "$PROFILE" == test ]]; then
    PACKAGES+=(
        # The hypervisor: libvirtd and its QEMU driver, virsh, QEMU (TCG is enough),
        # and qemu-img, which libvirt storage pools use to create volumes.
        libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
        # The production database; .ci/run starts it for the MariaDB tests.
        mariadb-server mariadb-client
        # The IPMI fencer's client (engine/drivers/fencing/ipmi.py) and its tests.
        ipmitool
    )
fi

if ((LIST)); then
    printf '%s\n' "${PACKAGES[@]}"
    exit 0
fi

if [[ "${CONCORD_SKIP_SYSTEM_BOOTSTRAP:-}" == 1 ]]; then
    echo "bootstrap-system: skipped (CONCORD_SKIP_SYSTEM_BOOTSTRAP=1)"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "bootstrap-system: not a Debian-like system; cannot check packages." >&2
    echo "bootstrap-system: make sure the equivalents of these are installed:" >&2
    echo "    ${PACKAGES[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query --show --showformat='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    if ((EUID != 0)); then
        echo "bootstrap-system: these Debian packages are missing:" >&2
        echo "    ${missing[*]}" >&2
        echo "bootstrap-system: install them (as root), then run make again:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "bootstrap-system: installing ${missing[*]}"
    # No terminal in CI: never let a package ask a question. Recommended packages
    # are left out: none of them is needed here.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# QEMU guests run as libvirt-qemu in Debian's default configuration, and device
# nodes belong to group kvm; the full libvirt-daemon-system package would create
# these, but it also installs services we do not want, so create them here.
if ((EUID == 0)) && [[ "$PROFILE" == test ]]; then
    getent group kvm >/dev/null || groupadd --system kvm
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    getent passwd libvirt-qemu >/dev/null ||
        useradd --system --gid libvirt-qemu --groups kvm --no-create-home \
            --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu
fi

echo "bootstrap-system: system packages for $PROFILE OK"
