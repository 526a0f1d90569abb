"""Names of native frames and global locks, given by the CLI from the modules' files (issue 18, "Symbols like perf
and heaptrack"; issue 17, names of unloaded libraries): the profile records modules (path, build-id, offsets) and
`lockprof report` names frames and locks with elfutils. Real programs under the real collector: tests/data/symbols.c
(a global mutex array, a struct member, a 2-D array, a static array, a function's static, an inlined function),
tests/data/symbols_cpp.cpp (a namespaced std::mutex), tests/data/unload.c + plugin.c (a library unloaded before
exit), copies of them stripped, rebuilt or served by a local debuginfod, and the test interpreters."""
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import unittest

import lptest
from lptest import BUILD, SRC, TempDirTest, has_frame, line_of, lockprof, locks_of

TESTS = os.path.join(BUILD, "tests")
SYMBOLS_C = os.path.join(SRC, "tests", "data", "symbols.c")


def records(path, tag):
    """The fields of every `tag` record of a profile."""
    with open(path) as f:
        return [line.rstrip("\n").split(" ")[1:] for line in f if line.startswith(tag + " ")]


def all_frames(rep):
    """Every frame of every waiter and holder stack of a JSON report."""
    for lock in rep["locks"]:
        for s in lock["stacks"]:
            yield from s["frames"] or []
            yield from s["holder_frames"] or []


def lock(rep, name):
    """The report's entry for the lock called name (the report sorts by wait, so a pthread_join can come first)."""
    return next(l for l in rep["locks"] if l["name"] == name)


def lock_names(rep):
    """The names of the locks (not of the threads joined: pthread_join waits are a wait class of their own)."""
    return sorted(l["name"] for l in rep["locks"] if l["kind"] != "pthread_join")


class Debuginfod:
    """A debuginfod server on 127.0.0.1 (the protocol's GET /buildid/ID/debuginfo) serving the files given, and
    logging every request."""

    def __init__(self, files):
        self.files, self.requests = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                m = re.fullmatch(r"/buildid/([0-9a-f]+)/debuginfo", self.path)
                path = outer.files.get(m.group(1)) if m else None
                if not path:
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SymbolsTest(TempDirTest):
    def run_program(self, exe, *args, name="p"):
        p, files = self.profile([exe, *args], name=name)
        self.assertEqual(len(files), 1, p.stderr)
        return p, files[0]

    def report(self, path, env=None):
        """The JSON report (with every frame) and stderr."""
        p = lockprof("report", "--format", "json", path, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout), p.stderr

    def copy(self, exe, name):
        dst = os.path.join(self.tmp, name)
        shutil.copy(exe, dst)
        return dst


