#!/usr/bin/env bash
# Creates a virtual environment of any interpreter with lockprof installed by pip, and Debian's pytest in it —
# offline, with nothing from PyPI: the tested route of the README's third way to install (pip and pytest).
#
#   scripts/make-venv.sh PYTHON VENV [WHAT]
#
# PYTHON  any CPython 3.11+ (also one built --without-ensurepip, which has no pip of its own)
# VENV    the environment to create (must not exist yet)
# WHAT    a lockprof wheel, or a checkout directory (default: this checkout) — installed with
#         `pip install --no-index --no-build-isolation`
#
# How, and why this way: `python -m venv` gives the venv a pip from the interpreter's own ensurepip (the pip wheel
# bundled with CPython's source: no network; the self-built interpreters of scripts/setup-pythons.sh were built
# --without-ensurepip, which only skips that step at their install). Debian's pip cannot do it for them: pip 23.0.1
# (python3-pip) fails on Python 3.12 and later (pkg_resources' pkgutil.ImpImporter), also through `pip --python`.
# Debian's pytest, pluggy, iniconfig, packaging, attrs, pytest-xdist, execnet and meson-python (+
# pyproject-metadata, for installing from a checkout) are pure Python: VENV/debian-site/ gets a symbolic link to
# each, and to its metadata directory (pytest finds plugins through it), and a .pth file in the venv's
# site-packages puts that directory on sys.path. Only those: all of /usr/lib/python3/dist-packages would bring
# Debian's 3.11 C extensions along. Meson itself runs as Debian's `meson` command.
# Needs: apt-get install python3-venv python3-pytest python3-pytest-xdist python3-mesonpy meson ninja-build
# (scripts/setup.sh --test installs them).
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n '4,10p' "$0" >&2
  exit 2
fi
python=$1 venv=$2 what=${3:-$(cd "$(dirname "$0")/.." && pwd)}
debian=/usr/lib/python3/dist-packages
if [ -e "$venv" ]; then
  echo "make-venv: $venv exists already" >&2
  exit 2
fi
"$python" -m venv "$venv"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
mkdir -p "$venv/debian-site"
for name in _pytest pytest py.py pluggy iniconfig packaging attr attrs xdist execnet mesonpy pyproject_metadata; do
  [ -e "$debian/$name" ] || { echo "make-venv: $debian/$name is missing (scripts/setup.sh --test)" >&2; exit 1; }
  ln -s "$debian/$name" "$venv/debian-site/$name"
done
for name in pytest pluggy iniconfig packaging attrs pytest_xdist execnet meson_python pyproject_metadata; do
  for meta in "$debian/$name"-[0-9]*.dist-info "$debian/$name"-[0-9]*.egg-info; do
    if [ -e "$meta" ]; then ln -s "$meta" "$venv/debian-site/"; fi
  done
done
echo "$(cd "$venv/debian-site" && pwd)" > "$site/debian-site.pth"
"$venv/bin/python" -m pip install --quiet --no-index --no-build-isolation --no-deps "$what"
