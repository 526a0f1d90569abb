"""PEP 517 backend of pyproject.toml: meson-python's, with one change — the wheel's tag.

meson-python (0.12, Debian 12's python3-mesonpy) assumes that everything installed next to Python modules is a
CPython extension and tags the wheel for the building interpreter (cp311-cp311-linux_x86_64 when Debian's
python3.11 builds it). lockprof's package holds no extension: its modules are pure Python, and its two native files
(the `lockprof` program and liblockprof.so) link libc, libunwind and zlib but not libpython — liblockprof.so is
preloaded into any process, and lockprof finds its symbols with ctypes. So one wheel serves every CPython 3.11+ of
the platform, and build_wheel renames it to the tag that says so: py3-none-<platform> (py3-none-linux_x86_64
here), rewriting the WHEEL file and its line in RECORD. Not manylinux: the files are built against this system's
glibc and libunwind (libunwind is not among the libraries a manylinux wheel may assume), so the wheel is for this
machine's kind of system, which is what linux_x86_64 says. Everything else is meson-python's.
"""
import base64
import hashlib
import os
import zipfile

from mesonpy import *  # noqa: F401,F403 (build_sdist, get_requires_for_build_*, ...)
from mesonpy import build_wheel as _mesonpy_build_wheel


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def retag(directory, name, python="py3", abi="none"):
    """Renames wheel `name` in `directory` to python-abi-<its platform> and returns the new name."""
    dist, version, _, _, platform = name[:-len(".whl")].split("-")
    new = f"{dist}-{version}-{python}-{abi}-{platform}.whl"
    if new == name:
        return name
    info = f"{dist}-{version}.dist-info"
    src, dst = os.path.join(directory, name), os.path.join(directory, new + ".tmp")
    with zipfile.ZipFile(src) as zin:
        wheel = zin.read(f"{info}/WHEEL").decode()
        lines = [line for line in wheel.splitlines() if not line.startswith("Tag:")]
        lines.append(f"Tag: {python}-{abi}-{platform}")
        wheel_data = ("\n".join(lines) + "\n").encode()
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                data = zin.read(item)
                if item.filename == f"{info}/WHEEL":
                    data = wheel_data
                elif item.filename == f"{info}/RECORD":
                    rows = []
                    for row in data.decode().splitlines():
                        if row.startswith(f"{info}/WHEEL,"):
                            row = f"{info}/WHEEL,{_record_hash(wheel_data)},{len(wheel_data)}"
                        rows.append(row)
                    data = ("\n".join(rows) + "\n").encode()
                zout.writestr(item, data)
    os.replace(dst, os.path.join(directory, new))
    os.unlink(src)
    return new


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _mesonpy_build_wheel(wheel_directory, config_settings, metadata_directory)
    return retag(wheel_directory, name)
