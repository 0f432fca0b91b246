#!/usr/bin/env bash
# Install what building, testing, the demo and the benchmark need, if missing.
# Debian packages only. Run as root on a fresh machine; as a normal user it
# only reports what is missing.
set -euo pipefail

packages=(
	gcc make clang libclang-rt-14-dev pkg-config git
	libsodium-dev libssl-dev libcmocka-dev
	iproute2 iputils-ping tcpdump iperf3 nftables procps strace xxd ethtool
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: install them with: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
