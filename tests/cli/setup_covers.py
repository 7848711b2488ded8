#!/usr/bin/env python3
"""setup_covers.py — does scripts/setup.sh install every command our shell scripts run?

The tests, benchmarks and CI run shell scripts that call vips, sqlite3, python3, node, bc...
On a fresh Debian 12 machine those commands exist only if scripts/setup.sh installs their
package, or if the package is part of Debian's base system. This checker finds the commands the
scripts run and fails, naming the command and the script, when one is not covered:

  1. find the words in command position in each shell script: start of a line, after
     | || && ; & ( $( ` { ! and the keywords then do else elif if while until; also the command
     that `command -v`, `exec`, `env`, `timeout`, `xargs`, `nice`, `nohup`, `setpriv` and
     `sudo` run, and the code of `trap '...'` and `bash -c '...'`. Skipped: shell keywords and
     builtins, functions defined in any scanned script, words that are or contain expansions
     ("$FACESEARCH", "${as_user[@]}") and paths (./build/facesearch, "$here/x.sh"). Quoted
     strings, heredoc bodies, arithmetic and [[ ]] are not code and are not read.
  2. resolve each command to a file in /usr/bin, /bin, /usr/sbin or /sbin (never through PATH:
     a pyenv or nvm shim would hide that Debian's python3 or node is missing);
  3. find the Debian package that owns that file (dpkg-query -S; a link such as an alternative
     is followed to the file it names);
  4. accept the package when `setup.sh --list` names it, when it is a dependency (recursively,
     among installed packages) of one it names, or when Debian installs it on every system
     (Essential: yes, or Priority required or important).

  setup_covers.py [--verbose] SETUP_SH PATH...   PATH: a shell script, or a folder searched for
                                                  *.sh files and files with a sh/bash shebang
Exit 0 when every command is covered; 1 with one line per problem on stdout; 2 on bad usage.
--verbose also prints how each command is covered.
"""
import os
import re
import subprocess
import sys

BIN_DIRS = ("/usr/bin", "/bin", "/usr/sbin", "/sbin")

# Words that open a command list: the next word is in command position again.
OPENING_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
CLOSING_KEYWORDS = {"fi", "done", "esac", "}", "in"}
BUILTINS = set("""
    : . [ alias bg bind break builtin caller cd command compgen complete compopt continue declare
    dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill
    let local logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt
    source suspend test times trap true type typeset ulimit umask unalias unset wait
    """.split())
# Commands that run another command: options that take a value, and how many plain words come
# before the command (timeout's duration).
WRAPPERS = {
    "command": (set(), 0), "exec": ({"-a"}, 0), "nohup": (set(), 0),
    "nice": ({"-n"}, 0), "env": ({"-u", "-C", "-S"}, 0), "sudo": ({"-u", "-g"}, 0),
    "timeout": ({"-s", "-k"}, 1), "setpriv": (set(), 0),
    "xargs": ({"-I", "-n", "-P", "-d", "-L", "-s", "-a", "-E"}, 0),
}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
PLAIN = re.compile(r"[A-Za-z0-9_.+@%,:-]+")
REDIRECTION = re.compile(r"(\d*|\{[A-Za-z_][A-Za-z0-9_]*\})(<<<|<<-|<<|<>|<&|>&|>>|>\||&>>|&>|<|>)")


class Word:
    """One shell word: its text with quotes removed; bare: written without quotes, escapes or
    expansions (so it can be a keyword); plain: bare and a possible command name (no slash);
    literal: its value when it is one quoted string without expansions, else None."""

    def __init__(self, text, bare, literal, line):
        self.text, self.bare, self.literal, self.line = text, bare, literal, line
        self.plain = bare and bool(PLAIN.fullmatch(text))