class CFromDwarf(SymbolsTest):
    @classmethod
    def setUpClass(cls):
        cls.line = {w: line_of(SYMBOLS_C, f"/* wait: {w} */") for w in ("lru", "drop_space", "grid", "table",
                                                                             "registry")}
        cls.call_line = line_of(SYMBOLS_C, "/* call: drop_space */")

    def test_profile_records_modules_not_names(self):
        _, prof = self.run_program(os.path.join(TESTS, "symbols"))
        mods = records(prof, "o")
        strings = {r[0]: " ".join(r[1:]) for r in records(prof, "s")}
        exe = [m for m in mods if strings[m[1]] == os.path.realpath(os.path.join(TESTS, "symbols"))]
        self.assertEqual(len(exe), 1, mods)
        build_id = subprocess.run(["readelf", "-n", os.path.join(TESTS, "symbols")], stdout=subprocess.PIPE,
                                  text=True).stdout.split("Build ID: ")[1].split()[0]
        self.assertEqual(exe[0][2], build_id)
        # native frames carry no names: module and offset only
        for f in records(prof, "f"):
            if f[1] == "n":
                self.assertEqual((f[2], f[3], f[4]), ("-", "-", "0"), f)
        # every global lock has its module and offset (`v`), its name is the address form (threads joined are
        # no global lock)
        where = {v[0]: v for v in records(prof, "v")}
        for l in [l for l in records(prof, "l") if l[1] != "pthread_join"]:
            self.assertIn(l[0], where, l)
            self.assertEqual(where[l[0]][1], exe[0][0])
            self.assertTrue(strings[l[3]].startswith("pthread_mutex@0x"), strings[l[3]])

    def test_locks_by_variable_index_and_member(self):
        _, prof = self.run_program(os.path.join(TESTS, "symbols"))
        rep, err = self.report(prof)
        self.assertEqual(err, "")
        self.assertEqual(lock_names(rep), sorted(["lru_locks[18]", "stats_state.mutex", "grid[2][5]",
                                                  "table_lock[1]", "registry_lock::registry"]))

    def test_frames_have_file_line_and_inline_chain(self):
        _, prof = self.run_program(os.path.join(TESTS, "symbols"))
        rep, _ = self.report(prof)
        by_name = {l["name"]: l for l in rep["locks"]}
        for lock, fn, w in (("lru_locks[18]", "lru_thread", "lru"), ("grid[2][5]", "grid_thread", "grid"),
                            ("table_lock[1]", "table_thread", "table"),
                            ("registry_lock::registry", "registry_thread", "registry")):
            leaf = by_name[lock]["stacks"][0]["frames"][0]
            self.assertEqual((leaf["function"], leaf["line"]), (fn, self.line[w]), leaf)
            self.assertTrue(leaf["file"].endswith("/tests/data/symbols.c"), leaf)
            self.assertNotIn("inlined", leaf)
        # drop_space was inlined into compress_thread: two frames at one address, the inlined one first
        frames = by_name["stats_state.mutex"]["stacks"][0]["frames"]
        self.assertEqual((frames[0]["function"], frames[0]["line"], frames[0].get("inlined")),
                         ("drop_space", self.line["drop_space"], True), frames[:2])
        self.assertEqual((frames[1]["function"], frames[1]["line"], frames[1].get("inlined")),
                         ("compress_thread", self.call_line, None), frames[:2])
        self.assertEqual((frames[0]["module"], frames[0]["offset"]), (frames[1]["module"], frames[1]["offset"]))
        # text: file:line, ", inlined" on the inlined one
        text = lockprof("report", "--by", "lock", prof, check=True).stdout
        self.assertRegex(text, r"#0  drop_space \(\S*/tests/data/symbols\.c:%d, inlined\)" % self.line["drop_space"])
        self.assertRegex(text, r"#1  compress_thread \(\S*/tests/data/symbols\.c:%d\)" % self.call_line)
        # libc's own frames: from its build-id debug file when libc6-dbg is installed
        libc = [f for f in all_frames(rep) if f["kind"] == "native" and "/libc.so" in (f["module"] or "")]
        self.assertTrue(libc)
        debug = os.path.isdir("/usr/lib/debug/.build-id")
        if debug and any(f["function"] == "start_thread" for f in libc):
            self.assertTrue(any(f["function"] == "start_thread" and (f["file"] or "").endswith("pthread_create.c")
                                for f in libc), libc)

    def test_elf_symbols_without_dwarf(self):
        _, prof = self.run_program(os.path.join(TESTS, "symbols_nodebug"))
        rep, err = self.report(prof)
        self.assertEqual(err, "")
        # 18 * 40, 8, (2 * 8 + 5) * 40, 40: byte offsets inside the ELF symbol; gcc names a function's static
        # `registry.0`
        self.assertEqual(lock_names(rep), sorted(["lru_locks+0x2d0", "stats_state+0x8", "grid+0x348",
                                                  "table_lock+0x28", "registry.0"]))
        by_name = {l["name"]: l for l in rep["locks"]}
        leaf = by_name["lru_locks+0x2d0"]["stacks"][0]["frames"][0]
        self.assertEqual((leaf["function"], leaf["file"], leaf["line"]), ("lru_thread", None, None))
        # no line information, no inline chain: compress_thread is the waiting frame
        leaf = by_name["stats_state+0x8"]["stacks"][0]["frames"][0]
        self.assertEqual(leaf["function"], "compress_thread")

    def test_debuglink(self):
        """A stripped copy whose debug information is in a separate file named by .gnu_debuglink."""
        exe = self.copy(os.path.join(TESTS, "symbols"), "stripped")
        dbgdir = os.path.join(self.tmp, ".debug")
        os.mkdir(dbgdir)
        dbg = os.path.join(dbgdir, "stripped.dbg")
        subprocess.run(["objcopy", "--only-keep-debug", exe, dbg], check=True)
        subprocess.run(["strip", "--strip-all", exe], check=True)
        subprocess.run(["objcopy", "--add-gnu-debuglink=" + dbg, exe], check=True)
        _, prof = self.run_program(exe)
        rep, err = self.report(prof)
        self.assertEqual(err, "")
        self.assertIn("lru_locks[18]", lock_names(rep))
        self.assertTrue(has_frame(all_frames(rep), "drop_space", self.line["drop_space"], "symbols.c"))
        # the same profile without the debug file: only what the stripped file has (no names)
        os.rename(dbgdir, dbgdir + ".gone")
        rep, err = self.report(prof)
        self.assertIn("pthread_mutex@stripped+0x", " ".join(lock_names(rep)))
        self.assertFalse(has_frame(all_frames(rep), "lru_thread"))


