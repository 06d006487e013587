#!/usr/bin/env python3
"""Function-length ratchet for stampede (run by lint.sh; see the rule there).

    python3 tests/lint/funclen.py REPO_ROOT ALLOWLIST MAX_LINES DIR...

Lists every function in the C++ sources (*.hpp *.cpp *.h *.cc *.ipp) under REPO_ROOT/DIR... whose
length, from the line of its name to the line of its closing brace, exceeds MAX_LINES. Lambdas and
local classes count as part of the function around them. A function is named `path:name`, where
name carries its qualification as written (`DfsScheduler::choose`) and, for a member defined
inside its class, the enclosing classes (`Explorer::run`); overloads share one name.

The ratchet: ALLOWLIST (one `path:name` per line; `#` comments and blank lines ignored) names the
functions that are still long. The check fails (exit 1) for a long function that is not listed and
for a listed one that is no longer long (or no longer exists), so the list can only shrink. Exit 0
when clean, 2 on bad usage.

How: comments, string literals (raw ones too), character literals and preprocessor lines are
blanked, then braces are matched. A `{` opens a function body when the text before it, since the
last `;`, `{` or `}` of that scope, holds a parenthesised parameter list and is not a class,
namespace or initializer (`=`); member initializer braces (`x_{a}`) of a constructor are skipped.
"""
import os
import re
import sys

EXTS = ('.hpp', '.cpp', '.h', '.cc', '.ipp')
IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
SCOPE_WORDS = {'class', 'struct', 'union', 'enum'}
# Words that precede a parenthesis without naming a function.
NOT_NAMES = {'decltype', 'alignas', 'noexcept', 'requires', 'sizeof', 'alignof', '__attribute__',
             'static_assert', 'explicit', 'if', 'for', 'while', 'switch', 'return', 'catch'}


