package io.falconq.it;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code models/falcon-h1-tiny/golden/}: the PyTorch reference's float32 outputs for the BF16 tiny model. */
final class GoldenData {
    static final Path DIR = CliRun.shared("models/falcon-h1-tiny/golden");

    private GoldenData() {
    }

    /** One golden prompt: its ids, last-position logits, and top-5 ids/values at every position. */
    record Prompt(String name, int[] ids, float[] lastLogits, int[][] top5Ids, float[][] top5Values) {
        float logitRange() {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            for (float v : lastLogits) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            return hi - lo;
        }
    }

    static List<Prompt> prompts() {
        JsonNode g = CliRun.readJson(DIR.resolve("golden.json"));
        List<Prompt> out = new ArrayList<>();
        for (JsonNode p : g.get("prompts")) {
            int[] ids = ints(p.get("ids"));
            JsonNode ll = p.get("last_logits");
            float[] last = new float[ll.size()];
            for (int i = 0; i < last.length; i++) {
                last[i] = (float) ll.get(i).asDouble();
            }
            int[][] topIds = new int[ids.length][];
            float[][] topVals = new float[ids.length][];
            for (int t = 0; t < ids.length; t++) {
                topIds[t] = ints(p.get("top5_ids").get(t));
                JsonNode v = p.get("top5_values").get(t);
                topVals[t] = new float[v.size()];
                for (int i = 0; i < v.size(); i++) {
                    topVals[t][i] = (float) v.get(i).asDouble();
                }
            }
            out.add(new Prompt(p.get("name").asText(), ids, last, topIds, topVals));
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] a = new int[array.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = array.get(i).asInt();
        }
        return a;
    }

    /** The hidden-state dump of the first prompt: tensor name → file. */
    record HiddenState(String name, Path file) {
    }

    static int[] hiddenStateIds() {
        return ints(CliRun.readJson(DIR.resolve("hidden_states/index.json")).get("ids"));
    }

    static List<HiddenState> hiddenStates() {
        List<HiddenState> out = new ArrayList<>();
        for (JsonNode t : CliRun.readJson(DIR.resolve("hidden_states/index.json")).get("tensors")) {
            out.add(new HiddenState(t.get("name").asText(), DIR.resolve("hidden_states").resolve(t.get("file").asText())));
        }
        return out;
    }

    static JsonNode perplexity() {
        return CliRun.readJson(DIR.resolve("perplexity.json"));
    }
}
