#!/usr/bin/env python3
# test-po.py — translations stay complete: every language in po/LINGUAS
# translates every string of the current sources, nothing fuzzy, and every
# source file with translatable strings is listed in po/POTFILES.in. TAP.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import re
import subprocess
import sys
import tempfile

root = os.environ.get('GAZE_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..'))
po_dir = os.path.join(root, 'po')
tests = []


def check(name, ok, diag=''):
    tests.append((name, ok, diag))


def potfiles():
    with open(os.path.join(po_dir, 'POTFILES.in'), encoding='utf-8') as f:
        return [l.strip() for l in f if l.strip() and not l.startswith('#')]


listed = potfiles()
check('POTFILES.in entries exist',
      all(os.path.exists(os.path.join(root, p)) for p in listed),
      ' '.join(p for p in listed if not os.path.exists(os.path.join(root, p))))

# Source files of the GUI with translatable strings must be listed.
marker_c = re.compile(r'\b(?:_|N_|C_|NC_)\s*\(\s*"')
marker_ui = re.compile(r'translatable="yes"')
unlisted = []
for sub in ('ui', 'app/gaze'):
    for dirpath, _dirs, files in os.walk(os.path.join(root, sub)):
        for fn in files:
            path = os.path.join(dirpath, fn)
            rel = os.path.relpath(path, root)
            if fn.endswith('.c'):
                pat = marker_c
            elif fn.endswith('.ui'):
                pat = marker_ui
            else:
                continue
            with open(path, encoding='utf-8') as f:
                if pat.search(f.read()) and rel not in listed:
                    unlisted.append(rel)
check('every file with translatable strings is in POTFILES.in', not unlisted, ' '.join(unlisted))

with open(os.path.join(po_dir, 'LINGUAS'), encoding='utf-8') as f:
    linguas = [l.strip() for l in f if l.strip() and not l.startswith('#')]
check('LINGUAS names at least one language', len(linguas) > 0)

with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, 'gaze.pot')
    # The keywords of meson's glib preset.
    xgettext = ['xgettext', '--from-code=UTF-8', '--add-comments', '--package-name=gaze',
                '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
                '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
                '--keyword=g_dpgettext2:2c,3',
                '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format',
                '--flag=NC_:2:pass-c-format', '--flag=g_dngettext:2:pass-c-format',
                '--flag=g_strdup_printf:1:c-format', '--flag=g_string_printf:2:c-format',
                '--flag=g_string_append_printf:2:c-format', '--flag=g_error_new:3:c-format',
                '--flag=g_set_error:4:c-format',
                '-D', root, '-f', os.path.join(po_dir, 'POTFILES.in'), '-o', pot]
    r = subprocess.run(xgettext, capture_output=True, text=True)
    check('xgettext extracts the template', r.returncode == 0 and os.path.exists(pot), r.stderr)

    for lang in linguas:
        po = os.path.join(po_dir, lang + '.po')
        merged = os.path.join(tmp, lang + '.po')
        r = subprocess.run(['msgmerge', '--quiet', '--no-fuzzy-matching', po, pot, '-o', merged],
                           capture_output=True, text=True)
        check(f'{lang}: msgmerge with the current sources', r.returncode == 0, r.stderr)
        if r.returncode != 0:
            continue
        r = subprocess.run(['msgfmt', '--check', '--statistics', '-o', os.devnull, merged],
                           capture_output=True, text=True, env=dict(os.environ, LC_ALL='C'))
        stats = r.stderr.strip()
        check(f'{lang}: msgfmt --check passes', r.returncode == 0, stats)
        check(f'{lang}: no untranslated or fuzzy strings',
              r.returncode == 0 and 'untranslated' not in stats and 'fuzzy' not in stats, stats)
        # Strings only in the .po (obsolete) mean the file was not updated.
        r = subprocess.run(['msgattrib', '--only-obsolete', merged], capture_output=True, text=True)
        obsolete = [l for l in r.stdout.splitlines() if l.startswith('#~ msgid "') and l != '#~ msgid ""']
        check(f'{lang}: no strings the sources no longer have', not obsolete, ' | '.join(obsolete[:5]))

print(f'1..{len(tests)}')
failed = 0
for i, (name, ok, diag) in enumerate(tests, 1):
    print(f'{"ok" if ok else "not ok"} {i} - {name}')
    if diag:
        for line in str(diag).splitlines():
            print(f'# {line}')
    failed += not ok
sys.exit(1 if failed else 0)