class CxxDemangled(SymbolsTest):
    def test_namespaced_lock_and_method(self):
        exe = os.path.join(TESTS, "symbols_cpp")
        if not os.path.exists(exe):
            self.skipTest("no C++ compiler when the build was configured: symbols_cpp not built")
        _, prof = self.run_program(exe)
        rep, err = self.report(prof)
        self.assertEqual(err, "")
        self.assertEqual(lock_names(rep), ["ns::TerminateFlagMutex"])
        frames = lock(rep, "ns::TerminateFlagMutex")["stacks"][0]["frames"]
        run = [f for f in frames if f["function"] == "ns::Worker::run()"]
        self.assertEqual(len(run), 1, [f["function"] for f in frames])
        self.assertEqual(run[0]["line"], line_of(os.path.join(SRC, "tests", "data", "symbols_cpp.cpp"),
                                                 "// wait: run"))
        # std::mutex::lock and the lock_guard's constructor were inlined into it
        self.assertTrue(any(f["function"] == "std::mutex::lock()" and f.get("inlined") for f in frames), frames)
        self.assertFalse([f["function"] for f in all_frames(rep) if f["function"].startswith("_Z")])
        text = lockprof("report", prof, check=True).stdout
        self.assertNotIn("_ZN", text)


class Changed(SymbolsTest):
    def test_build_id_mismatch_one_warning_no_wrong_names(self):
        exe = self.copy(os.path.join(TESTS, "symbols"), "prog")
        _, prof = self.run_program(exe)
        # the file is replaced by another program: its symbols would name the offsets wrongly
        other = os.path.join(BUILD, "examples", "hot_mutex")
        shutil.copy(other, exe)
        rep, err = self.report(prof)
        warnings = err.strip().splitlines()
        self.assertEqual(len(warnings), 1, err)
        self.assertRegex(warnings[0], r"^lockprof: warning: .*/prog has changed since the profile was written "
                                      r"\(build-id [0-9a-f]+ then, [0-9a-f]+ now\)")
        mine = [f for f in all_frames(rep) if f["module"] == os.path.realpath(exe)]
        self.assertTrue(mine)
        self.assertEqual({f["function"] for f in mine}, {"??"})  # module+offset, nothing from hot_mutex
        text = lockprof("report", prof).stdout
        self.assertRegex(text, r"\?\? \(prog\+0x[0-9a-f]+\)")
        for name in ("critical_work", "worker", "lru_thread"):
            self.assertNotIn(name, text)
        self.assertTrue(all(re.fullmatch(r"pthread_mutex@prog\+0x[0-9a-f]+", n) for n in lock_names(rep)),
                        lock_names(rep))

    def test_deleted_file(self):
        exe = self.copy(os.path.join(TESTS, "symbols"), "gone")
        _, prof = self.run_program(exe)
        os.unlink(exe)
        p = lockprof("report", prof)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("gone", p.stderr)
        self.assertIn("?? (gone+0x", p.stdout)


