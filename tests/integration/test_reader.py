"""Malformed, truncated or foreign input gets one line naming the file and the problem, and exit status 2;
the JSON report validates against docs/report-schema.json."""
import json
import os

import jsonschema

import lptest
from lptest import EXAMPLES_C, SRC, TempDirTest, lockprof


class Malformed(TempDirTest):
    def good_profile(self):
        """A complete profile with every record type the corruptions below need (l, a). The waits come from
        tests/data/semantics.c, whose timed locks of a mutex another thread holds time out whatever the scheduling."""
        _, files = self.profile([os.path.join(lptest.BUILD, "tests", "semantics")])
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            data = f.read()
        for tag in (b"l", b"a"):
            self.assertIn(b"\n" + tag + b" ", data, f"no {tag.decode()} record in the profile of semantics")
        return data

    def check_rejected(self, data, expect):
        path = os.path.join(self.tmp, "bad.prof")
        with open(path, "wb") as f:
            f.write(data)
        for sub in (["report"], ["report", "--format", "json"]):
            out = os.path.join(self.tmp, "out.txt")
            p = lockprof(*sub, "-o", out, path)
            self.assertEqual(p.returncode, 2, (data[:80], p.stdout[:200]))
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertTrue(lines[0].startswith(f"lockprof: {path}: "), lines[0])
            self.assertIn(expect, lines[0])
            self.assertFalse(os.path.exists(out), "partial output left behind")
            self.assertEqual([f for f in os.listdir(self.tmp) if "out.txt" in f], [])

    def test_truncated(self):
        good = self.good_profile()
        self.check_rejected(good[: len(good) // 2], "truncated")
        self.check_rejected(good[: good.rindex(b"end ")], "truncated")

    def test_not_a_profile(self):
        self.check_rejected(b"", "empty")
        self.check_rejected(b"\x7fELF\x02\x01\x01\x00binary", "binary")
        self.check_rejected(b"hello world\n", "not a lockprof profile")

    def test_newer_version(self):
        self.check_rejected(b"lockprof-profile 99\nend 0\n", "newer")

    def test_corrupted_records(self):
        good = self.good_profile()
        lines = good.split(b"\n")
        # an aggregate that refers to a lock that does not exist
        bad = [l for l in lines if not l.startswith(b"l ")]
        n = sum(1 for l in bad[1:] if l and not l.startswith(b"end "))
        bad = [l if not l.startswith(b"end ") else b"end %d" % n for l in bad]
        self.check_rejected(b"\n".join(bad), "undefined record")
        # a record count that does not match
        self.check_rejected(good.replace(b"\nend ", b"\nm extra 1\nend "), "record count mismatch")
        self.check_rejected(good.replace(b"\nm pid ", b"\nq pid "), "unknown record type")

    def test_missing_file(self):
        p = lockprof("report", os.path.join(self.tmp, "nope.prof"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("nope.prof: No such file", p.stderr)


class Schema(TempDirTest):
    def test_report_json_validates(self):
        with open(os.path.join(SRC, "docs", "report-schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        _, files = self.profile([os.path.join(EXAMPLES_C, "prodcons"), "2", "2000"])
        _, more = self.profile([os.path.join(EXAMPLES_C, "hot_mutex"), "3", "200"], name="q")
        rep = self.report_json(files + more)
        jsonschema.validate(rep, schema, cls=jsonschema.Draft202012Validator)
        self.assertEqual(len(rep["processes"]), 2)
        # every frame says native or python, and object_type is null for pthread locks
        for lock in rep["locks"]:
            self.assertIsNone(lock["object_type"])
            for s in lock["stacks"]:
                self.assertTrue(all(f["kind"] == "native" for f in s["frames"]))


if __name__ == "__main__":
    lptest.main()
