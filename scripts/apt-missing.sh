# Sourced by the install scripts: apt_install_missing LABEL PACKAGE... installs, with apt-get,
# only the Debian packages that are not installed yet (with sudo when not root).
apt_install_missing() {
  local label="$1" p
  shift
  local need=()
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      need+=("$p")
    fi
  done
  ((${#need[@]})) || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "$label: apt-get install ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}