class Scanner:
    """Reads one script's text and collects (command, line) uses and function names."""

    def __init__(self, text, uses, functions, first_line=1):
        self.s, self.i, self.line = text, 0, first_line
        self.uses, self.functions = uses, functions
        self.heredocs = []  # (delimiter, strip_tabs) whose bodies start at the next newline
        self.in_backticks = 0  # inside `...`, where a backtick ends the code

    # ---- characters ----
    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def starts(self, text):
        return self.s.startswith(text, self.i)

    def advance(self, n=1):
        self.line += self.s.count("\n", self.i, self.i + n)
        self.i += n

    def skip_to(self, end):
        """Skips past the next `end` (or to the end of the text)."""
        j = self.s.find(end, self.i)
        self.advance((len(self.s) if j < 0 else j + len(end)) - self.i)

    def skip_blanks(self):
        while self.peek() in (" ", "\t") or self.starts("\\\n"):
            self.advance(2 if self.peek() == "\\" else 1)

    def skip_balanced(self, depth):
        """Skips arithmetic after its opening parentheses, to where `depth` of them close (a
        command substitution inside is parsed)."""
        while self.i < len(self.s) and depth:
            c = self.peek()
            if self.starts("$(") and not self.starts("$(("):
                self.advance(2)
                self.parse(")")
                continue
            depth += (c == "(") - (c == ")")
            self.advance()

    def skip_heredoc_bodies(self):
        for delim, strip_tabs in self.heredocs:
            while self.i < len(self.s):
                j = self.s.find("\n", self.i)
                j = len(self.s) if j < 0 else j
                line = self.s[self.i:j]
                self.advance(min(j + 1, len(self.s)) - self.i)
                if (line.lstrip("\t") if strip_tabs else line) == delim:
                    break
        self.heredocs = []

    # ---- words ----
    def read_dollar(self):
        """At a `$`: skips an expansion, parsing the code of a command substitution."""
        if self.starts("$(("):
            self.advance(3)
            self.skip_balanced(2)
        elif self.starts("$("):
            self.advance(2)
            self.parse(")")
        elif self.starts("${"):
            self.advance(2)
            depth = 1
            while self.i < len(self.s) and depth:
                if self.peek() == "$":
                    self.read_dollar()
                    continue
                if self.peek() in "'\"":
                    self.read_quoted()
                    continue
                depth += (self.peek() == "{") - (self.peek() == "}")
                self.advance(2 if self.peek() == "\\" else 1)
        elif self.starts("$'"):
            self.advance(2)
            while self.i < len(self.s) and self.peek() != "'":
                self.advance(2 if self.peek() == "\\" else 1)
            self.advance()
        else:
            self.advance()

    def read_quoted(self):
        """At a quote: reads the quoted string; returns (value, has_expansions)."""
        q = self.peek()
        self.advance()
        start, expanded = self.i, False
        if q == "'":
            self.skip_to("'")
            return self.s[start:self.i - 1], False
        while self.i < len(self.s) and self.peek() != '"':
            if self.peek() == "\\":
                self.advance(2)
            elif self.peek() == "$" and self.peek(1) not in ("", '"', " "):
                expanded = True
                self.read_dollar()
            elif self.peek() == "`":
                expanded = True
                self.advance()
                self.parse("`")
            else:
                self.advance()
        value = self.s[start:self.i]
        self.advance()
        return value, expanded

    def read_word(self):
        line, text, plain, parts = self.line, [], True, 0
        literal = None
        while self.i < len(self.s):
            c = self.peek()
            if c == "`" and self.in_backticks:
                break
            if c in " \t\n;&|()<>":
                # NAME=( ... ): an array literal, words that are not commands
                if c == "(" and ASSIGNMENT.fullmatch("".join(text)) and plain:
                    self.advance()
                    self.read_words_until(")")
                    plain = False
                    continue
                break
            parts += 1
            if c in "'\"":
                value, expanded = self.read_quoted()
                text.append(value)
                literal = None if expanded else value
                plain = False
            elif c == "$":
                self.read_dollar()
                plain = False
            elif c == "`":
                self.advance()
                self.parse("`")
                plain = False
            elif c == "\\":
                text.append(self.s[self.i + 1:self.i + 2])
                self.advance(2)
                plain = False
            else:
                text.append(c)
                self.advance()
        text = "".join(text)
        return Word(text, plain and bool(text), literal if parts == 1 else None, line)

    def read_words_until(self, end):
        while self.i < len(self.s):
            self.skip_blanks()
            c = self.peek()
            if c == end:
                self.advance()
                return
            if c == "\n":
                self.advance()
            elif c == "#":
                self.skip_to("\n")
            elif c in ";&|()<>":
                self.advance()
            else:
                self.read_word()

    def skip_test(self):
        """After `[[`: reads the words of the test (for their substitutions) up to `]]`."""
        while self.i < len(self.s):
            self.skip_blanks()
            if self.starts("]]"):
                self.advance(2)
                return
            if self.peek() in "\n;&|()<>!":
                self.advance()
            else:
                self.read_word()

    # ---- commands ----
    def use(self, word):
        self.uses.append((word.text, word.line))

    def nested(self, code, line):
        """Parses a string that the shell will run as code (trap, bash -c)."""
        Scanner(code, self.uses, self.functions, line).parse(None)

    def parse(self, stop):
        """Parses commands up to `stop` (")" or "`", or None: the end of the text)."""
        self.in_backticks += stop == "`"
        try:
            self.parse_list(stop)
        finally:
            self.in_backticks -= stop == "`"

    def parse_list(self, stop):
        cmdpos = True       # the next word is a command
        command = None      # the command being read, with its arguments
        args = []
        wrapper = None      # [name, values to skip, plain words to skip] while a wrapper's command is due
        case_depth = []     # per open `case`: "word" (up to `in`), "pattern" or "body"
        while self.i < len(self.s):
            c = self.peek()
            if c == "\n":
                self.advance()
                self.skip_heredoc_bodies()
                if case_depth and case_depth[-1] == "word":
                    continue
                cmdpos, command, wrapper = True, None, None
                continue
            if c in " \t" or self.starts("\\\n"):
                self.skip_blanks()
                continue
            if c == "#":  # a comment, up to the newline that ends the command
                j = self.s.find("\n", self.i)
                self.i = len(self.s) if j < 0 else j
                continue
            if stop and c == stop:
                self.advance()
                return
            if case_depth and case_depth[-1] == "pattern" and c != "\n":
                # a pattern of a case item, up to `)`, or `esac`
                if self.starts("esac") and self.s[self.i + 4:self.i + 5] in ("", " ", "\t", "\n", ";", ")"):
                    self.advance(4)
                    case_depth.pop()
                    cmdpos, command = False, None
                    continue
                while self.i < len(self.s) and self.peek() != ")":
                    if self.peek() in "'\"":
                        self.read_quoted()
                    else:
                        self.advance()
                self.advance()
                case_depth[-1] = "body"
                cmdpos, command, wrapper = True, None, None
                continue
            m = REDIRECTION.match(self.s, self.i)
            if m:
                self.advance(m.end() - self.i)
                self.skip_blanks()
                op = m.group(2)
                if op in ("<<", "<<-"):
                    target = self.read_word()
                    self.heredocs.append((target.literal if target.literal is not None else target.text,
                                          op == "<<-"))
                elif self.peek() == "(" and op in ("<", ">"):   # <(cmd) >(cmd)
                    self.advance()
                    self.parse(")")
                else:
                    self.read_word()
                continue
            if self.starts(";;") or self.starts(";&"):
                self.advance(3 if self.starts(";;&") else 2)
                if case_depth:
                    case_depth[-1] = "pattern"
                cmdpos, command, wrapper = True, None, None
                continue
            if c in ";&|":
                self.advance(2 if self.starts("&&") or self.starts("||") or self.starts("|&") else 1)
                cmdpos, command, wrapper = True, None, None
                continue
            if c == "(":
                if self.starts("((") and cmdpos:
                    self.advance(2)
                    self.skip_balanced(2)
                else:
                    self.advance()
                    self.parse(")")
                cmdpos, command = False, None
                continue
            if c == ")":  # closes something this scanner did not open; keep going
                self.advance()
                cmdpos, command = True, None
                continue

            word = self.read_word()
            if case_depth and case_depth[-1] == "word":
                if word.text == "in" and word.plain:
                    case_depth[-1] = "pattern"
                continue
            if cmdpos:
                self.skip_blanks()
                if ASSIGNMENT.match(word.text) and not word.text.startswith("="):
                    continue  # VAR=value, then maybe a command
                if word.plain and self.peek() == "(" and re.match(r"\(\s*\)", self.s[self.i:]):
                    self.functions.add(word.text)  # NAME() { ...; }
                    self.advance(re.match(r"\(\s*\)", self.s[self.i:]).end())
                    continue
                if word.bare and word.text in OPENING_KEYWORDS:
                    continue
                cmdpos, command, args = False, None, []
                if word.bare and word.text == "esac" and case_depth:
                    case_depth.pop()
                    continue
                if word.bare and word.text in CLOSING_KEYWORDS:
                    continue
                if word.bare and word.text == "[[":
                    self.skip_test()
                    continue
                if not word.plain:
                    continue
                if word.text in ("for", "select"):
                    self.skip_blanks()
                    if self.starts("(("):
                        self.advance(2)
                        self.skip_balanced(2)
                    continue
                if word.text == "case":
                    case_depth.append("word")
                    continue
                if word.text == "function":
                    self.skip_blanks()
                    self.functions.add(self.read_word().text)
                    continue
                command = word.text
                if command not in BUILTINS or command in ("command", "exec"):
                    if command not in BUILTINS:
                        self.use(word)
                    if command in WRAPPERS:
                        takes_value, plain_words = WRAPPERS[command]
                        wrapper = [command, 0, plain_words]
                continue
            # an argument
            args.append(word)
            if wrapper:
                name, skip_values, skip_plain = wrapper
                if skip_values:
                    wrapper[1] -= 1
                elif word.text.startswith("-") and word.text != "-":
                    if word.text in WRAPPERS[name][0]:
                        wrapper[1] = 1
                elif name == "env" and ASSIGNMENT.match(word.text):
                    pass
                elif skip_plain:
                    wrapper[2] -= 1
                else:
                    wrapper = None
                    if word.plain and word.text not in BUILTINS:
                        self.use(word)
                        command = word.text
                        if command in WRAPPERS:
                            wrapper = [command, 0, WRAPPERS[command][1]]
                continue
            if command == "trap" and len(args) == 1:
                code = word.literal if word.literal is not None else word.text if word.plain else None
                if code is not None:
                    self.nested(code, word.line)
            if command in ("bash", "sh") and len(args) >= 2 and args[-2].text == "-c" \
                    and word.literal is not None:
                self.nested(word.literal, word.line)


