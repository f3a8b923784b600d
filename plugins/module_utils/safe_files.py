# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Writing trust anchors as root without being steered by another user (standard library only).

The modules that write trust stores run as root on client hosts, often in directories a user
controls (``~/.postgresql``). The rules, from the collection's security model (docs/client-trust.md):

* A symbolic link is only followed when neither its owner nor the owner of the directory holding
  it is a user other than root (or the user the module runs as), and that directory is not
  group- or world-writable: ``/etc/ssl/certs -> ...`` is fine, ``~app/.postgresql -> /etc`` is refused
  (:func:`resolve`).
* The resolved path is then opened one component at a time with ``O_NOFOLLOW`` relative to the
  directory above it (:func:`open_directory`), so a link swapped in after the check is refused, not
  followed. Missing directories are created there with an explicit mode, whatever the umask.
* Files are written to a new temporary file in that directory (``O_EXCL|O_NOFOLLOW``), given their
  owner, group and mode through the file descriptor, synced, then renamed over the old name
  (:func:`write_file`): readers see the old or the new content, never a partial one, and a link or
  hard link at the old name is replaced, never written through.
* A file is only handed to a non-root owner inside a directory that owner owns
  (:func:`check_owner_inside_own_tree`): a user who owns a file in a shared directory can replace it.
"""

import errno
import grp
import os
import pwd
import re
import stat
# typing's generics, not list[...] or X | None: rds_ca_trust_store and rds_ca_bundle run this module on
# client hosts' Python.
from typing import Any, List, Optional, Set, Tuple

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
MAX_LINKS = 40
_OCTAL_MODE = re.compile(r"^0?o?([0-7]{3,4})$")


class UnsafePathError(Exception):
    """A path that cannot be written safely; ``str()`` says why and what to do."""


def trusted_uids() -> Set[int]:
    """Users whose links and directories may be followed: root and the user the module runs as."""
    return {0, os.geteuid()}


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def controlled_by_others(st: os.stat_result) -> Optional[str]:
    """Why the entries of a directory with this stat can be changed by another user, or None."""
    if st.st_uid not in trusted_uids():
        return "owned by %s" % _user_name(st.st_uid)
    if st.st_mode & stat.S_IWOTH:
        return "world-writable"
    if st.st_mode & stat.S_IWGRP and st.st_gid != 0:
        return "writable by group %s" % _group_name(st.st_gid)
    return None


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return "gid %d" % gid


def resolve(path: str) -> str:
    """The absolute path with every symbolic link resolved; refuses a link another user controls.

    Components that do not exist yet are kept as given (they are created later with
    :func:`open_directory`, which never follows links).
    """
    if not path or "\0" in path:
        raise UnsafePathError("%r is not a usable path" % (path,))
    if not os.path.isabs(path):
        raise UnsafePathError("%s is not an absolute path" % path)
    pending = [p for p in path.split("/") if p]
    current = "/"
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            return os.path.join(candidate, *pending) if pending else candidate
        if stat.S_ISLNK(st.st_mode):
            parent = os.lstat(current)
            why = ("the link is owned by %s" % _user_name(st.st_uid)) if st.st_uid not in trusted_uids() else None
            parent_why = controlled_by_others(parent)
            if why or parent_why:
                raise UnsafePathError(
                    "%s is a symbolic link that another user controls (%s): refusing to follow it as %s; "
                    "remove the link or give the real path" % (
                        candidate, why or "its directory %s is %s" % (current, parent_why), _user_name(os.geteuid())))
            links += 1
            if links > MAX_LINKS:
                raise UnsafePathError("%s: too many levels of symbolic links" % path)
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = "/"
            pending = [p for p in target.split("/") if p] + pending
            continue
        if pending and not stat.S_ISDIR(st.st_mode):
            raise UnsafePathError("%s is not a directory" % candidate)
        current = candidate
    return current


def _open_component(dir_fd: int, part: str, where: str) -> int:
    try:
        return os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=dir_fd)
    except OSError as exc:
        is_link = False
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
            try:
                is_link = stat.S_ISLNK(os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except OSError:
                is_link = exc.errno != errno.ENOTDIR
        if is_link:
            raise UnsafePathError("%s became a symbolic link while it was being opened: refused (another user "
                                  "is changing the path)" % where)
        if exc.errno == errno.ENOTDIR:
            raise UnsafePathError("%s is not a directory" % where)
        raise


def open_directory(path: str, create: bool = False, dir_mode: int = 0o755, leaf_mode: Optional[int] = None, leaf_uid: int = -1,
                   leaf_gid: int = -1, check_mode: bool = False) -> Tuple[Optional[int], List[str]]:
    """``(fd, created)``: a descriptor of the directory ``path`` (already :func:`resolve`-d), opened without
    following any link; with ``create``, missing directories are made (``dir_mode``; the last one
    ``leaf_mode``/``leaf_uid``/``leaf_gid``), whatever the umask. ``created`` lists the paths made.

    In check mode nothing is created: ``fd`` is None when the directory does not exist.
    """
    parts = [p for p in path.split("/") if p]
    fd = os.open("/", _DIR_FLAGS)
    created = []
    where = "/"
    try:
        for number, part in enumerate(parts):
            where = os.path.join(where, part)
            try:
                next_fd = _open_component(fd, part, where)
            except FileNotFoundError:
                if not create:
                    raise
                created.append(where)
                if check_mode:
                    created.extend(os.path.join(where, *parts[number + 1:i + 1]) for i in range(number + 1, len(parts)))
                    os.close(fd)
                    return None, created
                last = number == len(parts) - 1
                os.mkdir(part, 0o700, dir_fd=fd)
                next_fd = _open_component(fd, part, where)
                if last and (leaf_uid != -1 or leaf_gid != -1):
                    os.fchown(next_fd, leaf_uid, leaf_gid)
                os.fchmod(next_fd, leaf_mode if last and leaf_mode is not None else dir_mode)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd, created


def read_file(dir_fd: int, name: str, limit: int) -> Optional[bytes]:
    """The content of the regular file ``name`` in ``dir_fd`` (at most ``limit`` bytes, else ValueError), or
    None when there is none; a link, a FIFO or a device there is not read (None as well)."""
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0),
                     dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR):
            return None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > limit:
            raise ValueError("%s is larger than %d bytes" % (name, limit))
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ValueError("%s is larger than %d bytes" % (name, limit))
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def entry_stat(dir_fd: int, name: str) -> Optional[os.stat_result]:
    """lstat of ``name`` in ``dir_fd``, or None."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def write_file(dir_fd: int, name: str, data: bytes, mode: int, uid: int = -1, gid: int = -1) -> None:
    """Atomically replace ``name`` in ``dir_fd`` with ``data`` (bytes), owned ``uid:gid`` with ``mode``."""
    tmp = ".%s.rdsca-%d-%s" % (name, os.getpid(), os.urandom(4).hex())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600,
                 dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)  # after fchown, which may clear bits
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def set_attributes(dir_fd: int, name: str, mode: Optional[int] = None, uid: int = -1, gid: int = -1) -> bool:
    """Give the existing regular file ``name`` this owner, group and mode, without following a link; True if changed."""
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0),
                 dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError("%s is not a regular file" % name)
        changed = False
        if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
            os.fchown(fd, uid, gid)
            changed = True
            st = os.fstat(fd)
        if mode is not None and stat.S_IMODE(st.st_mode) != mode:
            os.fchmod(fd, mode)
            changed = True
        return changed
    finally:
        os.close(fd)


