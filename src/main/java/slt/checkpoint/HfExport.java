package slt.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import slt.UserError;
import slt.model.Gpt2;
import slt.model.MaskedBlock;
import slt.model.ModelSpec;

/**
 * Writes a model as Hugging Face GPT-2 ({@code GPT2LMHeadModel}) weights: {@code model.safetensors}
 * with the effective (masked, rescaled) weights under HF's names, plus {@code config.json}.
 *
 * <p>Layout convention: HF's GPT-2 uses {@code Conv1D}, whose weight is (in, out); this tool's
 * weights are torch {@code Linear}'s (out, in), so every {@code c_attn}, {@code c_proj} and
 * {@code c_fc} weight is transposed on export; embeddings are (rows, d) in both. Our model has no
 * biases and non-affine LayerNorms: biases are exported as zeros and LayerNorm weights as ones,
 * except {@code ln_f.weight}, which carries {@code model.logit_scale} (the tied head computes
 * {@code ln_f(x) wte^T}, so scaling ln_f's gain scales the logits exactly). The result computes
 * the same logits as this tool.
 */
public final class HfExport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfExport() {}

    /** Writes {@code dir/model.safetensors} and {@code dir/config.json}; masks must be current. */
    public static void write(Gpt2 model, Path dir) throws IOException {
        ModelSpec s = model.spec();
        if (s.qkDim() != s.headDim() || s.vDim() != s.headDim()) {
            throw new UserError("GPT2LMHeadModel cannot express model.qk_dim " + s.qkDim() + " / model.v_dim " + s.vDim()
                    + ": the Hugging Face format needs both equal to d_model / heads (" + s.headDim()
                    + "); export the ticket in this tool's format instead (it keeps every shape)");
        }
        Files.createDirectories(dir);
        NDManager m = model.weights().get(0).weight().getArray().getManager();
        try (NDScope ignored = new NDScope()) { // frees every temporary made here
            Map<String, NDArray> out = new LinkedHashMap<>();
            Map<String, MaskedBlock> w = new LinkedHashMap<>();
            for (MaskedBlock b : model.weights()) {
                w.put(b.name(), b);
            }
            long d = s.dModel();
            out.put("transformer.wte.weight", effective(w.get("wte"), false));
            out.put("transformer.wpe.weight", effective(w.get("wpe"), false));
            for (int i = 0; i < s.nLayer(); i++) {
                String p = "transformer.h." + i + ".";
                String q = "h." + i + ".";
                out.put(p + "ln_1.weight", m.ones(new Shape(d)));
                out.put(p + "ln_1.bias", m.zeros(new Shape(d)));
                out.put(p + "attn.c_attn.weight", effective(w.get(q + "attn.c_attn"), true));
                out.put(p + "attn.c_attn.bias", m.zeros(new Shape(3 * d)));
                out.put(p + "attn.c_proj.weight", effective(w.get(q + "attn.c_proj"), true));
                out.put(p + "attn.c_proj.bias", m.zeros(new Shape(d)));
                out.put(p + "ln_2.weight", m.ones(new Shape(d)));
                out.put(p + "ln_2.bias", m.zeros(new Shape(d)));
                out.put(p + "mlp.c_fc.weight", effective(w.get(q + "mlp.c_fc"), true));
                out.put(p + "mlp.c_fc.bias", m.zeros(new Shape(4 * d)));
                out.put(p + "mlp.c_proj.weight", effective(w.get(q + "mlp.c_proj"), true));
                out.put(p + "mlp.c_proj.bias", m.zeros(new Shape(d)));
            }
            out.put("transformer.ln_f.weight", m.full(new Shape(d), (float) s.logitScale()));
            out.put("transformer.ln_f.bias", m.zeros(new Shape(d)));
            Checkpoints.replaceDurably(dir.resolve("model.safetensors"), f -> SafeTensors.write(f, out, Map.of("format", "pt")));
        }
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("GPT2LMHeadModel");
        c.put("model_type", "gpt2");
        c.put("vocab_size", s.vocab());
        c.put("n_positions", s.context());
        c.put("n_ctx", s.context());
        c.put("n_embd", s.dModel());
        c.put("n_layer", s.nLayer());
        c.put("n_head", s.nHead());
        c.putNull("n_inner");
        c.put("activation_function", "gelu_new");
        c.put("layer_norm_epsilon", s.layerNormEps());
        c.put("resid_pdrop", 0.0);
        c.put("embd_pdrop", 0.0);
        c.put("attn_pdrop", 0.0);
        c.put("scale_attn_weights", true);
        c.put("tie_word_embeddings", true);
        c.put("bos_token_id", 50256);
        c.put("eos_token_id", 50256);
        c.put("torch_dtype", "float32");
        Checkpoints.replaceDurably(dir.resolve("config.json"), JSON.writeValueAsBytes(c));
    }

    /** W * M * rescale (or W), as a contiguous array; transposed to HF's Conv1D (in, out) when asked. */
    private static NDArray effective(MaskedBlock b, boolean conv1d) {
        NDArray e = b.effectiveWeight();
        if (!conv1d) {
            return e.stopGradient();
        }
        Shape s = e.getShape();
        return e.transpose().flatten().reshape(s.get(1), s.get(0)).stopGradient();
    }
}
