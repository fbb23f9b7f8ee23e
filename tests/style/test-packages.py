#!/usr/bin/python3
# test-packages.py — a fresh Debian 12 machine set up by tools/setup.sh has every
# Python module and every program that the build, the tests, the tools and CI use.
#
# It collects
#   - the modules imported by every Python file (tests/, tools/, bench/, fuzz/,
#     Python shebang scripts and Python here-documents of shell scripts), minus the
#     standard library (sys.stdlib_module_names) and the project's own modules;
#   - the programs called: subprocess/os.exec* argument lists and shutil.which()
#     literals in Python, the commands of the shell scripts (*.sh, .ci/*, shebang
#     scripts, debian/rules recipes), find_program() literals in meson.build files
#     and the tools meson's gnome/i18n modules run;
# and asks dpkg which package provides each (dpkg -S on the file that
# /usr/bin/python3 would import, or that the standard PATH -- without /usr/local
# -- would run). The package must be named in one of setup.sh's lists, be pulled
# in by one of them (Depends/Pre-Depends, as apt installs them with
# --no-install-recommends), or be part of every Debian system (Essential, or
# Priority: required as debootstrap installs them). One TAP line per module or program;
# a failure names it, who uses it and the package that provides it.
# SPDX-License-Identifier: GPL-3.0-or-later
import ast
import collections
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.environ.get("GAZE_SOURCE_ROOT")
                       or os.path.join(os.path.dirname(__file__), "..", ".."))
# What a fresh Debian has on PATH from its packages (no /usr/local, no pyenv).
STANDARD_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
SKIP_DIRS = {".git", "subprojects", "__pycache__", "corpus", "regressions", "artifacts"}

BASH_BUILTINS = set("""
. : [ [[ alias bg bind break builtin caller cd command compgen complete compopt
continue declare dirs disown echo enable eval exec exit export false fc fg getopts
hash help history jobs kill let local logout mapfile popd printf pushd pwd read
readarray readonly return set shift shopt source suspend test times trap true type
typeset ulimit umask unalias unset wait
""".split())
SHELL_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until",
                  "!", "{", "}", "]]", "time"}
SEPARATORS = {"|", "||", "&&", ";", "&", "|&", "(", ")", ";;", "\n"}
REDIRECTIONS = {">", ">>", "<", "<<<", ">&", "<&", "&>", "&>>", ">|"}
# Wrappers whose argument (after their own options) is the command they run, and
# their options that take a value.
WRAPPERS = {
    "exec": set(), "sudo": {"-u", "-g"}, "env": {"-u"}, "nice": {"-n"}, "nohup": set(),
    "timeout": {"-s", "-k"}, "fakeroot": set(),
    "xvfb-run": {"-s", "-n", "-e", "-f", "-p", "-w", "--server-args", "--server-num",
                 "--error-file", "--auth-file", "--xauth-protocol", "--wait"},
}


def source_files():
    """Every file of the source tree, minus build folders and VCS data."""
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel = os.path.relpath(dirpath, ROOT)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("build")
                             and not (rel == "." and d in ("obj-x86_64-linux-gnu",)))
        for f in sorted(filenames):
            yield os.path.join(dirpath, f)


def shebang(path):
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return ""
    return first.decode("utf-8", "replace").strip() if first.startswith(b"#!") else ""


def rel(path):
    return os.path.relpath(path, ROOT)


class Uses:
    """name -> set of places, for modules and programs."""

    def __init__(self):
        self.modules = {}
        self.programs = {}

    def module(self, name, where):
        self.modules.setdefault(name, set()).add(where)

    def program(self, name, where):
        self.programs.setdefault(name, set()).add(where)


# --- Python -------------------------------------------------------------------

def local_module_names(files):
    names = set()
    for f in files:
        if f.endswith(".py"):
            names.add(os.path.basename(f)[:-3])
        if os.path.basename(f) == "__init__.py":
            names.add(os.path.basename(os.path.dirname(f)))
    return names


