package slt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The fused libtorch kernels this tool needs and DJL 0.32 does not expose: GPT-2's tanh GELU in one
 * kernel ({@code torch.gelu(x, approximate="tanh")}; DJL has only the erf form), causal attention
 * ({@code torch.scaled_dot_product_attention}: on a GPU the T x T probabilities are never stored)
 * the fused AdamW update ({@code torch._fused_adamw_}, one pass over each tensor instead of a
 * dozen), training's LM head with its loss and gradients in one pass, and the edge-popup masks by a
 * radix select over float bits (DJL has no bit-cast and TorchScript hides {@code view(dtype)};
 * an empty int32 tensor {@code set_} onto a float tensor's storage is one, without a copy).
 *
 * <p>They are methods of a TorchScript module whose source is {@code kernels.py} beside this class:
 * libtorch compiles it when the module loads (no Python, no file written), on the device of the
 * manager given. The archive around the source is the minimal TorchScript layout: the code, a
 * pickled {@code Kernels} object (its one attribute, {@code training}), empty constants, and the
 * format version (10: no operator upgraders apply, so today's schemas are used).
 */
public final class Kernels implements AutoCloseable {
    private static final String NAME = "kernels";
    private final PtSymbolBlock module;
    // scratch kept between steps (fresh memory is slow on a CPU: each new page is zeroed by the kernel)
    private NDArray work; // int32, the radix select's
    private NDArray logits; // float32, a chunk of the LM head's logits (head_loss)
    private NDArray headGrad; // float32, dL/dW of the LM head (head_loss)

    private Kernels(PtSymbolBlock module) {
        this.module = module;
    }

    /** The kernels on {@code manager}'s device. */
    public static Kernels on(NDManager manager) {
        try (InputStream archive = new ByteArrayInputStream(archive())) {
            return new Kernels(JniUtils.loadModule((PtNDManager) manager, archive, false, false));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the TorchScript kernels", e);
        }
    }

    /** GPT-2's GELU, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as one kernel, differentiable. */
    public NDArray geluTanh(NDArray x) {
        return call("gelu_tanh", x);
    }

    /**
     * Causal self-attention softmax(q k^T / sqrt(hd) + causal) v for q, k, v of shape (B, H, T, hd),
     * as libtorch's fused scaled-dot-product attention (flash or memory-efficient: the T x T
     * probabilities are not kept for the backward pass), differentiable.
     */
    public NDArray causalAttention(NDArray q, NDArray k, NDArray v) {
        return call("causal_attention", q, k, v);
    }

    /**
     * x W^T with x and W cast to 16 bits ({@code bf16} or else fp16) on the device, the product in
     * 16 bits, the result cast back to fp32; differentiable (the gradients come back in fp32).
     * TorchScript does the casts: DJL 0.32's JNI has no bf16 type and kills the JVM on a bf16 array.
     */
    public NDArray linear16(NDArray x, NDArray w, boolean bf16) {
        return call(bf16 ? "linear_bf16" : "linear_fp16", x, w);
    }

    /** {@link #causalAttention} with q, k, v cast to 16 bits (bf16 or else fp16), the result back in fp32. */
    public NDArray causalAttention16(NDArray q, NDArray k, NDArray v, boolean bf16) {
        return call(bf16 ? "causal_attention_bf16" : "causal_attention_fp16", q, k, v);
    }

    /** Runs a method with autograd on: DJL names the method through an input array's name. */
    private NDArray call(String methodName, NDArray... inputs) {
        NDArray method = inputs[0].getManager().zeros(new Shape()); // only its name is read
        try {
            method.setName("module_method:" + methodName);
            NDList in = new NDList(inputs.length + 1);
            in.add(method);
            in.addAll(java.util.Arrays.asList(inputs));
            return IValueUtils.forward(module, in, true).singletonOrThrow();
        } finally {
            method.close();
        }
    }

    /**
     * One fused AdamW update (torch.optim.AdamW's, decoupled weight decay) of every {@code params[i]}
     * with {@code grads[i]}, in place, moments included; {@code step} is the 1-based update count as
     * a float32 scalar on the device (read by the kernel for the bias corrections).
     */
    public void adamw(List<NDArray> params, List<NDArray> grads, List<NDArray> expAvgs, List<NDArray> expAvgSqs,
            NDArray step, double lr, double beta1, double beta2, double weightDecay, double eps) {
        PtNDArray[] steps = new PtNDArray[params.size()];
        java.util.Arrays.fill(steps, (PtNDArray) step); // read-only: one tensor serves every parameter
        IValue[] args = {
            IValue.listFrom(params.toArray(PtNDArray[]::new)), IValue.listFrom(grads.toArray(PtNDArray[]::new)),
            IValue.listFrom(expAvgs.toArray(PtNDArray[]::new)), IValue.listFrom(expAvgSqs.toArray(PtNDArray[]::new)),
            IValue.listFrom(steps), IValue.from(lr), IValue.from(beta1), IValue.from(beta2), IValue.from(weightDecay),
            IValue.from(eps)};
        try {
            IValueUtils.runMethod(module, "adamw", args).close();
        } finally {
            for (IValue a : args) {
                a.close();
            }
        }
    }

    /**
     * The LM head and the summed cross-entropy of training, with their gradients, computed in one
     * pass instead of through autograd: per chunk of {@code rows} rows of {@code x} (N, d), the
     * logits z = (logitScale x) W^T (in {@code dtype}'s products: 6 fp32, 15 bf16, 5 fp16; the
     * scale applied on the narrow side), their log-softmax, the loss -sum(log p[target]), and in
     * the same buffer its gradient softmax(z) - onehot, from which dL/dx and (when {@code
     * weightGrad}) dL/dW are accumulated, {@code gradScale} applied to those small products in
     * fp32 (to the buffer before its cast in 16 bits, where the loss scale must act). Only one
     * chunk's logits exist at a time, and no autograd buffers at all.
     * Returns the summed loss (a scalar), dL/dx (N, d) and dL/dW (V, d when {@code weightGrad},
     * else an empty array), the gradients already multiplied by {@code gradScale}. The logits and
     * dL/dW live in scratch kept by this object: dL/dW is overwritten by the next call, so it must
     * be consumed (added into a gradient) before then.
     */
    public NDList headLoss(NDArray x, NDArray w, NDArray targets, double logitScale, double gradScale, long rows,
            int dtype, boolean weightGrad) {
        long chunk = Math.min(rows, x.getShape().get(0));
        logits = scratch(logits, x, new Shape(chunk * w.getShape().get(0)), DataType.FLOAT32);
        NDArray dw = weightGrad
                ? (headGrad = scratch(headGrad, w, w.getShape(), DataType.FLOAT32))
                : x.getManager().create(new Shape(0), DataType.FLOAT32); // not read
        return run(x, "head_loss", IValue.from((PtNDArray) x), IValue.from((PtNDArray) w),
                IValue.from((PtNDArray) targets), IValue.from(logitScale), IValue.from(gradScale), IValue.from(rows),
                IValue.from((long) dtype), IValue.from(weightGrad), IValue.from((PtNDArray) logits),
                IValue.from((PtNDArray) dw));
    }

    /** Entries per chunk of the elementwise kernels on a CPU: a chunk's temporaries stay in cache and reused memory. */
    private static final long CHUNK = 1 << 18;

    /**
     * The chunk for {@code a}: {@link #CHUNK} on a CPU; on a GPU the whole tensor (the caching
     * allocator reuses memory there, and each chunk would cost kernel launches).
     */
    private static long chunk(NDArray a) {
        return a.getDevice().isGpu() ? Math.max(1, a.size()) : CHUNK;
    }

    /**
     * {@code out = w * m * scale} for a float {@code w} and a boolean mask {@code m} of its shape, into
     * {@code out} (w's shape; returned), a chunk at a time: the float copy of the mask that a
     * float x boolean product makes is one chunk's, not the tensor's. Bit for bit {@code
     * w.mul(m).mul(scale)} (scale as a float32).
     */
    public NDArray maskedWeight(NDArray w, NDArray m, double scale, NDArray out) {
        run(w, "masked_weight", IValue.from((PtNDArray) w), IValue.from((PtNDArray) m), IValue.from(scale),
                IValue.from((PtNDArray) out), IValue.from(chunk(w))).close();
        return out;
    }

    /**
     * {@code g = g * scale * w * sign(s)} in place (returned), a chunk at a time, so that sign(s)
     * is never a whole tensor. Bit for bit {@code g.mul(scale).muli(w).muli(s.sign())}.
     */
    public NDArray straightThrough(NDArray g, NDArray w, NDArray s, double scale) {
        run(g, "straight_through_", IValue.from((PtNDArray) g), IValue.from((PtNDArray) w), IValue.from((PtNDArray) s),
                IValue.from(scale), IValue.from(chunk(g))).close();
        return g;
    }

    /**
     * The exact top-k masks of one selection (a list of tensors, ranked together by |value|): per
     * tensor a boolean mask of its shape keeping |v| &gt;= t, where t is the k-th largest |v| of them
     * all (1 &lt;= k &lt; total size). t is found by a two-level radix select over the bits of |v| (for
     * non-negative floats the bit patterns order like the values): a histogram of the top 16 bits
     * finds the bucket holding the k-th largest, a histogram of the low 16 bits of that bucket finds
     * t. Returns the masks, t's bit pattern (int32), #(|v| &gt;= t) and #(|v| &gt; t), all on the
     * device: the masks keep exactly k entries unless #(|v| &gt;= t) &gt; k (entries tie with t;
     * then {@link #tieMasks}). With {@code mayWait} (a CPU, where waiting costs nothing) the bucket
     * is gathered and counted with bincount; without it (a GPU) every step keeps fixed shapes
     * (where + index_add), so the host never waits. Both give identical results.
     */
    public TopMasks topMasks(List<NDArray> values, long k, boolean mayWait) {
        long total = values.stream().mapToLong(NDArray::size).sum();
        work = scratch(work, values.get(0), new Shape(2 * total), DataType.INT32);
        NDList out = run(values.get(0), "top_masks", IValue.listFrom(values.toArray(PtNDArray[]::new)), IValue.from(k),
                IValue.from(mayWait), IValue.from((PtNDArray) work));
        int n = values.size();
        return new TopMasks(out.subNDList(0, n), out.get(n), out.get(n + 1), out.get(n + 2));
    }

    /** {@link #topMasks}'s results: the masks, t's bits, #(|v| &gt;= t) and #(|v| &gt; t). */
    public record TopMasks(NDList masks, NDArray threshold, NDArray kept, NDArray greater) {}

    /**
     * Fixes {@link #topMasks}'s masks of a selection whose threshold is tied ({@code threshold} and
     * {@code greater} from there): of the entries equal to t, only the first {@code k - greater} in
     * flat order across the list stay kept, so exactly k entries do. With {@code mayWait} the tied
     * entries are found with nonzero and the masks changed in place; without it, a cumulative count
     * over every entry keeps the shapes fixed.
     */
    public NDList tieMasks(List<NDArray> values, NDList masks, NDArray threshold, long k, NDArray greater,
            boolean mayWait) {
        long largest = values.stream().mapToLong(NDArray::size).max().orElse(0);
        work = scratch(work, threshold, new Shape(largest), DataType.INT32);
        return run(threshold, "tie_masks", IValue.listFrom(values.toArray(PtNDArray[]::new)),
                IValue.listFrom(masks.toArray(PtNDArray[]::new)), IValue.from((PtNDArray) threshold), IValue.from(k),
                IValue.from((PtNDArray) greater), IValue.from(mayWait),
                IValue.from((PtNDArray) work));
    }

    /**
     * {@code old} when it has {@code shape}'s size (1-D: at least that size) and dtype, else a new
     * array of that shape on {@code like}'s device (the old one freed). Scratch outlives scopes.
     */
    private static NDArray scratch(NDArray old, NDArray like, Shape shape, DataType type) {
        boolean fits = old != null && old.getDataType() == type
                && (shape.dimension() == 1 ? old.size() >= shape.size() : old.getShape().equals(shape));
        if (fits) {
            return old;
        }
        if (old != null) {
            old.close();
        }
        NDArray fresh = like.getManager().create(shape, type);
        NDScope.unregister(fresh);
        return fresh;
    }

    /**
     * Runs a method with the given arguments (closed here) and returns its tensors, flattened in
     * order, in {@code like}'s manager. For methods whose results carry no gradient (head_loss
     * detaches what it reads; the masks are booleans and counts).
     */
    private NDList run(NDArray like, String method, IValue... args) {
        IValue result = null;
        try {
            result = IValueUtils.runMethod(module, method, args);
            return result.toNDList((PtNDManager) like.getManager());
        } finally {
            if (result != null) {
                result.close();
            }
            for (IValue a : args) {
                a.close();
            }
        }
    }

    @Override
    public void close() {
        for (NDArray a : new NDArray[] {work, logits, headGrad}) {
            if (a != null) {
                a.close();
            }
        }
        module.close();
    }

    /** The TorchScript archive: kernels.py as its code, the object, constants and version records. */
    static byte[] archive() throws IOException {
        byte[] code;
        try (InputStream in = Kernels.class.getResourceAsStream(NAME + ".py")) {
            if (in == null) {
                throw new IOException("resource " + NAME + ".py missing from the jar");
            }
            code = in.readAllBytes();
        }
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            stored(z, NAME + "/version", "10\n".getBytes(StandardCharsets.US_ASCII));
            stored(z, NAME + "/code/__torch__.py", code);
            stored(z, NAME + "/data.pkl", object());
            stored(z, NAME + "/constants.pkl", new byte[] {(byte) 0x80, 2, 0x29, 0x2e}); // pickle: ()
        }
        return zip.toByteArray();
    }

    /** Pickle (protocol 2) of a {@code __torch__.Kernels} object whose state is {training: True}. */
    private static byte[] object() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(new byte[] {(byte) 0x80, 2}); // PROTO 2
        p.writeBytes("c__torch__\nKernels\n".getBytes(StandardCharsets.US_ASCII)); // GLOBAL __torch__.Kernels
        p.writeBytes(new byte[] {0x71, 0, 0x29, (byte) 0x81, 0x7d, 0x28}); // BINPUT 0, (), NEWOBJ, {}, MARK
        p.writeBytes(new byte[] {0x58, 8, 0, 0, 0}); // BINUNICODE of 8 bytes
        p.writeBytes("training".getBytes(StandardCharsets.US_ASCII));
        p.writeBytes(new byte[] {0x71, 1, (byte) 0x88, 0x75, 0x62, 0x71, 2, 0x2e}); // BINPUT 1, True, SETITEMS, BUILD, BINPUT 2, STOP
        return p.toByteArray();
    }

    private static void stored(ZipOutputStream z, String name, byte[] bytes) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(bytes.length);
        e.setCompressedSize(bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(bytes);
        z.closeEntry();
    }
}
