#!/usr/bin/env bash
# The build steps of Deploy/container/Containerfile, runnable outside a container so that CI exercises them.
#
#   bash .ci/container-build-steps.sh [--no-install] [--binary PATH] STAGING_DIR
#
# 1. Installs the -dev packages the build needs (.ci/setup.sh), unless --no-install.
# 2. Builds `carbs` in release mode (swift build -c release --product carbs), unless --binary gives an existing
#    binary to package instead (CI's tests pass the debug binary: a second, release build of the whole package
#    would double CI's build time, and the collection steps below are the same for either binary).
# 3. Stages what the runtime image needs: STAGING_DIR/usr/local/bin/carbs, the Swift runtime libraries the binary
#    links (STAGING_DIR/usr/lib/swift/linux/*.so, with an ld.so.conf.d entry), and
#    STAGING_DIR/runtime-packages.txt: the Debian packages of every other shared library it links (the runtime
#    stage installs exactly those with apt-get).
set -euo pipefail

install=1
binary=""
while (($#)); do
    case "$1" in
        --no-install) install=0; shift ;;
        --binary) binary="$2"; shift 2 ;;
        -*) echo "container-build-steps: unknown option $1" >&2; exit 64 ;;
        *) break ;;
    esac
done
if (($# != 1)); then
    echo "usage: container-build-steps.sh [--no-install] [--binary PATH] STAGING_DIR" >&2
    exit 64
fi
staging="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"

if ((install)); then
    bash "$root/.ci/setup.sh"
fi

if [[ -z "$binary" ]]; then
    (cd "$root" && swift build -c release --product carbs)
    binary="$(cd "$root" && swift build -c release --show-bin-path)/carbs"
fi
if [[ ! -x "$binary" ]]; then
    echo "container-build-steps: $binary is not an executable" >&2
    exit 1
fi

rm -rf "$staging"
mkdir -p "$staging/usr/local/bin" "$staging/usr/lib/swift/linux" "$staging/etc/ld.so.conf.d"
install -m 0755 "$binary" "$staging/usr/local/bin/carbs"

# ldd lines: "libfoo.so.1 => /path/libfoo.so.1 (0x...)".
packages=()
while read -r name _ path _; do
    [[ -n "${path:-}" && -f "$path" ]] || continue
    if [[ "$path" == */lib/swift/linux/* ]]; then
        cp -L "$path" "$staging/usr/lib/swift/linux/$name"
        continue
    fi
    # The package that owns the library (resolve symlinks: dpkg knows the real file, under /usr/lib or /lib).
    real="$(readlink -f "$path")"
    owner="$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)"
    owner="${owner%%:*}"
    if [[ -z "$owner" ]]; then
        echo "container-build-steps: no Debian package owns $path" >&2
        exit 1
    fi
    packages+=("$owner")
done < <(ldd "$binary" | grep "=>")
echo /usr/lib/swift/linux > "$staging/etc/ld.so.conf.d/swift.conf"
printf '%s\n' "${packages[@]}" | sort -u > "$staging/runtime-packages.txt"

echo "container-build-steps: staged $(du -sh "$staging" | cut -f1) in $staging;" \
    "runtime packages: $(tr '\n' ' ' < "$staging/runtime-packages.txt")" >&2