class FromDebuginfod(SymbolsTest):
    """The machine has no debuginfod server: the test runs one on 127.0.0.1 (tests/integration only)."""

    def setUp(self):
        super().setUp()
        exe = self.copy(os.path.join(TESTS, "symbols"), "prog")
        dbg = os.path.join(self.tmp, "served.debug")
        subprocess.run(["objcopy", "--only-keep-debug", exe, dbg], check=True)
        subprocess.run(["strip", "--strip-all", exe], check=True)  # no debug link, no .debug next to it
        self.exe = exe
        _, self.prof = self.run_program(exe)
        bid = [o for o in records(self.prof, "o") if o[2] != "-"]
        strings = {r[0]: " ".join(r[1:]) for r in records(self.prof, "s")}
        self.build_id = [o[2] for o in bid if strings[o[1]] == os.path.realpath(exe)][0]
        self.server = Debuginfod({self.build_id: dbg})
        self.addCleanup(self.server.close)
        self.env = {"DEBUGINFOD_URLS": self.server.url, "DEBUGINFOD_CACHE_PATH": os.path.join(self.tmp, "cache")}

    def test_not_contacted_unless_configured(self):
        env = {"DEBUGINFOD_URLS": "", "DEBUGINFOD_CACHE_PATH": os.path.join(self.tmp, "cache")}
        rep, _ = self.report(self.prof, env=env)
        self.assertEqual(self.server.requests, [])
        self.assertFalse(has_frame(all_frames(rep), "lru_thread"))
        p = subprocess.run([lptest.LOCKPROF, "report", self.prof], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={k: v for k, v in os.environ.items() if k != "DEBUGINFOD_URLS"})
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.server.requests, [])

    def test_names_from_the_server(self):
        rep, _ = self.report(self.prof, env=self.env)
        self.assertIn(f"/buildid/{self.build_id}/debuginfo", self.server.requests)
        self.assertIn("lru_locks[18]", lock_names(rep))
        self.assertTrue(has_frame(all_frames(rep), "drop_space", None, "symbols.c"))

    def test_changed_binary_named_from_the_recorded_build(self):
        shutil.copy(os.path.join(BUILD, "examples", "hot_mutex"), self.exe)
        rep, err = self.report(self.prof, env=self.env)
        self.assertEqual(err, "")  # the recorded build's debug file names everything: nothing to warn about
        self.assertIn("lru_locks[18]", lock_names(rep))
        self.assertTrue(has_frame(all_frames(rep), "lru_thread"))
        self.assertFalse(has_frame(all_frames(rep), "critical_work"))


class Unloaded(SymbolsTest):
    def test_library_unloaded_before_exit_keeps_names(self):
        lib = os.path.join(TESTS, "libplugin.so")
        p, prof = self.run_program(os.path.join(TESTS, "unload"), lib)
        self.assertEqual(p.stdout.strip(), "unloaded")
        strings = {r[0]: " ".join(r[1:]) for r in records(prof, "s")}
        mods = {strings[o[1]]: o for o in records(prof, "o")}
        self.assertIn(os.path.realpath(lib), mods)
        self.assertEqual(int(mods[os.path.realpath(lib)][6], 16) & 1, 1)  # flagged unloaded
        rep, err = self.report(prof)
        self.assertEqual(err, "")
        self.assertEqual(lock_names(rep), ["plugin_lock"])
        leaf = lock(rep, "plugin_lock")["stacks"][0]["frames"][0]
        plugin_c = os.path.join(SRC, "tests", "data", "plugin.c")
        self.assertEqual((leaf["function"], leaf["line"]), ("plugin_worker", line_of(plugin_c,
                                                                                     "/* plugin_worker's wait */")))
        self.assertEqual(leaf["module"], os.path.realpath(lib))


    def test_library_opened_by_a_relative_path(self):
        shutil.copy(os.path.join(TESTS, "libplugin.so"), os.path.join(self.tmp, "libplugin.so"))
        out = os.path.join(self.tmp, "rel.%p.prof")
        p = lockprof("run", "-o", out, "--no-summary", "--", os.path.join(TESTS, "unload"), "./libplugin.so",
                     cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "unloaded"), p.stderr)
        prof = [os.path.join(self.tmp, f) for f in os.listdir(self.tmp) if f.startswith("rel.")]
        self.assertEqual(len(prof), 1)
        rep, err = self.report(prof[0])
        self.assertEqual(err, "")
        self.assertEqual(lock_names(rep), ["plugin_lock"])
        self.assertEqual(lock(rep, "plugin_lock")["stacks"][0]["frames"][0]["function"], "plugin_worker")