def first_string(node):
    """The program name of an argument list literal: ["prog", ...]."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        node = node.elts[0]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.split()[0] if node.value.split() else None
    return None


def scan_python(text, where, uses, local):
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        uses.program(f"<unparsable Python: {e}>", where)
        return
    # Argument lists built in a variable first: name = ["prog", ...].
    assigned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            prog = first_string(node.value) if isinstance(node.value, (ast.List, ast.Tuple)) else None
            for t in node.targets:
                if isinstance(t, ast.Name) and prog:
                    assigned.setdefault(t.id, set()).add(prog)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    uses.module(top, where)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                uses.module(top, where)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            fn = node.func.attr
            arg = node.args[0]
            if (owner == "subprocess" and fn in ("run", "call", "check_call", "check_output", "Popen")) \
                    or (owner == "os" and fn in ("execvp", "execv", "execvpe", "spawnvp")):
                if owner == "os" and fn == "spawnvp" and len(node.args) > 1:
                    arg = node.args[1]
                progs = set()
                if isinstance(arg, ast.Name):
                    progs = assigned.get(arg.id, set())
                else:
                    p = first_string(arg)
                    progs = {p} if p else set()
                for p in progs:
                    uses.program(p, where)
            elif owner == "shutil" and fn == "which":
                p = first_string(arg)
                if p:
                    uses.program(p, where)


# --- shell --------------------------------------------------------------------

def split_substitutions(text):
    """Returns text with each $( ... ) and `...` replaced by a plain word, and the
    list of the substituted command texts (scanned as scripts of their own)."""
    out, inner, i = [], [], 0
    while i < len(text):
        if text.startswith("$((", i):  # arithmetic: no commands
            depth, j = 0, i + 1
            while j < len(text):
                depth += text[j] == "("
                depth -= text[j] == ")"
                j += 1
                if depth == 0:
                    break
            out.append("0")
            i = j
        elif text.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += text[j] == "("
                depth -= text[j] == ")"
                j += 1
            inner.append(text[i + 2:j - 1])
            out.append("SUBST")
            i = j
        elif text[i] == "`":
            j = text.find("`", i + 1)
            j = len(text) if j < 0 else j
            inner.append(text[i + 1:j])
            out.append("SUBST")
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out), inner


def shell_tokens(text):
    """Words and operators, with "\n" between lines; a quoted string may span lines."""
    tokens, pending = [], ""
    for line in text.split("\n"):
        pending = pending + "\n" + line if pending else line
        lexer = shlex.shlex(pending, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError:  # an open quote: the string goes on on the next line
            continue
        tokens += merge_words(words) + ["\n"]
        pending = ""
    return tokens


OPERATORS = SEPARATORS | REDIRECTIONS


def merge_words(words):
    """shlex groups runs of operator characters ("()", ");") and splits
    ${var:?a message} at its spaces: undo both."""
    out = []
    for w in words:
        if out and out[-1].count("${") > out[-1].count("}"):
            out[-1] += " " + w
        elif w and set(w) <= set(";&|()<>") and w not in OPERATORS:
            out += list(w)
        else:
            out.append(w)
    return out


def scan_shell(text, where, uses, functions):
    text = text.replace("\\\n", " ")
    # Here-documents: Python ones are scanned as Python; others are data.
    lines, body_of, i = text.split("\n"), [], 0
    kept = []
    while i < len(lines):
        line = lines[i]
        m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        kept.append(line)
        i += 1
        if m:
            end, body = m.group(1), []
            while i < len(lines) and lines[i].strip() != end:
                body.append(lines[i])
                i += 1
            i += 1
            if re.search(r"python3?\b", line):
                body_of.append("\n".join(body))
    for body in body_of:
        scan_python(body, where + " (here-document)", uses, set())
    text, inner = split_substitutions("\n".join(kept))
    for sub in inner:
        scan_shell(sub, where, uses, functions)

    tokens = shell_tokens(text)
    command_pos, skip_rest, wrapper, in_case, case_pattern = True, False, None, 0, False
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        i += 1
        if t == "(" and i >= 2 and tokens[i - 2].endswith("="):  # x=(...) anywhere: an array
            while i < len(tokens) and tokens[i] != ")":
                i += 1
            i += 1
            continue
        if t in SEPARATORS:
            if t == ";;":
                case_pattern = True
            elif t == ")" and case_pattern:
                case_pattern = False
            command_pos, skip_rest, wrapper = True, False, None
            continue
        if case_pattern:
            if t == "esac":
                in_case -= 1
                case_pattern = False
            continue
        if t in REDIRECTIONS or re.fullmatch(r"\d*[<>]+&?", t):
            i += 1  # the file name
            continue
        if t.isdigit() and (nxt in REDIRECTIONS or re.fullmatch(r"[<>]+&?", nxt)):
            continue  # 2>&1
        if skip_rest or not command_pos:
            if t == "in" and skip_rest == "case":
                case_pattern, skip_rest = True, False
                in_case += 1
            continue
        # At a command position.
        if t in ("do", "then", "else", "elif", "!", "{", "}", "if", "while", "until", "time"):
            continue
        if t in ("for", "select"):
            skip_rest = True
            continue
        if t == "case":
            skip_rest = "case"
            continue
        if t in ("fi", "done", "esac", "]]"):
            if t == "esac":
                in_case -= 1
            continue
        if re.fullmatch(r"[A-Za-z_]\w*(\[[^]]*\])?\+?=.*", t):  # assignment
            if re.fullmatch(r"(CC|CXX)=[\w.+-]+", t):  # CC=clang meson setup: the compiler runs
                uses.program(t.split("=", 1)[1], where)
            if t.endswith("=") and nxt == "(":  # array: skip its elements
                while i < len(tokens) and tokens[i] != ")":
                    i += 1
                i += 1
            continue
        if nxt == "(" and i + 1 < len(tokens) and tokens[i + 1] == ")":  # function definition
            functions.add(t)
            i += 2
            continue
        if wrapper is not None:
            if t.startswith("-"):
                if t in WRAPPERS[wrapper]:
                    i += 1
                continue
            if wrapper == "env" and "=" in t:
                continue
            if wrapper == "timeout" and re.fullmatch(r"[\d.]+[smhd]?", t):
                continue
        if re.fullmatch(r"\$\{\w+\[@\]\}", t):  # "${sudo[@]}" cmd: cmd runs
            continue
        if t.startswith("$") or t == "SUBST" or not t:
            command_pos = False
            continue
        if t == "command" and nxt == "-v":  # a probe: the program is optional there
            skip_rest = True
            continue
        command_pos = False
        if t in WRAPPERS:
            if t not in BASH_BUILTINS:
                uses.program(t, where)
            wrapper, command_pos = t, True
            continue
        wrapper = None
        if t in BASH_BUILTINS or t in SHELL_KEYWORDS:
            continue
        if "/" in t and not t.startswith("/"):
            continue  # the project's own scripts and programs
        uses.pending_shell.append((t, where))


# --- meson --------------------------------------------------------------------

MESON_MODULE_TOOLS = [
    (r"gnome\.compile_resources", ["glib-compile-resources"]),
    (r"gnome\.compile_schemas", ["glib-compile-schemas"]),
    (r"i18n\.gettext", ["msgfmt", "xgettext", "msgmerge"]),
    (r"i18n\.merge_file", ["msgfmt"]),
    (r"glib_compile_schemas\s*:\s*true", ["glib-compile-schemas"]),
    # meson falls back to GTK 3's tool, which is what Debian ships.
    (r"gtk_update_icon_cache\s*:\s*true", ["gtk4-update-icon-cache|gtk-update-icon-cache"]),
    (r"update_desktop_database\s*:\s*true", ["update-desktop-database"]),
    (r"update_mime_database\s*:\s*true", ["update-mime-database"]),
]


def scan_meson(text, path, uses):
    where = rel(path)
    here = os.path.dirname(path)
    for m in re.finditer(r"find_program\(\s*'([^']+)'", text):
        name = m.group(1)
        if not os.path.isabs(name) and os.path.exists(os.path.join(here, name)):
            continue  # a script of the project
        uses.program(name, where)
    for pattern, tools in MESON_MODULE_TOOLS:
        if re.search(pattern, text):
            for t in tools:
                uses.program(t, where + " (meson module)")


# --- Debian -------------------------------------------------------------------

def setup_lists():
    with open(os.path.join(ROOT, "tools", "setup.sh"), encoding="utf-8") as f:
        text = f.read()
    lists = {}
    for m in re.finditer(r"^(GAZE_\w+_PACKAGES)=\((.*?)\)", text, re.S | re.M):
        body = "\n".join(line.split("#")[0] for line in m.group(2).split("\n"))
        lists[m.group(1)] = body.split()
    return lists


def installed_packages():
    fmt = ("${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}"
           "\t${Provides}\n")
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True).stdout
    db, providers = {}, {}

    def names(field):
        groups = []
        for group in field.split(","):
            alts = [re.sub(r"[\s(].*", "", a.strip()).split(":")[0] for a in group.split("|")]
            alts = [a for a in alts if a]
            if alts:
                groups.append(alts)
        return groups

    for line in out.splitlines():
        status, pkg, essential, priority, pre, dep, prov = (line.split("\t") + [""] * 7)[:7]
        if not status.startswith("ii"):
            continue
        # Essential and Priority: required packages are on every Debian system
        # (debootstrap's minbase installs them).
        base = "Essential" if essential == "yes" else "required" if priority == "required" else None
        db[pkg] = {"base": base, "depends": names(pre) + names(dep)}
        for alts in names(prov):
            providers.setdefault(alts[0], set()).add(pkg)
    return db, providers


def closure(roots, db, providers):
    """The packages apt installs for roots (Depends and Pre-Depends; of each
    alternative group the first that is installed here), mapped to the root."""
    via = {}
    queue = collections.deque((r, r) for r in roots)
    while queue:
        pkg, root = queue.popleft()
        real = [pkg] if pkg in db else sorted(providers.get(pkg, ()))
        for p in real:
            if p in via:
                continue
            via[p] = root
            for alts in db[p]["depends"]:
                for a in alts:
                    if a in db or a in providers:
                        queue.append((a, root))
                        break
    return via


def owners(paths):
    """dpkg -S for each path (trying the /usr-merged twin): path -> packages."""
    result = {}
    candidates = {}
    for p in paths:
        twins = [p, os.path.realpath(p)]
        for q in list(twins):
            for a, b in (("/usr/bin/", "/bin/"), ("/usr/sbin/", "/sbin/"), ("/usr/lib/", "/lib/")):
                if q.startswith(a):
                    twins.append(b + q[len(a):])
                elif q.startswith(b):
                    twins.append(a + q[len(b):])
        candidates[p] = list(dict.fromkeys(twins))
    allpaths = sorted({q for c in candidates.values() for q in c})
    out = subprocess.run(["dpkg-query", "-S"] + allpaths, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("diversion by"):
            continue
        pkgs, _, path = line.partition(": ")
        found.setdefault(path, set()).update(p.strip().split(":")[0] for p in pkgs.split(","))
    for p, twins in candidates.items():
        result[p] = set().union(*(found.get(q, set()) for q in twins))
    return result


def module_path(name):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen", "namespace"):
        return spec.origin
    locations = list(spec.submodule_search_locations or [])
    return locations[0] if locations else None


def main():
    if shutil.which("dpkg-query") is None:
        print("1..0 # SKIP not a Debian system (no dpkg-query)")
        return 0
    files = list(source_files())
    uses = Uses()
    uses.pending_shell = []
    functions, own_programs = set(), set()
    local = local_module_names(files)
    for f in files:
        r, base, sb = rel(f), os.path.basename(f), shebang(f)
        try:
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        if base.endswith(".py") or "python" in sb:
            scan_python(text, r, uses, local)
            if sb:
                uses.program(sb[2:].split()[0] if not sb.startswith("#!/usr/bin/env")
                             else sb.split()[1], r + " (#!)")
        elif base.endswith(".sh") or re.search(r"\b(ba)?sh\b", sb) or r.startswith(".ci" + os.sep):
            scan_shell(text, r, uses, functions)
            if sb:
                uses.program(sb[2:].split()[0] if not sb.startswith("#!/usr/bin/env")
                             else sb.split()[1], r + " (#!)")
        elif r == os.path.join("debian", "rules"):
            recipes = "\n".join(line[1:] for line in text.splitlines() if line.startswith("\t"))
            while re.search(r"\$\([^()]*\)", recipes):  # make's $(...), not the shell's
                recipes = re.sub(r"\$\([^()]*\)", "MAKEVAR", recipes)
            scan_shell(recipes, r, uses, functions)
            uses.program("make", r + " (#!)")
        elif base == "meson.build":
            scan_meson(text, f, uses)
            # The project's own programs (.ci/package runs the installed ones).
            own_programs.update(re.findall(r"executable\(\s*'([^']+)'", text))
    for name, where in uses.pending_shell:
        if name not in functions and name not in own_programs:
            uses.program(name, where)

    lists = setup_lists()
    db, providers = installed_packages()
    closures = {name: closure(pkgs, db, providers) for name, pkgs in lists.items()}

    checks = []  # (kind, name, path or None, places)
    for name in sorted(uses.modules):
        checks.append(("module", name, module_path(name), uses.modules[name]))
    for name in sorted(uses.programs):
        path = None
        for alt in name.split("|"):  # alternatives: the first one found
            path = path or (alt if os.path.isabs(alt) else shutil.which(alt, path=STANDARD_PATH))
        if path is not None and not os.path.exists(path):
            path = None
        checks.append(("program", name, path, uses.programs[name]))
    owner = owners([c[2] for c in checks if c[2]])

    print(f"1..{len(checks)}")
    failed = 0
    for n, (kind, name, path, places) in enumerate(checks, 1):
        where = ", ".join(sorted(places)[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        if path is None:
            elsewhere = shutil.which(name) if kind == "program" else None
            hint = (f" (only {elsewhere} outside Debian's packages)" if elsewhere
                    else " and not installed")
            print(f"not ok {n} - {kind} {name} (used by {where}): no Debian package provides it here"
                  f"{hint}; install its package and add it to a list in tools/setup.sh")
            failed += 1
            continue
        pkgs = owner.get(path, set())
        if not pkgs:
            print(f"not ok {n} - {kind} {name} (used by {where}): {path} belongs to no Debian package "
                  f"(installed by pip or by hand?); use the Debian package and list it in tools/setup.sh")
            failed += 1
            continue
        reason = None
        for pkg in sorted(pkgs):  # named in a list, else pulled in, else Essential
            reason = reason or next((f"{pkg} ({lst})" for lst, named in lists.items()
                                     if pkg in named), None)
        for pkg in sorted(pkgs):
            reason = reason or next((f"{pkg} (via {closures[lst][pkg]}, {lst})"
                                     for lst in lists if pkg in closures[lst]), None)
        for pkg in sorted(pkgs):
            if reason is None and db.get(pkg, {}).get("base"):
                reason = f"{pkg} ({db[pkg]['base']}: on every Debian system)"
        if reason:
            print(f"ok {n} - {kind} {name}: {reason}")
        else:
            print(f"not ok {n} - {kind} {name} (used by {where}): provided by {', '.join(sorted(pkgs))}, "
                  f"which no list in tools/setup.sh installs; add it to one")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