def parse_mode(value: Any, what: str = "mode") -> Optional[int]:
    """An octal mode (``"0644"``, ``"644"``, ``0o644`` or 420) as an int; None stays None.

    World-writable modes and setuid/setgid/sticky bits are refused: a trust anchor that another user
    can change is no trust anchor.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("%s %r is not an octal mode" % (what, value))
    if isinstance(value, int):
        mode = value
    else:
        match = _OCTAL_MODE.match(str(value).strip())
        if not match:
            raise ValueError("%s %r is not an octal mode like '0644' (symbolic modes are not accepted here)" % (what, value))
        mode = int(match.group(1), 8)
    if mode < 0 or mode > 0o7777:
        raise ValueError("%s %r is not a file mode" % (what, value))
    if mode & stat.S_IWOTH:
        raise ValueError("%s %s is world-writable: refused for trust anchors (use 0644, or 0640/0600)" % (what, "%04o" % mode))
    if mode & 0o7000:
        raise ValueError("%s %s sets setuid/setgid/sticky bits: refused for trust anchors" % (what, "%04o" % mode))
    return mode


def lookup_uid(owner: Any) -> int:
    """uid of a user name or number; -1 for None. KeyError-free: ValueError with a clear message."""
    if owner is None or owner == "":
        return -1
    text = str(owner)
    if text.isdigit():
        return int(text)
    try:
        return pwd.getpwnam(text).pw_uid
    except KeyError:
        raise ValueError("owner %r is not a user on this host" % text)


def lookup_gid(group: Any) -> int:
    """gid of a group name or number; -1 for None."""
    if group is None or group == "":
        return -1
    text = str(group)
    if text.isdigit():
        return int(text)
    try:
        return grp.getgrnam(text).gr_gid
    except KeyError:
        raise ValueError("group %r is not a group on this host" % text)


def check_owner_inside_own_tree(dir_fd: int, directory: str, uid: int, what: str) -> None:
    """Refuse to hand ``what`` to a user other than root/us unless ``directory`` belongs to that user."""
    if uid == -1 or uid in trusted_uids():
        return
    st = os.fstat(dir_fd) if dir_fd is not None else None
    if st is not None and st.st_uid == uid:
        return
    raise UnsafePathError(
        "%s would be owned by %s in %s, a directory %s: a file is only given to a user inside that user's own "
        "directory (a user who owns a file in a shared directory can replace what others trust)" % (
            what, _user_name(uid), directory,
            "that does not exist yet" if st is None else "owned by %s" % _user_name(st.st_uid)))


def check_directory_not_controlled(dir_fd: int, directory: str, what: str) -> None:
    """Refuse when another user can change the entries of ``directory`` (a tool that follows links writes there)."""
    why = controlled_by_others(os.fstat(dir_fd))
    if why:
        raise UnsafePathError("%s: its directory %s is %s, and %s follows symbolic links: refused as %s"
                              % (what, directory, why, what.split(" ")[0], _user_name(os.geteuid())))
