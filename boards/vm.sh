# Sourced by boards/boot-test and boards/footprint after board.sh: boots the board's CPU
# under qemu-system (software emulation) with a Debian kernel and a busybox initramfs whose
# only service is parlor, and forwards the guest's SIP (UDP+TCP), MSRP and a small probe
# port to 127.0.0.1 on the host.
#
#   boot_guest BINARY PARLOR-ARGS...   boots; returns once parlor listens in the guest
#   guest_probe rss|stop               asks the guest's probe (VmRSS/VmHWM lines, or SIGTERM)
#   stop_guest                         SIGTERM to parlor, waits for its exit status, poweroff
#
# After boot_guest: HOST_SIP (127.0.0.1:PORT, UDP and TCP), HOST_MSRP (127.0.0.1:PORT),
# GUEST_MSRP (the address parlor puts into a=path), GUEST_LOG (the serial console).
# The kernel and busybox .debs are downloaded once with apt-get into $PARLOR_BOARDS_CACHE
# (default target/boards-cache); only loopback ports are used on the host.

GUEST_IP=10.0.2.15
GUEST_SIP_PORT=5060
GUEST_MSRP_PORT=2855
GUEST_PROBE_PORT=7070
VM_MARK='##parlor-vm##'
VM_CACHE=${PARLOR_BOARDS_CACHE:-$REPO/target/boards-cache}
VM_DIR=""
VM_PID=""


# port_in_use PORT: whether a TCP or UDP socket on the host already has that port.
port_in_use() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" 'FNR > 1 && substr($2, length($2) - 4) == p {found = 1} END {exit !found}' \
        /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null
}

# free_port: a port that is free on the host for TCP and UDP alike.
free_port() {
    local i port
    for ((i = 0; i < 50; i++)); do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" || { printf '%s\n' "$port"; return 0; }
    done
    die "no free loopback port found"
}

# fetch_deb PACKAGE:ARCH: the path of its .deb in the cache, downloading it when missing.
fetch_deb() {
    local pkg=$1 version file
    version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
    [ -n "$version" ] || die "apt knows no $pkg: run 'dpkg --add-architecture ${pkg#*:} && apt-get update'"
    mkdir -p "$VM_CACHE/debs"
    file=$VM_CACHE/debs/${pkg%%:*}_${version//:/%3a}_${pkg#*:}.deb
    if [ ! -s "$file" ]; then
        say "downloading $pkg $version"
        (cd "$VM_CACHE/debs" && apt-get -q -o Acquire::Retries=3 -o APT::Sandbox::User=root \
            download "$pkg=$version" >&2) || die "apt-get download $pkg failed"
    fi
    printf '%s\n' "$file"
}

# unpack_deb FILE: a directory holding the package's files (unpacked once).
unpack_deb() {
    local dir=$VM_CACHE/unpacked/$(basename "$1" .deb)
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir.tmp" && dpkg-deb -x "$1" "$dir.tmp" && mv "$dir.tmp" "$dir"
    fi
    printf '%s\n' "$dir"
}

# copy_module NAME MODDIR DEST: copies a kernel module and (first) the modules it depends
# on into DEST, uncompressed, appending each name to VM_MODULE_ORDER; built-ins are skipped.
declare -A VM_MODULE_SEEN=()
VM_MODULE_ORDER=()
copy_module() {
    local name=${1//-/_} moddir=$2 dest=$3 file deps dep
    [ -n "${VM_MODULE_SEEN[$name]:-}" ] && return 0
    VM_MODULE_SEEN[$name]=1
    file=$(find "$moddir" -name "$name.ko*" -o -name "${name//_/-}.ko*" | head -n1)
    if [ -z "$file" ]; then
        grep -q "/${name}\.ko$\|/${name//_/-}\.ko$" "$moddir/modules.builtin" 2>/dev/null && return 0
        die "kernel module $name is neither a module nor built in"
    fi
    case $file in
        *.xz) xz -dc "$file" > "$dest/$name.ko" ;;
        *.zst) zstd -dc "$file" > "$dest/$name.ko" ;;
        *) cp "$file" "$dest/$name.ko" ;;
    esac
    deps=$(tr '\0' '\n' < "$dest/$name.ko" | sed -n 's/^depends=//p')
    local IFS=,
    for dep in $deps; do copy_module "$dep" "$moddir" "$dest"; done
    VM_MODULE_ORDER+=("$name")
}

