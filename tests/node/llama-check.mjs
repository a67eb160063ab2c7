// Loads GGUF files with llama.cpp through node-llama-cpp (its prebuilt CPU binaries; never builds, never downloads)
// and prints one JSON document on stdout:
//   {"llamaCpp": "<release>", "models": [{"path", "ok", "error"?, "nVocab", "architecture",
//                                         "prompts": [{"ids": [...], "logprobs": [...]}]}]}
// logprobs[t] = log p(token t | ids) at the last position, from llama.cpp's softmax over the raw logits (greedy
// sampler, temperature 0: no sampler touches the logits), i.e. the logits up to an additive constant.
//
// A model entry with "texts" also gets "tokenized": [ids, ...], llama.cpp's tokenization of each text with special
// tokens parsed and nothing added (model.tokenize(text, true) = common_tokenize(vocab, text, false, true)), and
// "bos", "eos", "addBos", "addEos": the ids and flags llama.cpp adds with (llama_vocab_get_add_bos/eos).
//
// usage: node llama-check.mjs REQUEST.json
//   REQUEST = {"threads": 2, "kvF32": true, "models": [{"path": "/x.gguf", "prompts": [[1, 2, 3]], "texts": ["a"]}]}
import fs from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({
    gpu: false,
    build: "never",
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
    logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}`),
    maxThreads: request.threads ?? 2
});

const result = {llamaCpp: llama.llamaCppRelease?.release ?? null, models: []};
for (const m of request.models) {
    const entry = {path: m.path, ok: false};
    result.models.push(entry);
    let model;
    try {
        model = await llama.loadModel({modelPath: m.path, gpuLayers: 0, useMmap: true});
        entry.ok = true;
        entry.architecture = model.fileInfo.metadata.general.architecture;
        entry.nVocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? null;
        if (m.texts) {
            entry.tokenized = m.texts.map(text => model.tokenize(text, true));
            entry.bos = model.tokens.bos;
            entry.eos = model.tokens.eos;
            entry.addBos = model.tokens.shouldPrependBosToken;
            entry.addEos = model.tokens.shouldAppendEosToken;
        }
        if (m.prompts && m.prompts.length > 0) {
            const longest = Math.max(...m.prompts.map(p => p.length));
            const context = await model.createContext({
                contextSize: Math.max(256, longest + 1),
                batchSize: Math.max(256, longest + 1),
                sequences: 1,
                threads: request.threads ?? 2,
                flashAttention: false,
                experimentalKvCacheKeyType: request.kvF32 === false ? undefined : "F32",
                experimentalKvCacheValueType: request.kvF32 === false ? undefined : "F32"
            });
            entry.kvCacheKeyType = context.kvCacheKeyType;
            entry.kvCacheValueType = context.kvCacheValueType;
            const sequence = context.getSequence();
            entry.prompts = [];
            for (const ids of m.prompts) {
                await sequence.clearHistory();
                const input = ids.map((t, i) => i === ids.length - 1
                    ? [t, {generateNext: {probabilities: true, options: {temperature: 0}}}]
                    : t);
                const out = await sequence.controlledEvaluate(input);
                const probs = out[ids.length - 1].next.probabilities;
                const logprobs = new Array(entry.nVocab ?? probs.size).fill(null);
                for (const [token, p] of probs) {
                    logprobs[token] = Math.log(p);
                }
                entry.prompts.push({ids, logprobs});
            }
            await context.dispose();
        }
    } catch (e) {
        entry.ok = false;
        entry.error = String(e?.message ?? e);
    } finally {
        if (model) {
            await model.dispose();
        }
    }
}
process.stdout.write(JSON.stringify(result) + "\n");
await llama.dispose();
