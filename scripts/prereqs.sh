#!/usr/bin/env bash
# The system packages `make demo`, `make test` and CI need, checked before anything is built
# (the one list; the Makefile and .ci/run both call this script).
#
#   scripts/prereqs.sh demo   # the demo: Python with venv, openssl, PostgreSQL and MariaDB servers
#   scripts/prereqs.sh test   # the test suites: the demo's, plus debootstrap (the client-trust tests'
#                             # Debian root), a JRE's keytool (Java keystore tests) and chromium
#                             # (the HTML report rendered in a headless browser)
#   scripts/prereqs.sh ci     # CI on a fresh Debian machine: the tests', plus make and git
#
# Missing packages are installed with apt-get when run as root on Debian/Ubuntu (as CI does;
# RDSCA_PREREQS_INSTALL=0 to only check); otherwise the script says exactly what to install and
# fails, before the ~5 minute venv build. RDSCA_SKIP_PREREQS=1 skips the check.
# The servers are never started as system services: the tests run private copies on 127.0.0.1.
set -euo pipefail

profile="${1:-test}"
case "${profile}" in demo|test|ci) ;; *) echo "usage: $0 demo|test|ci" >&2; exit 2 ;; esac
[[ "${RDSCA_SKIP_PREREQS:-0}" == 1 ]] && exit 0

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

missing=()   # Debian package names
why=()       # what each is for

need() { missing+=("$1"); why+=("$1: $2"); }

first_executable() {   # first of the names found in PATH or in the extra directories
  local names=$1 dirs=$2 name dir
  for name in ${names}; do
    command -v "${name}" >/dev/null 2>&1 && return 0
    for dir in ${dirs}; do [[ -x "${dir}/${name}" ]] && return 0; done
  done
  return 1
}

postgres_server() {   # as tests/simulator/linked.py looks for it
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    [[ -n "${dir}" && -x "${dir}/initdb" && -x "${dir}/postgres" ]] && return 0
  fi
  for dir in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/bin /usr/local/bin; do
    [[ -x "${dir}/initdb" && -x "${dir}/postgres" ]] && return 0
  done
  return 1
}

# -- demo (and everything else) ---------------------------------------------------------------
if [[ ! -x "${VENV}/bin/python" ]]; then
  if ! command -v "${PYTHON}" >/dev/null 2>&1; then
    need python3 "Python 3.10 or later, to build ${VENV}"
    need python3-venv "to build ${VENV} (${PYTHON} -m venv)"
  elif ! "${PYTHON}" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "prereqs: ${PYTHON} is $("${PYTHON}" -V 2>&1); Python 3.10 or later is needed (make PYTHON=python3.11 ...)" >&2
    exit 1
  elif ! "${PYTHON}" -c 'import ensurepip, venv' 2>/dev/null; then
    need python3-venv "to build ${VENV} (${PYTHON} -m venv)"
  fi
fi
command -v openssl >/dev/null 2>&1 || need openssl "the simulator's and the tests' certificates"
postgres_server || need postgresql "PostgreSQL server binaries (initdb, postgres) for the linked test databases"
{ first_executable "mariadbd mysqld" "/usr/sbin /usr/libexec /usr/local/sbin" \
  && first_executable "mariadb-install-db mysql_install_db" "/usr/bin /usr/local/bin"; } \
  || need mariadb-server "MariaDB server binaries (mariadbd, mariadb-install-db) for the linked test databases"

# -- test ----------------------------------------------------------------------------------------
if [[ "${profile}" != demo ]]; then
  command -v debootstrap >/dev/null 2>&1 || need debootstrap "the client-trust tests' Debian root (tests/integration/chroot.py)"
  command -v keytool >/dev/null 2>&1 || need default-jre-headless "keytool, for the Java keystore tests"
  { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } \
    || need chromium "headless Chromium, to render and screenshot the HTML reports (tests/integration/test_report_browser.py)"
fi

# -- ci ------------------------------------------------------------------------------------------
if [[ "${profile}" == ci ]]; then
  command -v make >/dev/null 2>&1 || need make "the README's commands"
  command -v git >/dev/null 2>&1 || need git "ansible-test (the files git would ship)"
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "prereqs (${profile}): system packages present"
  exit 0
fi

if [[ "$(id -u)" == 0 && "${RDSCA_PREREQS_INSTALL:-1}" == 1 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "prereqs (${profile}): installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Installed: check again (a package that does not provide what is looked for fails here, loudly).
  RDSCA_PREREQS_INSTALL=0 exec "$0" "${profile}"
fi

{
  echo
  echo "prereqs (${profile}): MISSING system packages; nothing was built. Install them first:"
  echo
  echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}"
  echo
  printf '  %s\n' "${why[@]}"
  echo
  echo "  (Debian/Ubuntu names; RPM systems: bindep.txt lists the equivalents. Run as root, this script"
  echo "  installs them itself. RDSCA_SKIP_PREREQS=1 skips this check.)"
  echo
} >&2
exit 1