def strip(text):
    """Blanks comments, literals and preprocessor lines, keeping every newline in place."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if c == '\n':
            out.append(c)
            i += 1
            line_start = True
            continue
        if line_start and c in ' \t':
            out.append(c)
            i += 1
            continue
        if line_start and c == '#':
            # A preprocessor directive, with its backslash continuations.
            while i < n and text[i] != '\n':
                if text[i] == '\\' and i + 1 < n and text[i + 1] == '\n':
                    out.append(' \n')
                    i += 2
                    continue
                out.append(' ')
                i += 1
            continue
        line_start = False
        if text.startswith('//', i):
            while i < n and text[i] != '\n':
                out.append(' ')
                i += 1
            continue
        if text.startswith('/*', i):
            end = text.find('*/', i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:end]))
            i = end
            continue
        m = re.match(r'(?:u8|u|U|L)?R"([^ ()\\\t\n]{0,16})\(', text[i:i + 24])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == '_')):
            close = ')' + m.group(1) + '"'
            end = text.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            out.append(re.sub(r'[^\n]', ' ', text[i:end]))
            i = end
            continue
        if c == "'" and i > 0 and re.match(r'[0-9A-Fa-f]', text[i - 1]) and \
                i + 1 < n and re.match(r'[0-9A-Za-z]', text[i + 1]) and \
                not re.search(r'(?<![A-Za-z0-9_])u8$', text[max(0, i - 3):i]):
            out.append(' ')  # a digit separator: 1'000'000
            i += 1
            continue
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            end = min(j + 1, n)
            out.append(re.sub(r'[^\n]', ' ', text[i:end]))
            i = end
            continue
        out.append(c)
        i += 1
    return ''.join(out)


def drop_template_prefix(header):
    """Removes leading `template <...>` clauses (balanced angle brackets)."""
    while True:
        m = re.match(r'\s*template\s*<', header)
        if not m:
            return header
        depth, i = 1, m.end()
        while i < len(header) and depth:
            depth += {'<': 1, '>': -1}.get(header[i], 0)
            i += 1
        header = header[i:]


def drop_leading_macros(header):
    """Removes leading upper-case macro calls such as `STAMPEDE_FIELDS(a, b)` (no semicolon)."""
    while True:
        m = re.match(r'\s*(?:(?:public|private|protected)\s*:(?!:)\s*)?[A-Z][A-Z0-9_]*\s*\(', header)
        if not m:
            return header
        depth, i = 1, m.end()
        while i < len(header) and depth:
            depth += {'(': 1, ')': -1}.get(header[i], 0)
            i += 1
        header = header[i:]


def depth0_positions(header, chars):
    """Offsets of the given characters that lie outside any (), [] or <> of the header."""
    found, depth = [], 0
    for i, c in enumerate(header):
        if c in '([':
            if depth == 0 and c in chars:
                found.append(i)
            depth += 1
        elif c in ')]':
            depth -= 1
        elif depth == 0 and c in chars:
            found.append(i)
    return found


def classify(header):
    """'scope', 'function' (with its name and the name's offset) or 'other' for a `{`'s header."""
    body = drop_leading_macros(drop_template_prefix(header))
    words = IDENT.findall(body)
    if not words:
        return ('other', None, 0)
    parens = depth0_positions(body, '(')
    if words[0] == 'namespace' or words[:2] == ['inline', 'namespace'] or \
            (words[0] == 'extern' and not parens):  # extern "C" { ... }
        return ('scope', None, 0)
    first_paren = parens[0] if parens else len(body)
    for m in IDENT.finditer(body[:first_paren]):
        if m.group(0) in SCOPE_WORDS:
            rest = [w for w in IDENT.findall(body[m.end():first_paren]) if w not in SCOPE_WORDS]
            return ('class', rest[0] if rest else None, 0)
    if not parens:
        return ('other', None, 0)
    # `=` outside brackets (not ==, <=, >=, != or operator=) means an initializer.
    for i in depth0_positions(body, '='):
        before, after = body[:i].rstrip(), body[i + 1:i + 2]
        if after == '=' or before[-1:] in '=<>!+-*/%&|^' or before.endswith('operator'):
            continue
        return ('other', None, 0)
    offset = len(header) - len(body)
    op = re.search(r'\boperator\b', body)
    if op:
        name_start = op.start()
        close = body.find('(', op.end() + (2 if body[op.end():].lstrip().startswith('()') else 0))
        if body[op.end():].lstrip().startswith('()'):
            close = body.find('(', body.find(')', op.end()) + 1)
        name = re.sub(r'\s+', '', body[op.start():close])
        qual = re.search(r'((?:[A-Za-z_][A-Za-z0-9_]*\s*(?:<[^<>()]*>)?\s*::\s*)*)$', body[:op.start()])
        if qual and qual.group(1):
            name = re.sub(r'\s+', '', qual.group(1)) + name
            name_start = qual.start(1)
        return ('function', name, offset + name_start)
    for p in parens:
        m = re.search(r'((?:[A-Za-z_][A-Za-z0-9_]*\s*(?:<[^<>()]*>)?\s*::\s*)*~?\s*'
                      r'[A-Za-z_][A-Za-z0-9_]*)\s*$', body[:p])
        if not m:
            continue
        name = re.sub(r'<[^<>()]*>', '', re.sub(r'\s+', '', m.group(1)))
        if name in NOT_NAMES or name.split('::')[-1] in NOT_NAMES:
            continue
        return ('function', name, offset + m.start(1))
    return ('other', None, 0)


def functions(code):
    """Yields (name, first_line, last_line) for every function body in stripped code."""
    line_of = []
    line = 1
    for c in code:
        line_of.append(line)
        if c == '\n':
            line += 1
    # Each open scope: (kind, class name or None). Kinds: file, scope, class, other.
    stack = [('file', None)]
    header_start = 0
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in ';}':
            if c == '}' and len(stack) > 1:
                stack.pop()
            header_start = i + 1
        elif c == '{':
            kind, name, offset = classify(code[header_start:i])
            if kind == 'function':
                body_open = skip_member_inits(code, header_start, i)
                end = matching_brace(code, body_open)
                classes = [s[1] for s in stack if s[0] == 'class' and s[1]]
                qualified = '::'.join(classes + [name])
                yield (qualified, line_of[header_start + offset], line_of[min(end, n - 1)])
                i = end + 1
                header_start = i
                continue
            if kind == 'other':
                # An initializer or other block outside any function: skip it whole.
                end = matching_brace(code, i)
                i = end + 1
                continue
            stack.append((kind, name))
            header_start = i + 1
        i += 1


def skip_member_inits(code, header_start, brace):
    """The `{` of the body: after `) :`, braces preceded by a name or `>` are member inits."""
    header = code[header_start:brace]
    if not re.search(r'\)\s*(?:noexcept\s*)?:(?!:)', header):
        return brace
    i = brace
    while True:
        before = code[header_start:i].rstrip()
        if not before or not (before[-1].isalnum() or before[-1] in '_>'):
            return i
        i = matching_brace(code, i) + 1
        while i < len(code) and code[i] != '{':
            i += 1
        if i >= len(code):
            return brace


def matching_brace(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == '{':
            depth += 1
        elif code[j] == '}':
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def main(argv):
    if len(argv) < 5 or not os.path.isdir(argv[1]):
        print('usage: funclen.py REPO_ROOT ALLOWLIST MAX_LINES DIR...', file=sys.stderr)
        return 2
    root, allow_path, max_lines, dirs = argv[1], argv[2], int(argv[3]), argv[4:]
    allowed = {}
    if os.path.exists(allow_path):
        with open(allow_path, encoding='utf-8') as f:
            for number, raw in enumerate(f, 1):
                entry = raw.split('#', 1)[0].strip()
                if entry:
                    allowed[entry] = number
    files = []
    for d in dirs:
        for base, _, names in os.walk(os.path.join(root, d)):
            files += [os.path.join(base, x) for x in names if x.endswith(EXTS)]
    long_ones = {}
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        with open(path, encoding='utf-8', errors='replace') as f:
            code = strip(f.read())
        for name, first, last in functions(code):
            length = last - first + 1
            if length > max_lines:
                long_ones.setdefault(f'{rel}:{name}', []).append((first, length))
    bad = 0
    for key, spots in sorted(long_ones.items()):
        if key in allowed:
            continue
        rel = key.split(':', 1)[0]
        for first, length in spots:
            print(f'{rel}:{first}: [function-length] {key.split(":", 1)[1]} is {length} lines, '
                  f'over {max_lines}: split it into well-named pieces')
            bad += 1
    for key, number in sorted(allowed.items(), key=lambda kv: kv[1]):
        if key not in long_ones and key.split(':', 1)[0].split('/', 1)[0] in dirs:
            print(f'{allow_path}:{number}: [function-length] {key} is no longer '
                  f'over {max_lines} lines (or is gone): remove it from the list')
            bad += 1
    if bad:
        print(f'funclen: {bad} problem(s)')
        return 1
    print(f'funclen: OK, {len(files)} files checked, {len(long_ones)} long function(s) allowed')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
