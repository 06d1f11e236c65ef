#!/usr/bin/env bash
# Install the Debian packages the tests need, with apt-get, only where one is missing:
# on a machine that has them all this costs a few `command -v`, not an apt-get.
#   scripts/packages.sh                     everything the whole test suite needs
#   scripts/packages.sh redis postgresql    only these (scripts/services.sh)
# Names: chromium chromium-driver nginx sshd systemd cjk-font redis postgresql.
# GOVPUB_PROBE_PATH replaces where the probes look for programs (the tests' stubs).
set -euo pipefail

ALL=(chromium chromium-driver nginx sshd systemd cjk-font redis postgresql)
postgres_bins=$(printf '%s:' /usr/lib/postgresql/*/bin)
probe_path="${GOVPUB_PROBE_PATH:-$PATH:/usr/sbin:/sbin:$postgres_bins}"

have() { PATH="$probe_path" command -v "$1" >/dev/null 2>&1; }

# A font that renders Chinese, for the annual report's chart (any CJK font will do);
# fontconfig's fc-list is how the probe (and an operator) asks.
cjk_font() { have fc-list && PATH="$probe_path" fc-list :lang=zh 2>/dev/null | grep -q .; }

packages_for() {
  case "$1" in
    chromium) have chromium || echo chromium ;;                 # the browser tests (Playwright)
    chromium-driver) have chromedriver || echo chromium-driver ;;
    nginx) have nginx || echo nginx ;;                           # tests/deploy: nginx -t, a real nginx
    sshd) have sshd || echo openssh-server ;;                    # the archive's SFTP transport
    systemd) have systemd-analyze || echo systemd ;;             # tests/deploy verifies the units
    cjk-font) cjk_font || echo fontconfig fonts-noto-cjk ;;
    redis) have redis-server || echo redis-server ;;
    postgresql) { have pg_ctlcluster && have postgres; } || echo postgresql ;;
    *) echo "scripts/packages.sh: unknown name $1 (one of: ${ALL[*]})" >&2; return 2 ;;
  esac
}

need=()
for name in "${@:-${ALL[@]}}"; do
  missing=$(packages_for "$name") || exit 2
  read -r -a found <<<"$missing"
  need+=("${found[@]}")
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "the tests need these Debian packages: ${need[*]}" >&2
  echo "run ./run check as root, or first: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing ${need[*]} (apt-get)" >&2
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