def shell_scripts(paths):
    """The shell scripts among PATHs: files given by name, and in folders (not node_modules)
    the *.sh files and files whose first line names sh or bash."""
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d != "node_modules" and not d.startswith("."))
            for name in sorted(files):
                full = os.path.join(root, name)
                if name.endswith(".sh"):
                    found.append(full)
                elif "." not in name:
                    with open(full, "rb") as f:
                        first = f.readline(200)
                    if first.startswith(b"#!") and re.search(rb"\b(ba)?sh\b", first):
                        found.append(full)
    return found


def owners(paths):
    """dpkg-query -S on many paths at once: {path: [packages]} for the paths a package owns."""
    run = subprocess.run(["dpkg-query", "-S", *paths], capture_output=True, text=True)
    found = {}
    for line in run.stdout.splitlines():
        if line.startswith("diversion by "):
            continue
        packages, _, path = line.partition(": ")
        found.setdefault(path, []).extend(p.strip().split(":")[0] for p in packages.split(","))
    return found


def installed_packages():
    """{package: (essential, priority, [[alternatives] per dependency])}, and {virtual: [providers]}."""
    fmt = "${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\t${Provides}\t${Pre-Depends}, ${Depends}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True).stdout
    packages, provides = {}, {}

    def names(field):
        return [re.sub(r"[\s(:].*", "", alt.strip()) for alt in field.split("|") if alt.strip()]

    for line in out.splitlines():
        status, name, essential, priority, provided, depends = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):
            continue
        deps = [names(group) for group in depends.split(",") if group.strip()]
        packages[name] = (essential, priority, deps)
        for virtual in names(provided.replace(",", "|")):
            provides.setdefault(virtual, []).append(name)
    return packages, provides


