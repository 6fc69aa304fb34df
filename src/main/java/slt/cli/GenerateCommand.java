package slt.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import slt.UserError;
import slt.data.Gpt2Tokenizer;
import slt.train.LoadedModel;
import slt.train.TextGenerator;

/** {@code slt generate}: sample text from a ticket or a run's checkpoint. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample text from a ticket (or a run's checkpoint) after a prompt.")
final class GenerateCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--prompt", defaultValue = "", description = "text to continue (default: start of a document)")
    String prompt;

    @Option(names = "--tokens", defaultValue = "50", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", defaultValue = "50", description = "sample among the k most likely tokens; 0 = all (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", defaultValue = "1", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    /**
     * The most tokens one call generates: each token recomputes its whole window (no KV cache), so
     * 100,000 tokens of GPT-2 small already take hours on a CPU.
     */
    static final int MAX_TOKENS = 100_000;

    @Override
    public Integer call() {
        if (tokens < 1 || tokens > MAX_TOKENS) {
            throw new UserError("--tokens " + tokens + ": give 1 to " + MAX_TOKENS + " (each token recomputes its whole "
                    + "window; there is no KV cache)");
        }
        if (!(temperature >= 0)) {
            throw new UserError("--temperature " + temperature + ": give 0 (greedy) or more");
        }
        if (topK < 0) {
            throw new UserError("--top-k " + topK + ": give 0 (all tokens) or more");
        }
        try (LoadedModel m = source.load()) {
            int[] ids = Gpt2Tokenizer.encode(prompt);
            int context = m.model().spec().context();
            if (ids.length > context) {
                spec.commandLine().getErr().println("note: the prompt has " + ids.length + " tokens; the model sees only its "
                        + "last " + context + " (its context), and each new token moves that window on");
            }
            java.io.PrintWriter out = spec.commandLine().getOut();
            out.print(prompt);
            out.flush();
            Utf8Stream text = new Utf8Stream(out);
            TextGenerator.generate(m.model(), m.manager(), ids, tokens, temperature, topK, seed,
                    id -> text.write(Gpt2Tokenizer.decodeBytes(new int[] {id}))); // printed as each token comes
            text.finish();
            out.println();
        }
        return 0;
    }

    /**
     * Prints UTF-8 bytes as they come, holding back a character whose bytes are split across
     * tokens until its last byte arrives.
     */
    static final class Utf8Stream {
        private final java.io.PrintWriter out;
        private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();

        Utf8Stream(java.io.PrintWriter out) {
            this.out = out;
        }

        void write(byte[] bytes) {
            pending.writeBytes(bytes);
            byte[] b = pending.toByteArray();
            int complete = completePrefix(b);
            if (complete > 0) {
                out.print(new String(b, 0, complete, java.nio.charset.StandardCharsets.UTF_8));
                out.flush();
                pending.reset();
                pending.write(b, complete, b.length - complete);
            }
        }

        void finish() {
            out.print(new String(pending.toByteArray(), java.nio.charset.StandardCharsets.UTF_8));
            pending.reset();
            out.flush();
        }

        /** Length of the longest prefix that does not end inside a multi-byte character. */
        static int completePrefix(byte[] b) {
            int n = b.length;
            for (int back = 1; back <= Math.min(3, n); back++) { // a character is at most 4 bytes
                int lead = b[n - back] & 0xFF;
                if (lead < 0x80) {
                    return n; // ASCII: everything before it is complete too
                }
                if (lead >= 0xC0) { // the lead byte of the last character
                    int size = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
                    return back >= size ? n : n - back;
                }
            }
            return n; // continuation bytes only, or a 4-byte character complete: let the decoder judge
        }
    }
}