class Version1(SymbolsTest):
    def test_names_in_the_profile_are_kept(self):
        """A version 1 profile (names given by the collector of its time) is read as it is, even when its module
        exists and would name the address differently."""
        exe = os.path.realpath(os.path.join(TESTS, "symbols"))
        records_ = ["m pid 7", "s 0 name_from_the_profile", f"s 1 {exe}", "s 2 old_lock_name",
                    "f 0 n 0 - 0 1 1388", "k 0 0", "l 0 pthread_mutex 4890 2 -", "t 8 -",
                    "a 0 0 - 8 0 0 1 100 100 6:1"]
        path = os.path.join(self.tmp, "v1.prof")
        with open(path, "w") as f:
            f.write("lockprof-profile 1\n" + "\n".join(records_) + f"\nend {len(records_)}\n")
        rep, err = self.report(path)
        self.assertEqual(err, "")
        self.assertEqual(lock_names(rep), ["old_lock_name"])
        frames = rep["locks"][0]["stacks"][0]["frames"]
        self.assertEqual([(f["function"], f["file"], f["line"]) for f in frames],
                         [("name_from_the_profile", None, None)])
        text = lockprof("report", path, check=True).stdout
        self.assertIn("name_from_the_profile (symbols+0x1388)", text)


class PythonNative(SymbolsTest):
    """The interpreter's own native frames still have names: from DWARF for the self-built interpreters (which
    keep .symtab and DWARF), from .dynsym for Debian's stripped python3.11 (and libc's from libc6-dbg)."""

    JOIN = "import threading, time\nt = threading.Thread(target=time.sleep, args=(0.3,))\nt.start()\nt.join()\n"

    def join_profile(self, py):
        _, prof = self.run_program(py, "-c", self.JOIN, name="join")
        rep = json.loads(lockprof("report", "--format", "json", prof, check=True).stdout)
        return prof, rep

    def test_self_built_free_threaded_interpreter(self):
        found = dict(lptest.pythons())
        py = found.get("3.13t")
        if not py:
            lptest.skip_missing(self, ft=True)
            self.skipTest("no 3.13t")
        prof, rep = self.join_profile(py)
        module = lptest.profile_meta(prof)["python_module"][0]
        mine = [f for f in all_frames(rep) if f["module"] == module]
        self.assertTrue(mine)
        named = [f for f in mine if f["function"] != "??" and f["file"] and f["file"].endswith((".c", ".h"))
                 and f["line"]]
        self.assertTrue(named, mine[:10])
        self.assertTrue(any(f.get("inlined") for f in mine), [f["function"] for f in mine])
        # --frames user (the default) hides them all but a leaf, as before: every frame after #0 is a Python one
        text = lockprof("report", "--depth", "0", prof, check=True).stdout
        shown = re.findall(r"^ +#(\d+) +(.*)$", text, re.M)
        self.assertTrue(shown)
        native = re.compile(r"\.[ch]:\d+(, inlined)?\)$|\+0x[0-9a-f]+(, inlined)?\)$")
        for idx, frame in shown:
            if idx != "0":
                self.assertNotRegex(frame, native)
        self.assertIn("interpreter/libc frames)", text)
        every = lockprof("report", "--depth", "0", "--frames", "all", prof, check=True).stdout
        self.assertRegex(every, r"#[1-9]\d* +\S+ \(\S+\.[ch]:\d+(, inlined)?\)")

    def test_debian_stripped_interpreter(self):
        py = "/usr/bin/python3.11"
        if not os.path.exists(py):
            self.skipTest("no /usr/bin/python3.11")
        prof, rep = self.join_profile(py)
        module = lptest.profile_meta(prof)["python_module"][0]
        mine = [f for f in all_frames(rep) if f["module"] == module]
        # stripped: the exported functions by name (.dynsym), no lines
        self.assertTrue(any(f["function"] == "PyThread_acquire_lock_timed" for f in mine), mine[:10])


if __name__ == "__main__":
    lptest.main()