def installed_by_setup(listed, packages, provides):
    """The listed packages and, recursively, the installed packages they depend on (every
    installed alternative of a dependency, and the installed providers of a virtual one)."""
    todo, seen = list(listed), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for group in packages.get(name, ("", "", []))[2]:
            for alt in group:
                todo.extend([alt] if alt in packages else provides.get(alt, []))
    return seen


def main(argv):
    verbose = "--verbose" in argv
    argv = [a for a in argv if a != "--verbose"]
    if len(argv) < 2:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    setup, paths = argv[0], argv[1:]
    listed = subprocess.run(["bash", setup, "--list"], capture_output=True, text=True, check=True).stdout.split()

    uses, functions = {}, set()  # command -> [(script, line)]
    for script in shell_scripts(paths):
        found = []
        with open(script, encoding="utf-8", errors="replace") as f:
            Scanner(f.read(), found, functions).parse(None)
        for name, line in found:
            uses.setdefault(name, []).append((script, line))
    for name in functions:
        uses.pop(name, None)

    files = {}  # command -> candidate files: each place it is found, and what a link leads to
    for name in uses:
        for d in BIN_DIRS:
            path = os.path.join(d, name)
            if os.path.lexists(path) and os.access(path, os.X_OK):
                files.setdefault(name, []).extend(dict.fromkeys([path, os.path.realpath(path)]))
    owned = owners(sorted({p for ps in files.values() for p in ps})) if files else {}
    packages, provides = installed_packages()
    covered = installed_by_setup(listed, packages, provides)

    problems = []
    for name in sorted(uses):
        script, line = uses[name][0]
        where = "%s:%d" % (script, line) + (" and %d more" % (len(uses[name]) - 1) if len(uses[name]) > 1 else "")
        if name not in files:
            problems.append("%s (used in %s): not found in %s; scripts/setup.sh should install the "
                            "Debian package that provides it" % (name, where, ", ".join(BIN_DIRS)))
            continue
        owners_of = [p for path in files[name] for p in owned.get(path, [])]
        if not owners_of:
            problems.append("%s (used in %s): %s belongs to no Debian package"
                            % (name, where, files[name][0]))
            continue
        why = None
        for pkg in owners_of:
            essential, priority = packages.get(pkg, ("", "", []))[:2]
            if pkg in listed:
                why = "package %s, listed in setup.sh" % pkg
            elif essential == "yes" or priority in ("required", "important"):
                why = "package %s, in the base system (%s)" % (pkg, "Essential" if essential == "yes" else priority)
            elif pkg in covered:
                why = "package %s, a dependency of the packages setup.sh lists" % pkg
            if why:
                break
        if why and verbose:
            print("ok %s: %s" % (name, why))
        if not why:
            problems.append("%s (used in %s): its package %s is neither installed by scripts/setup.sh "
                            "nor part of the base system; add it to setup.sh's packages"
                            % (name, where, " or ".join(dict.fromkeys(owners_of))))
    for problem in problems:
        print("setup does not cover " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
