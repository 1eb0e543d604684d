# Sourced by the boards/ scripts (not run on its own): reads one boards/BOARD.toml and sets
# up cargo for that board's target.
#
#   . boards/board.sh; load_board aarch64-linux
#
# After load_board: BOARD, TARGET, LINKER, BOARD_RUSTFLAGS, RUNNER, DEFAULT_PROFILE,
# BUILD_STD and the BOOT_* values are set, CARGO_TARGET_<TRIPLE>_{LINKER,RUSTFLAGS,RUNNER}
# are exported from the board file (they win over .cargo/config.toml, which carries the same
# values for plain `cargo ... --target` use), and CARGO_ARGS holds the extra cargo arguments
# (--target, -Zbuild-std). Debian's rustc-web is used through RUSTC when it is installed.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOARDS_DIR=$REPO/boards

die() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

say() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

# board_value FILE KEY: the string value of a top-level `KEY = "value"` line, or nothing.
# Board files hold only plain strings without escapes (tests/data_files.rs checks them).
board_value() {
    sed -n "s/^$2[[:space:]]*=[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n1
}

board_names() {
    local f
    for f in "$BOARDS_DIR"/*.toml; do basename "$f" .toml; done
}

load_board() {
    BOARD=${1:-}
    [ -n "$BOARD" ] || die "usage: $(basename "$0") BOARD   (boards: $(board_names | tr '\n' ' '))"
    local file=$BOARDS_DIR/$BOARD.toml
    [ -f "$file" ] || die "unknown board '$BOARD' (boards: $(board_names | tr '\n' ' '))"
    TARGET=$(board_value "$file" target)
    LINKER=$(board_value "$file" linker)
    BOARD_RUSTFLAGS=$(board_value "$file" rustflags)
    RUNNER=$(board_value "$file" runner)
    DEFAULT_PROFILE=$(board_value "$file" default_profile)
    BUILD_STD=$(board_value "$file" build_std)
    BOOT_EMULATOR=$(board_value "$file" boot_emulator)
    BOOT_MACHINE=$(board_value "$file" boot_machine)
    BOOT_CPU=$(board_value "$file" boot_cpu)
    BOOT_CONSOLE=$(board_value "$file" boot_console)
    BOOT_DEB_ARCH=$(board_value "$file" boot_deb_arch)
    BOOT_KERNEL_PACKAGE=$(board_value "$file" boot_kernel_package)
    BOOT_BUS=$(board_value "$file" boot_bus)
    [ -n "$TARGET" ] || die "$file: no target"

    # A rustup toolchain only has the host's std; Debian's rustc-web has the arm64 std and
    # the library sources for -Zbuild-std. Prefer it for foreign targets when present.
    # rustdoc must match rustc: cargo also runs the doctests for the target.
    if [ -z "${RUSTC:-}" ] && [ -x /usr/bin/rustc ] && [ "$TARGET" != "$(host_triple)" ]; then
        export RUSTC=/usr/bin/rustc
        if [ -z "${RUSTDOC:-}" ] && [ -x /usr/bin/rustdoc ]; then
            export RUSTDOC=/usr/bin/rustdoc
        fi
    fi
    BOARD_ENV_PREFIX=CARGO_TARGET_$(printf '%s' "$TARGET" | tr 'a-z.-' 'A-Z__')
    export "${BOARD_ENV_PREFIX}_LINKER=$LINKER"
    export "${BOARD_ENV_PREFIX}_RUSTFLAGS=$BOARD_RUSTFLAGS"
    if [ -n "$RUNNER" ]; then
        export "${BOARD_ENV_PREFIX}_RUNNER=$RUNNER"
    fi
    CARGO_ARGS=(--target "$TARGET")
    if [ -n "$BUILD_STD" ]; then
        export RUSTC_BOOTSTRAP=1
        CARGO_ARGS+=("-Zbuild-std=$BUILD_STD")
    fi
}

# host_cargo ARGS...: cargo for the host (the test clients that drive a board from
# outside), without anything load_board set up for the board's target.
host_cargo() {
    (
        cd "$REPO"
        unset RUSTC RUSTDOC RUSTC_BOOTSTRAP
        unset "${BOARD_ENV_PREFIX}_LINKER" "${BOARD_ENV_PREFIX}_RUSTFLAGS" "${BOARD_ENV_PREFIX}_RUNNER"
        cargo "$@"
    )
}

host_triple() {
    rustc -vV 2>/dev/null | sed -n 's/^host: //p'
}

# The release binary boards/build leaves for BIN (parlor or parlor-chat).
release_binary() {
    printf '%s/%s/release/%s\n' "${CARGO_TARGET_DIR:-$REPO/target}" "$TARGET" "$1"
}

# release_build [cargo flags...]: the board's release binaries (stripped by the release
# profile) with the given extra flags, e.g. --no-default-features.
release_build() {
    (cd "$REPO" && cargo build --release --bins "${CARGO_ARGS[@]}" "$@")
}

# The qemu-user emulator of the runner (first word), e.g. qemu-aarch64-static.
runner_emulator() {
    printf '%s\n' "${RUNNER%% *}"
}

# ensure_binfmt: lets the kernel start this board's binaries through qemu-user, so a test
# that spawns the server binary works under `cargo test --target` exactly as on the host.
# Uses the binfmt entry Debian's qemu-user-static ships (/usr/share/binfmts/qemu-ARCH).
ensure_binfmt() {
    [ -n "$RUNNER" ] || return 0
    local emulator name spec dir=/proc/sys/fs/binfmt_misc
    emulator=$(runner_emulator)
    name=${emulator%-static}
    spec=/usr/share/binfmts/$name
    [ -f "$spec" ] || die "no $spec: install qemu-user-static"
    if [ ! -e "$dir/register" ]; then
        mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null \
            || die "binfmt_misc is not mounted and cannot be mounted (need root)"
    fi
    [ -e "$dir/$name" ] && return 0
    local interpreter magic mask flags=F
    interpreter=$(sed -n 's/^interpreter //p' "$spec")
    magic=$(sed -n 's/^magic //p' "$spec")
    mask=$(sed -n 's/^mask //p' "$spec")
    [ "$(sed -n 's/^preserve //p' "$spec")" = yes ] && flags=PF
    [ -x "$interpreter" ] || interpreter=$(command -v "$emulator")
    printf ':%s:M:0:%s:%s:%s:%s\n' "$name" "$magic" "$mask" "$interpreter" "$flags" \
        > "$dir/register" || die "cannot register $name with binfmt_misc (need root)"
    say "registered $interpreter for $TARGET binaries with binfmt_misc"
}
