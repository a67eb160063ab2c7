#!/usr/bin/env bash
# Issue 17 item 4: the tiny model's Q4_K_M and Q2_K with an English imatrix (builtin:en) against the same mixes with
# a builtin:multi imatrix (18 languages, 2 sequences each), same calibration budget (36 x 512 tokens), scored per
# language on the held-out builtin:LANG-eval texts (4 windows of 512 per language). The second run reuses the first's
# baseline evaluation (same step key), so only the imatrix and the variants are remade.
#   usage: tests/bench/multilingual-imatrix.sh WORK      (from anywhere; WORK receives en/, multi/ and the table)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$(mkdir -p "${1:?work directory}" && cd "$1" && pwd)"
snapshot_jar "$work" falconq.jar           # builds the jar if stale; then runs one copy of it
falconq=("${fq_jar[@]}")
common=(--model "$repo/../shared/models/falcon-h1-tiny" --variants Q4_K_M-imatrix,Q2_K-imatrix
        --eval-data builtin:multi --ctx 512 --chunks 4 --calib-ctx 512 --calib-chunks 36 -t 2 -q)
"${falconq[@]}" pipeline "${common[@]}" --calib-data builtin:en -o "$work/en" 2>&1 | grep -v '^WARNING'
rm -rf "$work/multi" && cp -r "$work/en" "$work/multi"
"${falconq[@]}" pipeline "${common[@]}" --calib-data builtin:multi -o "$work/multi" 2>&1 | grep -v '^WARNING'
python3 - "$work/en/report.json" "$work/multi/report.json" <<'PY' | tee "$work/table.md"
import json, sys
en, multi = (json.load(open(p))["models"][0] for p in sys.argv[1:3])
base = {l["language"]: l for l in en["baseline"]["languages"]}
print("| language | tokens | BF16 PPL | " + " | ".join(
    f"{v['name'].replace('-imatrix', '')} {c} KLD" for v in en["variants"] for c in ("en-imatrix", "multi-imatrix"))
    + " | " + " | ".join(f"{v['name'].replace('-imatrix', '')} {c} top-1" for v in en["variants"]
                         for c in ("en-imatrix", "multi-imatrix")) + " |")
print("|---|---:|---:|" + "---:|" * (4 * len(en["variants"])))
def rows(model, name):
    v = next(v for v in model["variants"] if v["name"] == name)
    return {l["language"]: l for l in v["languages"]}, v
for lang in [l["language"] for l in en["baseline"]["languages"]] + ["all"]:
    kld, top = [], []
    for v in en["variants"]:
        for m in (en, multi):
            per, whole = rows(m, v["name"])
            r = whole if lang == "all" else per[lang]
            kld.append(f"{r['kld']['mean']:.5f} ± {r['kld']['meanError']:.5f}")
            top.append(f"{r['top1Percent']:.2f}")
    b = en["baseline"] if lang == "all" else base[lang]
    tokens = sum(l["scoredTokens"] for l in en["baseline"]["languages"]) if lang == "all" else b["scoredTokens"]
    print(f"| {lang} | {tokens} | {b['ppl']:.1f} | " + " | ".join(kld) + " | " + " | ".join(top) + " |")
PY
