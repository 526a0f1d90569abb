"""The CPython layouts the collector uses equal what each interpreter's own headers say.

For every interpreter whose internal headers are installed, scripts/probe-offsets.c is compiled against them and
run; its offsets must equal the ones the collector prints (LOCKPROF_PRINT_LAYOUT=1) inside that interpreter —
table entries for 3.11/3.12, values derived from _Py_DebugOffsets for 3.13."""
import os
import subprocess
import sysconfig
import unittest

import lptest
from lptest import LIB, SRC, TempDirTest, python_info, pythons, run


class Offsets(TempDirTest):
    def test_layouts_match_headers(self):
        checked = []
        for label, py in pythons():
            inc = run([py, "-c", "import sysconfig;print(sysconfig.get_paths()['include'])"], check=True).stdout.strip()
            if not os.path.exists(os.path.join(inc, "internal", "pycore_frame.h")):
                continue
            with self.subTest(python=label):
                exe = os.path.join(self.tmp, "probe-" + label)
                cc = run(["cc", "-DPy_BUILD_CORE", f"-I{inc}", f"-I{inc}/internal",
                          os.path.join(SRC, "scripts", "probe-offsets.c"), "-o", exe])
                self.assertEqual(cc.returncode, 0, cc.stderr[-2000:])
                probe = dict(l.split() for l in run([exe], check=True).stdout.splitlines())
                p = run([py, "-c", "pass"], env={"LD_PRELOAD": LIB, "LOCKPROF_PRINT_LAYOUT": "1",
                                                  "LOCKPROF_OUTPUT": os.path.join(self.tmp, "x.%p.prof")})
                ours = {}
                for line in p.stderr.splitlines():
                    if line.startswith("lockprof-layout "):
                        _, k, v = line.split()
                        ours[k] = v
                self.assertTrue(ours, f"collector printed no layout for {label}: {p.stderr[-500:]}")
                diff = {k: (ours[k], probe.get(k)) for k in ours if probe.get(k) != ours[k]}
                self.assertEqual(diff, {}, f"{label}: collector vs headers")
                checked.append(label)
        if not checked:
            self.skipTest("no interpreter with internal headers installed")
        print("layouts checked against headers:", ", ".join(checked))


if __name__ == "__main__":
    lptest.main()
