# Writes two small gettext catalogs under locale/de/LC_MESSAGES for GettextTaskTests.swift, in GNU
# gettext's .mo format (as Tools/i18n/msgfmt.py writes it): a.mo UTF-8 little-endian, b.mo ISO-8859-1
# big-endian; with a header, a context entry, a plural entry, an empty and an identical translation, and
# a pair repeated across the two catalogs. expected.json holds what Python's own gettext module reads
# from each file (context stripped, plural: the singular and its first form), the independent reference.
# Usage: python3 make_gettext.py (standard library only); writes beside this file.
import gettext, json, os, struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, 'locale', 'de', 'LC_MESSAGES')
os.makedirs(out, exist_ok=True)

def write_mo(path, messages, big, charset):
    header = f'Content-Type: text/plain; charset={charset}\nPlural-Forms: nplurals=2; plural=(n != 1);\n'
    messages = {b'': header.encode('ascii'), **{k.encode(charset): v.encode(charset) for k, v in messages.items()}}
    keys = sorted(messages)
    ids = strs = b''
    offsets = []
    for k in keys:
        offsets.append((len(ids), len(k), len(strs), len(messages[k])))
        ids += k + b'\0'
        strs += messages[k] + b'\0'
    keystart = 7 * 4 + 16 * len(keys)
    valuestart = keystart + len(ids)
    table = []
    for o1, l1, _, _ in offsets: table += [l1, o1 + keystart]
    for _, _, o2, l2 in offsets: table += [l2, o2 + valuestart]
    e = '>' if big else '<'
    data = struct.pack(e + 'Iiiiiii', 0x950412de, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    data += struct.pack(e + f'{len(table)}i', *table) + ids + strs
    with open(path, 'wb') as f: f.write(data)

a = {'Open file': 'Datei öffnen', 'menu\x04Quit': 'Beenden', 'one file\x00%d files': 'eine Datei\x00%d Dateien',
     'Untranslated': '', 'OK': 'OK', 'Cancel': 'Abbrechen', 'Line\none': 'Zeile\neins "zitiert"'}
b = {'Cancel': 'Abbrechen', 'Größe': 'Größe ändern', 'Save': 'Speichern', 'Help': 'Hilfe'}
write_mo(os.path.join(out, 'a.mo'), a, big=False, charset='UTF-8')
write_mo(os.path.join(out, 'b.mo'), b, big=True, charset='ISO-8859-1')

expected = {}
for name in ['a', 'b']:
    with open(os.path.join(out, name + '.mo'), 'rb') as f:
        catalog = gettext.GNUTranslations(f)._catalog
    entries = []
    for key, value in catalog.items():
        if key == '': continue
        if isinstance(key, tuple):
            if key[1] != 0: continue
            key = key[0]
        entries.append([key.split('\x04')[-1], value])
    expected[name] = sorted(entries)
with open(os.path.join(here, 'expected.json'), 'w') as f:
    json.dump(expected, f, ensure_ascii=False, indent=1)