# write_init FILE PARLOR-ARGS...: the guest's /init, run by the kernel as PID 1.
write_init() {
    local file=$1 args="" a
    shift
    for a in "$@"; do args+=" '${a//\'/\'\\\'\'}'"; done
    cat > "$file" <<EOF
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "$VM_MARK FAIL \$*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
for m in ${VM_MODULE_ORDER[*]}; do insmod /lib/modules/\$m.ko || fail "insmod \$m"; done
ip link set lo up || fail lo
i=0
while [ ! -e /sys/class/net/eth0 ]; do
    i=\$((i + 1)); [ \$i -gt 200 ] && fail "no eth0"; sleep 0.05
done
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0 || fail eth0
/app/parlor$args &
echo \$! > /tmp/parlor.pid
nc -ll -p $GUEST_PROBE_PORT -e /bin/probe &
wait \$(cat /tmp/parlor.pid)
echo "$VM_MARK EXIT \$?"
poweroff -f
EOF
    chmod 0755 "$file"
}

# write_probe FILE: answers one command per connection: `rss` prints parlor's resident
# size (as a VmRSS line, from smaps_rollup) and VmHWM (kB), `stop` sends it SIGTERM.
write_probe() {
    cat > "$1" <<'EOF'
#!/bin/busybox sh
read -r command
pid=$(cat /tmp/parlor.pid)
case $command in
    # Rss from smaps_rollup walks the page tables; status's VmRSS comes from counters a
    # 6.1 kernel syncs only every 64 page faults, so it can lag by megabytes.
    rss) awk '/^Rss:/ {print "VmRSS: " $2 " kB"}' "/proc/$pid/smaps_rollup"
         grep '^VmHWM:' "/proc/$pid/status" ;;
    stop) kill -TERM "$pid" && echo stopping ;;
    *) echo "unknown command" ;;
esac
EOF
    chmod 0755 "$1"
}

# boot_guest BINARY PARLOR-ARGS...
boot_guest() {
    local binary=$1
    shift
    [ -n "$BOOT_EMULATOR" ] || die "board $BOARD has no qemu-system boot recipe (boot_* keys empty)"
    command -v "$BOOT_EMULATOR" >/dev/null || die "$BOOT_EMULATOR not found: install qemu-system-arm"
    command -v cpio >/dev/null || die "cpio not found: install cpio"
    local kpkg kdeb bdeb kdir bdir kernel moddir f
    kpkg=$(apt-cache depends "$BOOT_KERNEL_PACKAGE:$BOOT_DEB_ARCH" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ {print $2; exit}')
    kpkg=${kpkg%%:*}
    [ -n "$kpkg" ] || die "apt knows no $BOOT_KERNEL_PACKAGE:$BOOT_DEB_ARCH (dpkg --add-architecture $BOOT_DEB_ARCH; apt-get update)"
    kdeb=$(fetch_deb "$kpkg:$BOOT_DEB_ARCH")
    bdeb=$(fetch_deb "busybox-static:$BOOT_DEB_ARCH")
    kdir=$(unpack_deb "$kdeb")
    bdir=$(unpack_deb "$bdeb")
    kernel="" moddir=""
    for f in "$kdir"/boot/vmlinuz-*; do [ -f "$f" ] && kernel=$f; done
    for f in "$kdir"/lib/modules/*/ "$kdir"/usr/lib/modules/*/; do [ -d "$f" ] && moddir=$f; done
    [ -n "$kernel" ] && [ -n "$moddir" ] || die "$kdeb has no kernel or modules"

    VM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/parlor-vm.XXXXXX")
    local root=$VM_DIR/root
    mkdir -p "$root"/{app,bin,dev,lib/modules,proc,sys,tmp}
    cp "$bdir/bin/busybox" "$root/bin/busybox"
    cp "$binary" "$root/app/parlor"
    # The virtio drivers the guest needs (Debian builds them as modules) and the devices.
    local m net_device rng_device
    case $BOOT_BUS in
        mmio) net_device=virtio-net-device rng_device=virtio-rng-device ;;
        pci) net_device=virtio-net-pci,romfile= rng_device=virtio-rng-pci ;;  # no option ROM: nothing boots from the NIC
        *) die "boards/$BOARD.toml: boot_bus must be mmio or pci" ;;
    esac
    for m in "virtio_$BOOT_BUS" virtio_net virtio_rng; do
        copy_module "$m" "$moddir" "$root/lib/modules"
    done
    write_init "$root/init" "$@"
    write_probe "$root/bin/probe"
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) > "$VM_DIR/initrd.cpio"

    local sip_port msrp_port probe_port
    sip_port=$(free_port)
    msrp_port=$(free_port)
    probe_port=$(free_port)
    HOST_SIP=127.0.0.1:$sip_port
    HOST_MSRP=127.0.0.1:$msrp_port
    HOST_PROBE_PORT=$probe_port
    GUEST_MSRP=$GUEST_IP:$GUEST_MSRP_PORT
    GUEST_LOG=$VM_DIR/console.log
    local forwards="hostfwd=udp:127.0.0.1:$sip_port-:$GUEST_SIP_PORT"
    forwards+=",hostfwd=tcp:127.0.0.1:$sip_port-:$GUEST_SIP_PORT"
    forwards+=",hostfwd=tcp:127.0.0.1:$msrp_port-:$GUEST_MSRP_PORT"
    forwards+=",hostfwd=tcp:127.0.0.1:$probe_port-:$GUEST_PROBE_PORT"
    # No default route and no DNS in the guest: it reaches nothing but the forwards.
    "$BOOT_EMULATOR" -nodefaults -no-user-config -M "$BOOT_MACHINE" -cpu "$BOOT_CPU" \
        -smp 1 -m "${PARLOR_VM_MEM:-256M}" -display none -no-reboot \
        -kernel "$kernel" -initrd "$VM_DIR/initrd.cpio" \
        -append "console=$BOOT_CONSOLE quiet loglevel=3 panic=-1" \
        -serial "file:$GUEST_LOG" \
        -netdev "user,id=n0,$forwards" -device "$net_device,netdev=n0" \
        -device "$rng_device" 2> "$VM_DIR/emulator.err" &
    VM_PID=$!
    trap 'kill_guest' EXIT
    local started=$SECONDS
    while ! grep -q '^parlor listening' "$GUEST_LOG" 2>/dev/null; do
        if ! kill -0 "$VM_PID" 2>/dev/null || grep -q "$VM_MARK" "$GUEST_LOG" 2>/dev/null; then
            show_guest_log
            die "the guest stopped before parlor listened"
        fi
        if [ $((SECONDS - started)) -gt "${PARLOR_VM_BOOT_TIMEOUT:-120}" ]; then
            show_guest_log
            die "parlor did not listen within ${PARLOR_VM_BOOT_TIMEOUT:-120} s"
        fi
        sleep 0.1
    done
    say "guest up in $((SECONDS - started)) s: $(grep -m1 '^parlor listening' "$GUEST_LOG" | tr -d '\r')"
    say "forwards: SIP udp+tcp $HOST_SIP, MSRP $HOST_MSRP (a=path $GUEST_MSRP), probe 127.0.0.1:$HOST_PROBE_PORT"
}

show_guest_log() {
    say "---- guest console ($GUEST_LOG) ----"
    tail -n 40 "$GUEST_LOG" >&2 2>/dev/null || true
    tail -n 10 "$VM_DIR/emulator.err" >&2 2>/dev/null || true
}

# guest_probe COMMAND: the probe's answer (bash's /dev/tcp, bounded by timeout).
guest_probe() {
    timeout 20 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "%s\n" "$2" >&3; cat <&3' \
        probe "$HOST_PROBE_PORT" "$1" | tr -d '\r'
}

# stop_guest: SIGTERM to parlor in the guest; succeeds when it exited 0 and the guest
# powered off within the time limit.
stop_guest() {
    guest_probe stop >/dev/null || true
    local started=$SECONDS status
    while kill -0 "$VM_PID" 2>/dev/null && [ $((SECONDS - started)) -lt 30 ]; do sleep 0.1; done
    status=$(sed -n "s/^$VM_MARK EXIT \\([0-9]*\\).*/\\1/p" "$GUEST_LOG" | head -n1)
    kill_guest
    trap - EXIT
    [ "$status" = 0 ] || { show_guest_log; die "parlor in the guest exited with '${status:-nothing}'"; }
    say "parlor exited 0 on SIGTERM; guest powered off"
}

kill_guest() {
    if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
        kill -TERM "$VM_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do kill -0 "$VM_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$VM_PID" 2>/dev/null || true
    fi
    [ -n "$VM_PID" ] && wait "$VM_PID" 2>/dev/null || true
    VM_PID=""
    [ -n "$VM_DIR" ] && [ -z "${PARLOR_VM_KEEP:-}" ] && rm -rf "$VM_DIR"
    VM_DIR=""
}
